package snapshots

import (
	"encoding/json"
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
		(a.Resolved == nil) == (b.Resolved == nil) &&
		(a.Resolved == nil || targetIdentical(a.Resolved, b.Resolved))
}

func targetIdentical(a, b *netcfg.Target) bool {
	return routesIdentical(a.Routes, b.Routes) && reflect.DeepEqual(a.Rules, b.Rules) && reflect.DeepEqual(a.Names, b.Names)
}

// encodedBefore is what nictab owned in a proposal's live state, encoded
// for the journal.
type encodedBefore struct {
	d   netcfg.Desired
	b   []byte
	err error
}

// journalsAhead counts the journals written with the state before
// encoded by Prepare (tests look at it).
var journalsAhead atomic.Int64

// Prepare starts, in the background, work an Apply of p would do first
// and that does not depend on anything it reads: encoding, for the
// journal, what nictab owns in the state p was planned from (0.15 s for
// 100k routes), while the plan is printed. Apply checks that the kernel
// still holds exactly that before it uses it. Apply prepares by itself a
// proposal not prepared before; preparing twice does nothing more.
func (e *Engine) Prepare(p *Proposal) {
	if p.before != nil || p.Plan.Empty() {
		return
	}
	d := netcfg.OwnedAsDesiredSharing(p.Live)
	if len(d.Routes) < encodeBeforeMin {
		return
	}
	ch := make(chan encodedBefore, 1)
	go func() {
		b, err := json.Marshal(d)
		ch <- encodedBefore{d: d, b: b, err: err}
	}()
	p.before = ch
}

// setJournalBefore sets the journal's state before, d: with the encoding
// Prepare made when it encoded that same state, else encoded now.
func (e *Engine) setJournalBefore(j *Journal, p *Proposal, d netcfg.Desired) error {
	if ch := p.before; ch != nil {
		p.before = nil
		if eb := <-ch; eb.err == nil && desiredIdentical(&eb.d, &d) {
			journalsAhead.Add(1)
			j.Before, j.beforeJSON = d, eb.b
			return nil
		}
	}
	return j.setBefore(d)
}

// routesIdentical is reflect.DeepEqual of two route lists, field by field
// without reflection where it can (100k routes: 5 ms, not 160).
func routesIdentical(a, b []netcfg.Route) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Table != y.Table || x.Type != y.Type || x.Dst != y.Dst || x.Gw != y.Gw || x.Dev != y.Dev ||
			x.Src != y.Src || x.Scope != y.Scope || x.Proto != y.Proto || x.Metric != y.Metric ||
			x.Tos != y.Tos || x.Onlink != y.Onlink || x.From != y.From || x.NHID != y.NHID ||
			x.Metrics != y.Metrics || x.Pref != y.Pref || x.Realms != y.Realms || x.Expires != y.Expires ||
			x.Dead != y.Dead || x.LinkDown != y.LinkDown {
			return false
		}
		if x.MultiPath != nil || y.MultiPath != nil || x.Encap != nil || y.Encap != nil || x.Unmodelled != nil || y.Unmodelled != nil {
			if !reflect.DeepEqual(x.MultiPath, y.MultiPath) || !reflect.DeepEqual(x.Encap, y.Encap) || !reflect.DeepEqual(x.Unmodelled, y.Unmodelled) {
				return false
			}
		}
	}
	return true
}

// desiredIdentical is reflect.DeepEqual of two desired states.
func desiredIdentical(a, b *netcfg.Desired) bool {
	return routesIdentical(a.Routes, b.Routes) && reflect.DeepEqual(a.Rules, b.Rules) &&
		reflect.DeepEqual(a.Names, b.Names) && reflect.DeepEqual(a.Tables, b.Tables) && reflect.DeepEqual(a.Notes, b.Notes) &&
		reflect.DeepEqual(a.NICs, b.NICs)
}
