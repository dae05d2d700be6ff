package snapshots

// NewestRoutes is how many routes the newest intact snapshot records, as
// its index entry says (0 when none says): about how many routes of
// nictab's the live tables hold, before a command reads them.
func (s *Store) NewestRoutes() int { return s.latestRoutes() }
