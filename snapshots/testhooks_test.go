package snapshots

// WriteJournalForTest writes a journal as an apply does before its first
// change, so tests can leave one behind as a killed apply would.
func WriteJournalForTest(e *Engine, j *Journal) error { return e.store.writeJournal(j) }

// WriteBeatForTest writes a watchdog heartbeat for the open window as if
// process pid were its watchdog.
func WriteBeatForTest(e *Engine, pid int) error {
	j, err := e.store.readJournal(journalFile)
	if err != nil || j == nil {
		return err
	}
	st := watchdogState{TxID: j.TxID, PID: pid, Start: procStart(pid), BootID: e.bootID, Beat: e.cfg.Boottime()}
	return e.store.writeState(watchdogFile, st)
}

// JournalForTest reads the journal under its plain name, with the state
// before read from the snapshot it names, if it names one.
func JournalForTest(e *Engine) (*Journal, error) {
	j, err := e.store.readJournal(journalFile)
	if err == nil && j != nil {
		err = e.store.resolveBefore(j)
	}
	return j, err
}

// SpeculatedForTest is how many pending snapshots were written from the
// bytes encoded while the kernel applied.
func SpeculatedForTest() int64 { return speculated.Load() }

// StagedUsedForTest is how many pending snapshots were saved by renaming
// the file staged while the kernel applied.
func StagedUsedForTest() int64 { return stagedUsed.Load() }

// JournalsAheadForTest is how many journals were written with the state
// before that Prepare encoded.
func JournalsAheadForTest() int64 { return journalsAhead.Load() }

// AheadUsedForTest is how many changes took the id and snapshot Prepare
// made.
func AheadUsedForTest() int64 { return aheadUsed.Load() }

// KillAfterAppliedForTest makes the next applies of the test stop right
// after writing their applied journal, as if killed there.
func KillAfterAppliedForTest(t interface{ Cleanup(func()) }) {
	killedAfterApplied = func() bool { return true }
	t.Cleanup(func() { killedAfterApplied = nil })
}

// ReferBeforeMinForTest lets journals of states of n routes or more name
// the snapshot that holds their state before, for the rest of the test.
func ReferBeforeMinForTest(t interface{ Cleanup(func()) }, n int) {
	old := referBeforeMin
	referBeforeMin = n
	t.Cleanup(func() { referBeforeMin = old })
}

// BeforeFromLiveForTest is how many journals took their state before
// from the digest made of their proposal's live state.
func BeforeFromLiveForTest() int64 { return beforeFromLive.Load() }

// JournalsByRefForTest is how many journals were written naming a
// snapshot as their state before.
func JournalsByRefForTest() int64 { return journalsByRef.Load() }

// NameBeforeForTest makes j name the newest snapshot as its state before,
// as an apply does, when that snapshot's index entry gives the digest of
// j.Before; it reports whether it did.
func NameBeforeForTest(e *Engine, j *Journal) bool {
	dg, err := beforeDigest(j.Before)
	if err != nil {
		return false
	}
	ref, ok := e.store.latestBeforeRef(dg)
	if ok {
		j.beforeRef, j.beforeLoaded = &ref, true
	}
	return ok
}

// BeforeRefForTest is the id of the snapshot j names as its state
// before, "" when it holds that state itself.
func (j *Journal) BeforeRefForTest() string {
	if j.beforeRef == nil {
		return ""
	}
	return j.beforeRef.ID
}

// ForgetIndexDigestsForTest rewrites the index as a nictab that records
// no digests of resolved states would have left it.
func ForgetIndexDigestsForTest(e *Engine) error {
	snaps, err := e.store.snapDirFile(false)
	if err != nil || snaps == nil {
		return err
	}
	var entries []indexEntry
	for _, ie := range readIndex(snaps) {
		ie.Before = ""
		entries = append(entries, *ie)
	}
	e.store.mu.Lock()
	e.store.befores, e.store.listed = nil, nil
	e.store.mu.Unlock()
	return writeIndex(snaps, entries)
}
