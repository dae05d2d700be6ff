package app

import (
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/ui"
)

// HistoryRows is the snapshot history as `nictab snapshot list` and the
// terminal UI's history show it, newest first. The newest readable
// snapshot is marked live: it is what nictab last applied. Empty, not
// nil, when there is none, so that the JSON list is [].
func HistoryRows(st *snapshots.Store) ([]ui.HistoryRow, error) {
	entries, err := st.Listing()
	if err != nil {
		return nil, err
	}
	rows := []ui.HistoryRow{}
	liveSeen := false
	for _, en := range entries {
		r := ui.HistoryRow{ID: en.ID, Path: en.Path}
		if en.Err != nil {
			r.Damaged = en.Err.Error()
		} else {
			r.Time, r.Kind, r.Comment, r.Summary = en.Time, en.Kind, en.Comment, en.Summary
			r.Live = !liveSeen
			liveSeen = true
		}
		rows = append(rows, r)
	}
	return rows, nil
}
