package app

import (
	"context"
	"errors"
	"time"

	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/ui"
)

// The apply from the terminal UI and its confirm window: kept, reverted,
// or ended from elsewhere (`nictab confirm`, the watchdog at the
// deadline).

func (b *tuiBackend) Apply(ctx context.Context, p *ui.Proposal, o ui.ApplyOptions) (*ui.Outcome, error) {
	e, err := b.engine()
	if err != nil {
		return nil, err
	}
	sp, ok := p.Handle.(*snapshots.Proposal)
	if !ok {
		return nil, errors.New("this plan was not made by this nictab")
	}
	c := *sp
	if o.Comment != "" && c.Comment == "" {
		c.Comment = o.Comment
	}
	out, err := e.Apply(&c, snapshots.ApplyOptions{Confirm: o.Confirm, Progress: o.Progress})
	if err != nil {
		return nil, err
	}
	res := &ui.Outcome{Steps: out.Result.Steps}
	if out.Result.NamesNote != "" {
		res.Notes = append(res.Notes, out.Result.NamesNote)
	}
	if out.Recovered != "" {
		res.Notes = append(res.Notes, "an interrupted earlier apply was recovered first: "+out.Recovered)
	}
	if out.Snapshot != nil && out.Snapshot.Meta != nil {
		res.SnapshotID = out.Snapshot.Meta.ID
	}
	if out.Pending != nil {
		res.Deadline = out.Pending.Deadline
		res.SnapshotID = out.Pending.SnapshotID
		b.mu.Lock()
		b.pending = out.Pending
		b.mu.Unlock()
	}
	return res, nil
}

func (b *tuiBackend) Confirm() (*ui.Settled, error) {
	e, err := b.engine()
	if err != nil {
		return nil, err
	}
	snap, err := e.Confirm()
	if errors.Is(err, snapshots.ErrNothingPending) {
		return b.ended(e)
	}
	if err != nil {
		return nil, err
	}
	s := &ui.Settled{Result: "kept"}
	if snap != nil && snap.Meta != nil {
		s.SnapshotID = snap.Meta.ID
	}
	return s, nil
}

// Revert asks the watchdog to revert now and waits for it. When the change
// had ended already (kept from another terminal, reverted at the
// deadline), the engine's record of it says how.
func (b *tuiBackend) Revert() (*ui.Settled, error) {
	e, err := b.engine()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o, err := e.RevertBecause(ctx, "reverted from the terminal UI")
	if errors.Is(err, snapshots.ErrNothingPending) {
		return b.ended(e)
	}
	if err != nil {
		return nil, err
	}
	// A confirm elsewhere can win the race with this revert.
	return settledOf(o, o.Result == "kept", b.known()), nil
}

// Settled looks whether the change this UI knows still waits; once it is
// gone, the engine's record says how it ended.
func (b *tuiBackend) Settled() (*ui.Settled, error) {
	p := b.known()
	if p == nil || b.engErr != nil {
		return nil, nil
	}
	cur, err := b.eng.Pending()
	if err != nil {
		return nil, err
	}
	if cur != nil && cur.TxID == p.TxID {
		return nil, nil
	}
	return b.ended(b.eng)
}

// ended is how the change this UI knows ended, once it no longer waits. A
// keep or revert still running elsewhere is waited for.
func (b *tuiBackend) ended(e *snapshots.Engine) (*ui.Settled, error) {
	p := b.known()
	if p == nil {
		return nil, snapshots.ErrNothingPending
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o, err := e.Wait(ctx, p)
	if err != nil {
		return nil, err
	}
	return settledOf(o, true, p), nil
}

func (b *tuiBackend) known() *snapshots.Pending {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pending
}

func settledOf(o *snapshots.TxOutcome, elsewhere bool, p *snapshots.Pending) *ui.Settled {
	s := &ui.Settled{Result: o.Result, Elsewhere: elsewhere, Detail: o.Detail}
	if o.Result == "kept" && p != nil {
		s.SnapshotID = p.SnapshotID
	}
	return s
}
