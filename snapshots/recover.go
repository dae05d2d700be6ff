package snapshots

import (
	"fmt"
)

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
			return true, nil
		}
	}
	return false, nil
}

// recoverLocked does Recover's work; the caller holds the lock, so whoever
// wrote the journal is gone.
func (e *Engine) recoverLocked() (string, error) {
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
		if err := e.finishRevert(j, "revert interrupted, finished by recover"); err != nil {
			return "", err
		}
		return fmt.Sprintf("an interrupted revert (of %s) was finished: the host is as it was before that apply", j.TxID), nil
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
		// A confirm window whose watchdog is gone: nobody confirmed, so the
		// change goes, as it would have at the deadline.
		if err := renameJournal(e.store, journalFile, revertingFile); err != nil {
			return "", err
		}
		if err := e.finishRevert(j, "confirm window lost its watchdog; reverted by recover"); err != nil {
			return "", err
		}
		return fmt.Sprintf("an unconfirmed change (%s) whose confirm window was cut short was reverted", j.TxID), nil
	default:
		if err := renameJournal(e.store, journalFile, revertingFile); err != nil {
			return "", err
		}
		if err := e.finishRevert(j, "apply interrupted; reverted by recover"); err != nil {
			return "", err
		}
		return fmt.Sprintf("an apply interrupted part-way (%s) was undone: the host is as it was before it", j.TxID), nil
	}
}

func renameJournal(s *Store, from, to string) error {
	if err := s.renameState(from, to); err != nil {
		return fmt.Errorf("take the journal: %w", err)
	}
	return nil
}
