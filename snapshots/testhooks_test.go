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

// JournalForTest reads the journal under its plain name.
func JournalForTest(e *Engine) (*Journal, error) { return e.store.readJournal(journalFile) }

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
