package snapshots

// WriteJournalForTest writes a journal as an apply does before its first
// change, so tests can leave one behind as a killed apply would.
func WriteJournalForTest(e *Engine, j *Journal) error { return e.store.writeJournal(j) }
