package snapshots

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nictab/nictab/netcfg"
)

// RevertIncompleteError is a revert that did all it safely could and read
// the kernel back, but could not restore everything. The journal stays, so
// `nictab recover` finishes the revert once what blocked it is gone.
type RevertIncompleteError struct {
	TxID   string
	Report netcfg.RestoreReport
}

func (e *RevertIncompleteError) Error() string {
	return fmt.Sprintf("the revert of %s did all it safely could, but the host is NOT as it was: %s — the journal is kept; `nictab recover` finishes the revert once that is resolved", e.TxID, e.Report.Text())
}

// Recover finishes or undoes an apply that was interrupted (a crash,
// SIGKILL, a power cut, a watchdog that died), so the host is in the state
// before it or after it, never between. It reports what it did; "" means
// there was nothing to do.
func (e *Engine) Recover() (string, error) {
	if root, err := e.store.rootFile(false); err != nil || root == nil {
		return "", err // no state directory: nothing was ever applied
	}
	lock, err := e.acquire()
	if err != nil {
		return "", err
	}
	defer lock.Release()
	return e.recoverLocked()
}

// NeedsRecovery reports whether an interrupted apply left a journal that no
// running nictab is handling.
func (e *Engine) NeedsRecovery() (bool, error) {
	if root, err := e.store.rootFile(false); err != nil || root == nil {
		return false, err // no state directory: nothing was ever applied
	}
	lock, err := e.store.acquireLock(commandLine(), e.cfg.Now())
	if err != nil {
		// Someone holds the lock: they are handling it.
		return false, nil
	}
	defer lock.Release()
	for _, n := range []string{journalFile, keptFile, revertingFile} {
		j, err := e.store.readJournal(n)
		if err != nil {
			return true, err
		}
		if j != nil {
			if n == journalFile && j.Phase == PhaseApplied && !j.Deadline.IsZero() && e.watchdogAlive(j) {
				continue // a watchdog taking over from its apply
			}
			return true, nil
		}
	}
	return false, nil
}

// recoverLocked does Recover's work; the caller holds the lock, so whoever
// wrote the journal is gone (or is a watchdog about to take the lock from
// its apply, which is left alone).
func (e *Engine) recoverLocked() (string, error) {
	if err := e.store.removeStaleTemporaries(); err != nil {
		return "", err
	}
	if j, err := e.store.readJournal(keptFile); err != nil {
		return "", err
	} else if j != nil {
		if err := e.finishKept(j); err != nil {
			return "", err
		}
		return fmt.Sprintf("a confirmed change (snapshot %s) had not been recorded completely; it is now", j.SnapshotID), nil
	}
	if j, err := e.store.readJournal(revertingFile); err != nil {
		return "", err
	} else if j != nil {
		rep, err := e.finishRevertReport(j, "revert interrupted or incomplete, finished by recover")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("an unfinished revert (of %s) was finished: %s", j.TxID, asBefore(rep)), nil
	}
	j, err := e.store.readJournal(journalFile)
	if err != nil || j == nil {
		return "", err
	}
	switch {
	case j.Phase == PhaseApplied && j.Deadline.IsZero():
		// The apply finished and verified; only its record was cut short.
		if err := e.keep(j); err != nil {
			return "", err
		}
		return fmt.Sprintf("an apply that had finished and verified (snapshot %s) was kept and recorded", j.SnapshotID), nil
	case j.Phase == PhaseApplied:
		if e.watchdogAlive(j) {
			// Its watchdog is about to take the lock from the apply.
			pid := j.PID
			if st, _ := e.readBeat(); st != nil {
				pid = st.PID
			}
			return "", &LockedError{Holder: LockHolder{PID: pid, Command: "watchdog of " + j.TxID, Until: j.Deadline}}
		}
		// A confirm window whose watchdog is gone: nobody confirmed, so the
		// change goes, as it would have at the deadline.
		why := WhyWatchdogDied + "; reverted by recover before the deadline"
		if e.overdue(j) {
			why = WhyDeadline + "; " + WhyWatchdogDied + ", so recover reverted it"
		}
		if err := renameJournal(e.store, journalFile, revertingFile); err != nil {
			return "", err
		}
		rep, err := e.finishRevertReport(j, why)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("an unconfirmed change (%s) whose watchdog was gone was reverted: %s", j.TxID, asBefore(rep)), nil
	default:
		if err := renameJournal(e.store, journalFile, revertingFile); err != nil {
			return "", err
		}
		rep, err := e.finishRevertReport(j, WhyApplyCutShort)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("an apply interrupted part-way (%s) was undone: %s", j.TxID, asBefore(rep)), nil
	}
}

// asBefore says "as before" only when the read-back showed it.
func asBefore(rep netcfg.RestoreReport) string {
	if rep.AsBefore() {
		return "the kernel, read back, is as it was before it (every rule, and every route of the tables the change touched)"
	}
	return "nictab's rules and routes, read back, are as they were before it; " + rep.Text()
}

func renameJournal(s *Store, from, to string) error {
	if err := s.renameState(from, to); err != nil {
		return fmt.Errorf("take the journal: %w", err)
	}
	return nil
}

// revert brings what nictab owns back to what it owned before j's apply,
// doing all it safely can, and reads the kernel back.
func (e *Engine) revert(k netcfg.Kernel, j *Journal) (netcfg.RestoreReport, error) {
	if err := e.store.resolveBefore(j); err != nil {
		return netcfg.RestoreReport{}, err
	}
	tables := slices.Concat(j.Tables, j.Before.Tables)
	return netcfg.Restore(k, j.Before, netcfg.RestoreOptions{
		Tables: tables, LoadNames: e.names, Names: netcfg.NamesFile{Paths: e.cfg.NamePaths}, Foreign: j.Foreign,
	})
}

// finishRevert reverts the change of a journal under the reverting name and
// records the outcome. When nictab's objects cannot all be restored, the
// journal stays for `nictab recover`.
func (e *Engine) finishRevert(j *Journal, why string) error {
	_, err := e.finishRevertReport(j, why)
	return err
}

func (e *Engine) finishRevertReport(j *Journal, why string) (netcfg.RestoreReport, error) {
	k, err := e.cfg.Open()
	var rep netcfg.RestoreReport
	if err == nil {
		rep, err = e.revert(k, j)
		k.Close()
	}
	if err != nil {
		_ = e.store.writeOutcome(TxOutcome{TxID: j.TxID, Result: "revert-failed", Time: e.cfg.Now().UTC(), Detail: why + "; " + err.Error()})
		return rep, fmt.Errorf("revert: %w", err)
	}
	if !rep.Complete() {
		ie := &RevertIncompleteError{TxID: j.TxID, Report: rep}
		_ = e.store.writeOutcome(TxOutcome{TxID: j.TxID, Result: "revert-incomplete", Time: e.cfg.Now().UTC(), Detail: why + "; " + rep.Text()})
		e.clearWindowFiles()
		return rep, ie
	}
	if err := e.store.dropPending(j.SnapshotID); err != nil {
		return rep, err
	}
	e.clearWindowFiles()
	detail := why
	if !rep.AsBefore() {
		detail += "; " + rep.Text()
	}
	if err := e.store.writeOutcome(TxOutcome{TxID: j.TxID, Result: "reverted", Time: e.cfg.Now().UTC(), Detail: detail}); err != nil {
		return rep, err
	}
	return rep, e.store.removeJournal(revertingFile)
}

// IsRevertIncomplete reports whether err is a revert that could not
// restore everything.
func IsRevertIncomplete(err error) bool {
	var ie *RevertIncompleteError
	return errors.As(err, &ie)
}
