package snapshots

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// ErrNothingPending means no change is waiting for confirmation.
var ErrNothingPending = errors.New("no change is waiting for confirmation")

// Pending returns the change waiting for confirmation, or nil.
func (e *Engine) Pending() (*Pending, error) {
	j, err := e.store.readJournal(journalFile)
	if err != nil || j == nil || j.Phase != PhaseApplied || j.Deadline.IsZero() {
		return nil, err
	}
	return &Pending{TxID: j.TxID, Deadline: j.Deadline, SnapshotID: j.SnapshotID}, nil
}

// Confirm keeps the change waiting for confirmation. It races the watchdog
// fairly: both rename the journal, and only one rename can succeed.
func (e *Engine) Confirm() (*Snapshot, error) {
	j, err := e.store.readJournal(journalFile)
	if err != nil {
		return nil, err
	}
	if j == nil || j.Phase != PhaseApplied || j.Deadline.IsZero() {
		return nil, e.tooLate(ErrNothingPending)
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
		return fmt.Errorf("%w: the last change was %s at %s", err, o.Result, o.Time.Local().Format("15:04:05"))
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
	return e.store.removeJournal(keptFile)
}

// Revert asks the watchdog to revert the pending change now instead of at
// the deadline, and waits for it.
func (e *Engine) Revert(ctx context.Context) (*TxOutcome, error) {
	p, err := e.Pending()
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, ErrNothingPending
	}
	if err := e.store.touchState(revertNowFile); err != nil {
		return nil, fmt.Errorf("ask for revert: %w", err)
	}
	return e.Wait(ctx, p)
}

// Wait blocks until the pending change is kept or reverted and returns
// which. Cancelling ctx stops the wait, not the watchdog.
func (e *Engine) Wait(ctx context.Context, p *Pending) (*TxOutcome, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		busy := false
		for _, n := range []string{journalFile, keptFile, revertingFile} {
			if e.store.hasState(n) {
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
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// RunWatchdog is the detached process of a confirm window: it holds the
// lock it inherited, waits for the deadline, and reverts the change unless
// `nictab confirm` took the journal first. It returns when the change is
// kept or reverted. stop, when it fires, reverts at once (the watchdog is
// being killed: the safe side is the state before).
func (e *Engine) RunWatchdog(lock *Lock, stop <-chan struct{}) error {
	defer lock.Release()
	for {
		j, err := e.store.readJournal(journalFile)
		if err != nil {
			return err
		}
		if j == nil || j.Phase != PhaseApplied {
			// Confirmed (or handled by recover): nothing left to watch.
			return nil
		}
		now := e.cfg.Now()
		revertNow := e.store.hasState(revertNowFile)
		stopped := false
		select {
		case <-stop:
			stopped = true
		default:
		}
		if now.Before(j.Deadline) && !revertNow && !stopped {
			wait := min(j.Deadline.Sub(now), 100*time.Millisecond)
			select {
			case <-stop:
			case <-time.After(wait):
			}
			continue
		}
		if err := e.store.renameState(journalFile, revertingFile); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // confirm won the race
			}
			return fmt.Errorf("take the journal for revert: %w", err)
		}
		return e.finishRevert(j, "not confirmed in time")
	}
}

// finishRevert reverts the change of a journal under the reverting name and
// records the outcome. On failure the journal stays for `nictab recover`.
func (e *Engine) finishRevert(j *Journal, why string) error {
	k, err := e.cfg.Open()
	if err == nil {
		err = e.revert(k, j)
		k.Close()
	}
	if err != nil {
		_ = e.store.writeOutcome(TxOutcome{TxID: j.TxID, Result: "revert-failed", Time: e.cfg.Now().UTC(), Detail: err.Error()})
		return fmt.Errorf("revert: %w", err)
	}
	if err := e.store.dropPending(j.SnapshotID); err != nil {
		return err
	}
	_ = e.store.removeState(revertNowFile)
	if err := e.store.writeOutcome(TxOutcome{TxID: j.TxID, Result: "reverted", Time: e.cfg.Now().UTC(), Detail: why}); err != nil {
		return err
	}
	return e.store.removeJournal(revertingFile)
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
