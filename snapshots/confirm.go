package snapshots

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/nictab/nictab/snapshots/format"
)

// ErrNothingPending means no change is waiting for confirmation.
var ErrNothingPending = errors.New("no change is waiting for confirmation")

// ErrTooLate refuses a confirm after the window closed.
var ErrTooLate = errors.New("too late to confirm: the confirm window has closed")

// Why a change was reverted, as the outcome records it.
const (
	WhyDeadline      = "not confirmed in time"
	WhyWatchdogStop  = "the watchdog was told to stop before the deadline (SIGTERM/SIGINT); it reverted at once"
	WhyRevertAsked   = "a revert was asked for before the deadline"
	WhyWatchdogDied  = "the watchdog died with the window open"
	WhyApplyCutShort = "apply interrupted; reverted by recover"
)

// Pending returns the change waiting for confirmation, or nil.
func (e *Engine) Pending() (*Pending, error) {
	j, err := e.store.readJournal(journalFile)
	if err != nil || j == nil || j.Phase != PhaseApplied || j.Deadline.IsZero() {
		return nil, err
	}
	return e.pendingOf(j), nil
}

// Confirm keeps the change waiting for confirmation. It races the watchdog
// fairly: both rename the journal, and only one rename can succeed. After
// the deadline it refuses, whether or not the watchdog has reverted yet.
func (e *Engine) Confirm() (*format.Snapshot, error) {
	j, err := e.store.readJournal(journalFile)
	if err != nil {
		return nil, err
	}
	if j == nil {
		if r, err := e.store.readJournal(revertingFile); err == nil && r != nil && !r.Deadline.IsZero() {
			// Its window closed and the revert began; a watchdog that died
			// in the middle of it left it to whoever comes.
			err := fmt.Errorf("%w: change %s is being reverted", ErrTooLate, r.TxID)
			if e.lockFree() {
				what, rerr := e.Recover()
				if rerr != nil {
					return nil, fmt.Errorf("%w; finishing its revert failed: %v", err, rerr)
				}
				err = fmt.Errorf("%w; %s", err, what)
			}
			return nil, err
		}
	}
	if j == nil || j.Phase != PhaseApplied || j.Deadline.IsZero() {
		return nil, e.tooLate(ErrNothingPending)
	}
	if e.overdue(j) {
		err := fmt.Errorf("%w (it closed at %s); the change is not kept", ErrTooLate, j.Deadline.Local().Format("15:04:05"))
		if !e.watchdogAlive(j) {
			// Nobody else will revert it: do what the watchdog would have.
			if what, rerr := e.revertOrphan("confirm"); rerr != nil {
				return nil, fmt.Errorf("%w; its watchdog is dead and the revert failed: %v — run `nictab recover`", err, rerr)
			} else if what != "" {
				return nil, fmt.Errorf("%w; %s", err, what)
			}
		}
		return nil, err
	}
	if err := e.store.renameState(journalFile, keptFile); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, e.tooLate(ErrNothingPending)
		}
		return nil, fmt.Errorf("confirm: %w", err)
	}
	if err := e.finishKept(j); err != nil {
		return nil, fmt.Errorf("the change is kept, but recording it failed: %w (`nictab recover` finishes the record)", err)
	}
	return e.store.Get(j.SnapshotID)
}

// tooLate explains a confirm that found nothing to confirm: usually the
// window closed and the change was reverted.
func (e *Engine) tooLate(err error) error {
	o, _ := e.store.readOutcome()
	if o != nil && o.Result != "kept" && time.Since(o.Time) < time.Hour {
		return fmt.Errorf("%w: the last change was %s at %s (%s)", err, o.Result, o.Time.Local().Format("15:04:05"), o.Detail)
	}
	return err
}

// finishKept records a change that `confirm` won.
func (e *Engine) finishKept(j *Journal) error {
	if err := e.store.commitPending(j.SnapshotID); err != nil {
		return err
	}
	if err := e.store.writeOutcome(TxOutcome{TxID: j.TxID, Result: "kept", Time: e.cfg.Now().UTC()}); err != nil {
		return err
	}
	e.clearWindowFiles()
	return e.store.removeJournal(keptFile)
}

// clearWindowFiles removes what a confirm window leaves: the heartbeat
// and any revert request.
func (e *Engine) clearWindowFiles() {
	for _, n := range []string{watchdogFile, revertNowFile} {
		_ = e.store.removeState(n)
	}
}

// Revert asks the watchdog to revert the pending change now instead of at
// the deadline, and waits for it.
func (e *Engine) Revert(ctx context.Context) (*TxOutcome, error) {
	return e.RevertBecause(ctx, WhyRevertAsked)
}

// RevertBecause is Revert with the reason the outcome records.
func (e *Engine) RevertBecause(ctx context.Context, why string) (*TxOutcome, error) {
	p, err := e.Pending()
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, ErrNothingPending
	}
	if err := e.store.writeState(revertNowFile, revertRequest{TxID: p.TxID, Why: why}); err != nil {
		return nil, fmt.Errorf("ask for revert: %w", err)
	}
	return e.Wait(ctx, p)
}

// revertAsked returns the reason of a revert request for txid, if any.
func (e *Engine) revertAsked(txid string) (string, bool) {
	var r revertRequest
	// An empty, unsealed or damaged file is an old request: not this one.
	if ok, err := e.store.readState(revertNowFile, &r); !ok || err != nil || r.TxID != txid {
		return "", false
	}
	return r.Why, true
}

// Wait blocks until the pending change is kept or reverted and returns
// which. Cancelling ctx stops the wait, not the watchdog. When the
// watchdog dies, Wait takes its place: at the deadline it reverts the
// change itself.
func (e *Engine) Wait(ctx context.Context, p *Pending) (*TxOutcome, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		busy := false
		for _, f := range []string{journalFile, keptFile, revertingFile} {
			if e.store.hasState(f) {
				busy = true
			}
		}
		if !busy {
			o, err := e.store.readOutcome()
			if err != nil {
				return nil, err
			}
			if o == nil || o.TxID != p.TxID {
				return nil, fmt.Errorf("the change ended, but its outcome was not recorded (see `nictab snapshot list`)")
			}
			return o, nil
		}
		if o, err := e.store.readOutcome(); err == nil && o != nil && o.TxID == p.TxID && (o.Result == "revert-incomplete" || o.Result == "revert-failed") {
			// The revert did what it could; the journal stays for recover.
			return o, nil
		}
		if n%5 == 4 {
			if r, err := e.store.readJournal(revertingFile); err == nil && r != nil && r.TxID == p.TxID && e.lockFree() {
				// The watchdog died in the middle of its revert: finish it.
				if _, err := e.Recover(); err != nil && !IsRevertIncomplete(err) {
					return nil, err
				}
				continue
			}
			if j, err := e.store.readJournal(journalFile); err == nil && j != nil && j.TxID == p.TxID && j.Phase == PhaseApplied && !e.watchdogAlive(j) {
				why, asked := e.revertAsked(j.TxID)
				if asked || e.overdue(j) {
					if !asked {
						why = WhyDeadline
					}
					if _, err := e.revertOrphanBecause(why + "; " + WhyWatchdogDied + ", so the waiting nictab reverted it"); err != nil {
						return nil, err
					}
					continue
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// RunWatchdog is the process of a confirm window: it holds the lock, waits
// for the deadline, and reverts the change unless `nictab confirm` took the
// journal first. It returns when the change is kept or reverted. lock is
// the lock inherited from apply; nil means the watchdog runs where it could
// not inherit it (a systemd transient unit) and takes it when apply lets
// go. stop, when it fires, reverts at once (the watchdog is being killed:
// the safe side is the state before).
func (e *Engine) RunWatchdog(lock *Lock, stop <-chan struct{}) error {
	j, err := e.store.readJournal(journalFile)
	if err != nil {
		return err
	}
	if j == nil || j.Phase != PhaseApplied || j.Deadline.IsZero() {
		return nil // confirmed or handled already
	}
	txid := j.TxID
	if err := e.writeBeat(txid); err != nil {
		return err
	}
	defer func() {
		if st, _ := e.readBeat(); st != nil && st.TxID == txid && st.PID == os.Getpid() {
			_ = e.store.removeState(watchdogFile)
		}
	}()
	if lock == nil {
		if lock, err = e.takeLockFromApply(txid, stop); err != nil || lock == nil {
			return err
		}
	}
	defer lock.Release()
	_ = lock.Describe(LockHolder{PID: os.Getpid(), Command: "watchdog of " + txid, Since: e.cfg.Now(), Until: j.Deadline})
	lastBeat := time.Now()
	for {
		j, err := e.store.readJournal(journalFile)
		if err != nil {
			return err
		}
		if j == nil || j.Phase != PhaseApplied || j.TxID != txid {
			// Confirmed (or handled by recover): nothing left to watch.
			return nil
		}
		if time.Since(lastBeat) >= heartbeatEvery {
			if err := e.writeBeat(txid); err != nil {
				return err
			}
			lastBeat = time.Now()
		}
		why, asked := e.revertAsked(txid)
		stopped := false
		select {
		case <-stop:
			stopped, why = true, WhyWatchdogStop
		default:
		}
		if !asked && !stopped {
			if !e.overdue(j) {
				wait := min(e.left(j), 100*time.Millisecond)
				select {
				case <-stop:
				case <-time.After(wait):
				}
				continue
			}
			why = WhyDeadline
		}
		if err := e.store.renameState(journalFile, revertingFile); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // confirm won the race
			}
			return fmt.Errorf("take the journal for revert: %w", err)
		}
		return e.finishRevert(j, why)
	}
}

// takeLockFromApply waits for the apply that started this watchdog to let
// go of the lock. Another nictab may slip in between; it finds this
// watchdog alive and leaves the window alone.
func (e *Engine) takeLockFromApply(txid string, stop <-chan struct{}) (*Lock, error) {
	for {
		lock, err := e.store.acquireLock(commandLine(), e.cfg.Now())
		var le *LockedError
		if err == nil {
			return lock, nil
		}
		if !errors.As(err, &le) {
			return nil, err
		}
		if j, err := e.store.readJournal(journalFile); err != nil || j == nil || j.TxID != txid {
			return nil, err
		}
		if err := e.writeBeat(txid); err != nil {
			return nil, err
		}
		select {
		case <-stop:
			// Killed while apply still holds the lock: the apply's
			// waiting foreground, or the next nictab, reverts.
			return nil, errors.New("stopped before it could take the lock")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// acquire takes the apply lock. A watchdog whose change was just kept or
// reverted holds it for a moment more, until it notices (it looks ten times
// a second); a nictab that comes just then waits for it instead of being
// refused.
func (e *Engine) acquire() (*Lock, error) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		lock, err := e.store.acquireLock(commandLine(), e.cfg.Now())
		var le *LockedError
		if err == nil || !errors.As(err, &le) || le.Holder.Until.IsZero() || time.Now().After(deadline) {
			return lock, err
		}
		if j, jerr := e.store.readJournal(journalFile); jerr != nil || j != nil {
			return nil, err // a change is still waiting
		}
		time.Sleep(50 * time.Millisecond)
	}
}
