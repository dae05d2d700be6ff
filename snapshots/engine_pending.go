package snapshots

import (
	"reflect"
	"sync/atomic"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// NOTE: writing the snapshot of a change costs more than the change
// itself for a large table (100k routes: encoding and proving that the
// file loads back, about twice the kernel's time), yet its content is
// known before the kernel is written to: a change that verifies leaves
// nictab's rules and routes as the plan's target says. startPending
// encodes that snapshot on another core while the kernel applies. Only
// the read-back is recorded, as before: once the change is verified, the
// snapshot of the read-back is made as ever and compared with the one
// encoded; the bytes are used only when the two are equal in every field
// (Marshal gives the same bytes for the same snapshot), and the read-back
// is encoded as before when they are not (a kernel that reports an
// attribute the plan did not set, a NIC whose address changed meanwhile).
// The snapshot's time is the moment the change began, the one its id is
// made from, so that it is known in advance.

// pendingBytes is a snapshot encoded for the store, or why it could not
// be.
type pendingBytes struct {
	snap *Snapshot
	b    []byte
	err  error
}

// speculated counts the pending snapshots whose bytes were encoded while
// the kernel applied and then used (tests look at it).
var speculated atomic.Int64

// startPending encodes, in the background, the snapshot the change of p
// will have once verified: before is the state Apply read before its
// first write, whose links give the NICs' addressing.
func (e *Engine) startPending(p *Proposal, before netcfg.State, txid string, at time.Time) <-chan pendingBytes {
	t := p.Plan.Target
	d := dropUnrecorded(netcfg.Desired{Rules: t.Rules, Routes: t.Routes, Names: t.Names}, p.unrecorded)
	snap := e.snapshotFrom(p, netcfg.Target{Rules: d.Rules, Routes: d.Routes, Names: d.Names}, before.Links, txid, at)
	ch := make(chan pendingBytes, 1)
	go func() {
		b, err := marshalStored(snap)
		ch <- pendingBytes{snap: snap, b: b, err: err}
	}()
	return ch
}

// savePending writes the pending snapshot of a verified change: the bytes
// spec encoded when its snapshot is snap in every field, else snap
// encoded now. spec may be nil.
func (e *Engine) savePending(snap *Snapshot, spec <-chan pendingBytes) error {
	var pb pendingBytes
	if spec != nil {
		if pb = <-spec; pb.err == nil && sameSnapshot(pb.snap, snap) {
			speculated.Add(1)
			snap.intentEnd = pb.snap.intentEnd
			return e.store.writePending(snap, pb.b)
		}
	}
	return e.store.savePending(snap)
}

// sameSnapshot reports whether a and b are the same snapshot, field by
// field, so that Marshal gives the same bytes for both.
func sameSnapshot(a, b *Snapshot) bool {
	return a.Version == b.Version && a.Comment == b.Comment &&
		reflect.DeepEqual(a.Intent, b.Intent) && reflect.DeepEqual(a.Meta, b.Meta) &&
		reflect.DeepEqual(a.Resolved, b.Resolved)
}
