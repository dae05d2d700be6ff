package snapshots

import (
	"errors"
	"fmt"
)

// CheckWindow looks at an open confirm window on behalf of a command that
// is not the watchdog (show, snapshot list, the TUI, confirm, recover), so
// that a watchdog that died cannot leave a change applied past its
// deadline unnoticed. Past the deadline it reverts the change as the
// watchdog would have, when canRevert (the caller may change routing) and
// the lock is free; otherwise it returns a loud warning. It returns ""
// when the window is in order or there is none.
func (e *Engine) CheckWindow(who string, canRevert bool) (string, error) {
	if r, err := e.store.readJournal(revertingFile); err == nil && r != nil && e.lockFree() {
		o, _ := e.store.readOutcome()
		detail := ""
		if o != nil && o.TxID == r.TxID {
			detail = " (" + o.Result + ": " + o.Detail + ")"
		}
		return fmt.Sprintf("WARNING: the revert of change %s did not finish%s: the host is NOT as it was before it. `nictab recover` finishes it.", r.TxID, detail), nil
	}
	j, err := e.store.readJournal(journalFile)
	if err != nil || j == nil || j.Phase != PhaseApplied || j.Deadline.IsZero() || e.watchdogAlive(j) {
		return "", err
	}
	overdue := e.overdue(j)
	if !overdue && !e.lockFree() {
		// An apply that is starting its watchdog holds the lock until the
		// watchdog reports in.
		return "", nil
	}
	if !overdue {
		return fmt.Sprintf("WARNING: change %s waits for confirmation until %s, but its watchdog is gone: nothing reverts it at the deadline unless a nictab runs then. `nictab confirm` keeps it; `nictab recover` reverts it now.",
			j.TxID, e.pendingOf(j).Deadline.Local().Format("15:04:05")), nil
	}
	if !canRevert {
		return fmt.Sprintf("WARNING: change %s was not confirmed by its deadline and its watchdog is gone: it is STILL APPLIED. `sudo nictab recover` reverts it.", j.TxID), nil
	}
	what, err := e.revertOrphan(who)
	if err != nil {
		return "", fmt.Errorf("change %s was not confirmed by its deadline and its watchdog is gone; reverting it failed: %w", j.TxID, err)
	}
	if what == "" {
		return fmt.Sprintf("WARNING: change %s was not confirmed by its deadline and its watchdog is gone, but another nictab holds the lock: it is still applied until that one reverts it (`nictab recover`).", j.TxID), nil
	}
	return what, nil
}

func (e *Engine) lockFree() bool {
	l, err := e.store.acquireLock(commandLine(), e.cfg.Now())
	if err != nil {
		return false
	}
	l.Release()
	return true
}

// revertOrphan reverts a confirm window past its deadline whose watchdog
// is gone, on behalf of `nictab who`.
func (e *Engine) revertOrphan(who string) (string, error) {
	return e.revertOrphanBecause(WhyDeadline + "; " + WhyWatchdogDied + ", so `nictab " + who + "` reverted it")
}

// revertOrphanBecause takes the lock (without waiting: a holder is
// handling the window) and reverts a window whose watchdog is gone,
// recording why. It returns what it did; "" when it did nothing.
func (e *Engine) revertOrphanBecause(why string) (string, error) {
	lock, err := e.store.acquireLock(commandLine(), e.cfg.Now())
	var le *LockedError
	if errors.As(err, &le) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer lock.Release()
	j, err := e.store.readJournal(journalFile)
	if err != nil || j == nil || j.Phase != PhaseApplied || j.Deadline.IsZero() || e.watchdogAlive(j) {
		return "", err
	}
	if err := renameJournal(e.store, journalFile, revertingFile); err != nil {
		return "", err
	}
	if err := e.finishRevert(j, why); err != nil {
		return "", err
	}
	return fmt.Sprintf("change %s was reverted (%s)", j.TxID, why), nil
}
