package snapshots

import (
	"fmt"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// BaselineComment is the baseline snapshot's comment.
const BaselineComment = "before nictab"

// saveBaseline records, before the first change nictab makes where its
// history is empty, what nictab owned then (usually nothing) as a snapshot
// of its own, so `rollback --steps 1`, `rollback ID` and the TUI's
// history reach the state before nictab. Restoring it removes every rule
// and route nictab owns and touches nothing else. It returns nil when the
// history already has a snapshot.
func (e *Engine) saveBaseline(before netcfg.State) (*format.Snapshot, error) {
	list, err := e.store.Listing()
	if err != nil {
		return nil, err
	}
	if len(list) > 0 {
		return nil, nil
	}
	snap := e.snapshotOf(&Proposal{Kind: format.KindBaseline, Comment: BaselineComment}, before, e.store.NewID())
	if err := e.store.Save(snap); err != nil {
		return nil, fmt.Errorf("record the state before nictab's first change: %w", err)
	}
	return snap, nil
}
