package snapshots

import (
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
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
// The snapshot's time is the moment its id is made from, so that it is
// known in advance: when the change begins, or when Prepare ran (while
// the plan printed, at most aheadLate before).
//
// Once the apply holds the lock, stagePending also writes those bytes,
// synced, to a temporary file of the pending directory while the kernel
// applies (7.5 MB and a sync for 100k routes: 10–60 ms); a verified
// change whose snapshot they are only renames the file. Any other end of
// the apply removes it, and recovery removes what a killed one left.

// pendingBytes is a snapshot encoded for the store, or why it could not
// be.
type pendingBytes struct {
	snap *format.Snapshot
	b    []byte
	// records is snapshotRecords of snap, and before resolvedDigest of
	// its resolved state, for its index entry.
	records, before string
	// links are the links snap's addressing was made from.
	links []netcfg.Link
	// inKeyOrder says snap's routes are in the order a snapshot of the
	// read-back has them (routesInKeyOrder).
	inKeyOrder bool
	// staged is b written as the pending file under a temporary name;
	// nil until stagePending, or when it failed (the file is then written
	// as before, and any error reported there).
	staged *stagedPending
	err    error
}

// speculated counts the pending snapshots whose bytes were encoded while
// the kernel applied and then used (tests look at it).
var speculated atomic.Int64

// startPending encodes, in the background, the snapshot the change of p
// will have once verified, with the addressing of the NICs among links.
func (e *Engine) startPending(p *Proposal, links []netcfg.Link, txid string, at time.Time) <-chan pendingBytes {
	resolved := dropUnrecorded(p.Plan.Target, p.unrecorded)
	snap := e.snapshotWith(p, resolved, nil, txid, at)
	return encodeAheadAfter(snap, links, func() {
		// A walk of every route: 3 ms of 100k before the plan printed,
		// made with the bytes instead.
		snap.Meta.Addressing = format.AddressingOf(netcfg.State{Links: links}, resolved, p.Intent)
	})
}

// encodeAhead encodes snap for the store in the background.
func encodeAhead(snap *format.Snapshot, links []netcfg.Link) <-chan pendingBytes {
	return encodeAheadAfter(snap, links, nil)
}

// encodeAheadAfter is encodeAhead of snap once finish, when set, has
// finished it on the same goroutine.
func encodeAheadAfter(snap *format.Snapshot, links []netcfg.Link, finish func()) <-chan pendingBytes {
	ch := make(chan pendingBytes, 1)
	go func() {
		if finish != nil {
			finish()
		}
		b, err := marshalStored(snap)
		pb := pendingBytes{snap: snap, b: b, links: links, err: err}
		if err == nil {
			pb.records = snapshotRecords(snap)
			pb.before = resolvedDigest(snap.Resolved)
			pb.inKeyOrder = snap.Resolved != nil && routesInKeyOrder(snap.Resolved.Routes)
		}
		ch <- pb
	}()
	return ch
}

// stagePending passes on what spec sends, staged as the pending file.
// It is called with the lock held: no other nictab writes in the store,
// and a recovery that would remove the file has run.
func (e *Engine) stagePending(spec <-chan pendingBytes) <-chan pendingBytes {
	ch := make(chan pendingBytes, 1)
	go func() {
		pb := <-spec
		if pb.err == nil {
			// A failure here is not the apply's: savePending writes the
			// file the ordinary way, and reports what fails then.
			pb.staged, _ = e.store.stagePending(pb.snap, pb.b)
		}
		ch <- pb
	}()
	return ch
}

// discardPending removes what spec staged, for an apply that saves no
// pending snapshot from it.
func discardPending(spec <-chan pendingBytes) error {
	if pb := <-spec; pb.staged != nil {
		return pb.staged.discard()
	}
	return nil
}

// savePending writes the pending snapshot of a verified change: the bytes
// spec encoded when its snapshot is snap in every field, else snap
// encoded now. spec may be nil.
func (e *Engine) savePending(snap *format.Snapshot, spec <-chan pendingBytes) error {
	var pb *pendingBytes
	if spec != nil {
		got := <-spec
		pb = &got
	}
	return e.savePendingFrom(snap, pb, false)
}

// savePendingFrom is savePending of what spec sent, pb (nil for
// nothing). borrowed says snap's addressing is pb's (snapshotAhead): right
// when snap is pb's snapshot, and made again from pb's links when not.
func (e *Engine) savePendingFrom(snap *format.Snapshot, pb *pendingBytes, borrowed bool) error {
	if pb != nil {
		if pb.err == nil && sameSnapshot(pb.snap, snap) {
			speculated.Add(1)
			snap.SetIntentEnd(pb.snap.IntentEnd())
			snap.SetRecords(pb.records)
			e.store.knowBefore(snap.Meta.ID, pb.before)
			if pb.staged != nil {
				stagedUsed.Add(1)
				return e.store.commitStaged(snap, pb.staged)
			}
			return e.store.writePending(snap, pb.b)
		}
		if borrowed {
			snap.Meta.Addressing = format.AddressingOf(netcfg.State{Links: pb.links}, *snap.Resolved, snap.Intent)
		}
		if pb.staged != nil {
			if err := pb.staged.discard(); err != nil {
				return err
			}
		}
	}
	return e.store.savePending(snap)
}

// sameSnapshot reports whether a and b are the same snapshot, field by
// field, so that Marshal gives the same bytes for both.
func sameSnapshot(a, b *format.Snapshot) bool {
	return a.Version == b.Version && a.Comment == b.Comment &&
		reflect.DeepEqual(a.Intent, b.Intent) && reflect.DeepEqual(a.Meta, b.Meta) &&
		(a.Resolved == nil) == (b.Resolved == nil) &&
		(a.Resolved == nil || targetIdentical(a.Resolved, b.Resolved))
}

func targetIdentical(a, b *netcfg.Owned) bool {
	return routesIdentical(a.Routes, b.Routes) && reflect.DeepEqual(a.Rules, b.Rules) && reflect.DeepEqual(a.Names, b.Names)
}

// encodedBefore is what nictab owned in a proposal's live state, encoded
// for the journal, or nil b when its digest found a snapshot holding it.
type encodedBefore struct {
	d netcfg.Desired
	b []byte
	// digest is beforeDigest of d, when the newest snapshot's index entry
	// gives one to match (journal_ref.go).
	digest string
	err    error
}

// stagedUsed counts the pending snapshots saved by renaming the file
// stagePending wrote (tests look at it).
var stagedUsed atomic.Int64

// aheadUsed counts the changes that took the id and snapshot Prepare
// made (tests look at it).
var aheadUsed atomic.Int64

// journalsAhead counts the journals written with the state before
// encoded by Prepare (tests look at it).
var journalsAhead atomic.Int64

// pendingAhead is the snapshot of a change encoded by Prepare, under the
// id and time it took then.
type pendingAhead struct {
	id, parent string
	at         time.Time
	ch         <-chan pendingBytes
}

// aheadLate is how long before the change begins its snapshot's id and
// time may be taken: a snapshot is not dated from a plan printed before a
// person read it and answered.
const aheadLate = 2 * time.Second

// Prepare starts, in the background, work an Apply of p would do first
// and that does not depend on anything it reads, for it to run while the
// plan is printed: encoding, for the journal, what nictab owns in the
// state p was planned from (0.15 s for 100k routes), and encoding the
// snapshot the change will have (1 s), under an id and time taken now.
// Apply checks, under its lock, that the kernel still holds exactly that
// state, that the id is still free and comes right after the newest
// snapshot, and that the snapshot is the read-back's, before it uses
// any of it. Apply prepares the journal by itself for a proposal not
// prepared before; preparing twice does nothing more.
func (e *Engine) Prepare(p *Proposal) {
	e.prepareJournal(p)
	p.Plan.MapWrites()
	if p.ahead != nil || p.Plan.Empty() || len(p.Plan.Conflicts) > 0 {
		return
	}
	// With an empty history the baseline takes an id first, under the
	// lock: that change's snapshot is encoded while it applies.
	parent, err := e.store.LatestID()
	if err != nil || parent == "" {
		return
	}
	at := e.cfg.Now()
	id := e.store.NewID()
	p.ahead = &pendingAhead{id: id, parent: parent, at: at, ch: e.startPending(p, p.Live.Links, id, at)}
}

func (p *Proposal) takeAhead() *pendingAhead {
	a := p.ahead
	p.ahead = nil
	return a
}

// aheadHolds reports whether the id Prepare took is still right for a
// change beginning now: taken shortly before, still free, and the newest
// snapshot still the one it names as its parent.
func (e *Engine) aheadHolds(a *pendingAhead, now time.Time) bool {
	if now.Sub(a.at) >= aheadLate || now.Before(a.at) {
		return false
	}
	latest, err := e.store.LatestID()
	return err == nil && latest == a.parent && e.store.idFree(a.id)
}

// liveDigest is what nictab owns in a proposal's live state, as the
// journal's state before, with its beforeDigest and the state's foreign
// objects, made in the background from the moment that state is read.
// Its fields are read once done is closed; copies of a proposal (the
// terminal UI applies a copy) share it.
type liveDigest struct {
	done chan struct{}
	d    netcfg.Desired
	// foreign is netcfg.ForeignObjects of the live state.
	foreign []string
	// digest is beforeDigest of d, "" when the newest snapshot's index
	// entry gave none to match, d has too few routes to be named by a
	// journal, or the digest failed (the state is encoded then).
	digest string
}

// NOTE: a rollback of 100k routes waited 13 ms for that digest before
// its journal could be written: Prepare started it only when the plan
// began to print, 15–20 ms before the first change. digestLive starts it
// as soon as the tables are read, so it runs on the other core while the
// history is compared (7 ms), the plan made (12 ms) and printed.
//
// digestLive starts making the liveDigest of live.
func (e *Engine) digestLive(live netcfg.State) *liveDigest {
	ld := &liveDigest{done: make(chan struct{})}
	go func() {
		defer close(ld.done)
		ld.d, ld.foreign = netcfg.OwnedAsDesiredSharing(live), netcfg.ForeignObjects(live)
		if len(ld.d.Routes) < referBeforeMin {
			return
		}
		// Only when the newest snapshot's entry gives a digest to match
		// (an index written before they were recorded gives none).
		if cand, _ := e.store.latestBeforeRef(""); cand.Digest == "" {
			return
		}
		if dg, err := beforeDigest(ld.d); err == nil {
			ld.digest = dg
		}
	}()
	return ld
}

// prepareJournal is Prepare's part for the journal.
func (e *Engine) prepareJournal(p *Proposal) {
	if p.before != nil || p.Plan.Empty() {
		return
	}
	ld := p.digest
	if ld == nil {
		ld = e.digestLive(p.Live)
	}
	ch := make(chan encodedBefore, 1)
	go func() {
		<-ld.done
		eb := encodedBefore{d: ld.d, digest: ld.digest}
		if len(eb.d.Routes) < min(encodeBeforeMin, referBeforeMin) {
			// Small enough to be encoded with the journal (setBefore).
			ch <- eb
			return
		}
		// The digest first, made without holding the encoding (130 MB
		// for 1M routes): when it is the newest snapshot's, as it nearly
		// always is, the journal names that snapshot and the state is not
		// encoded at all. Apply checks again, under its lock, that the
		// snapshot is still the newest.
		if eb.digest != "" {
			if _, ok := e.store.latestBeforeRef(eb.digest); ok {
				ch <- eb
				return
			}
		}
		// Its empty lists nil, as a snapshot's resolved state is encoded
		// for the digest (canonEmpty): the journal reads back the same.
		eb.b, eb.err = marshalDesired(canonEmpty(eb.d))
		ch <- eb
	}()
	p.before = ch
}

// journalBefore is the journal's state before and foreign objects:
// netcfg.OwnedAsDesiredSharing and netcfg.ForeignObjects of before. When
// before is the proposal's live state itself (read under a monitor that
// heard nothing: its rules, routes and complete tables the same arrays,
// its names the same) they are taken from its liveDigest, made of that
// state, rather than walking 100k routes twice more (1.5 ms), when the
// journal waits for that digest anyway.
func (p *Proposal) journalBefore(before netcfg.State) (netcfg.Desired, []string) {
	if ld := p.digest; ld != nil && p.before != nil && sameArray(before.Routes, p.Live.Routes) && sameArray(before.Rules, p.Live.Rules) &&
		sameArray(before.Complete, p.Live.Complete) && slices.Equal(before.Names.OwnedTables(), p.Live.Names.OwnedTables()) {
		<-ld.done
		beforeFromLive.Add(1)
		return ld.d, ld.foreign
	}
	return netcfg.OwnedAsDesiredSharing(before), netcfg.ForeignObjects(before)
}

// beforeFromLive counts the journals whose state before was taken from
// the proposal's liveDigest (tests look at it).
var beforeFromLive atomic.Int64

// sameArray reports whether a and b are the same elements of one array.
func sameArray[T any](a, b []T) bool {
	return len(a) == len(b) && (a == nil) == (b == nil) && (len(a) == 0 || &a[0] == &b[0])
}

// setJournalBefore sets the journal's state before, d: with the encoding
// Prepare made when it encoded that same state, else encoded now. When
// that encoding is, by its digest, the newest snapshot's resolved state,
// the journal names the snapshot instead (journal_ref.go).
func (e *Engine) setJournalBefore(j *Journal, p *Proposal, d netcfg.Desired) error {
	if ch := p.before; ch != nil {
		p.before = nil
		eb := <-ch
		if eb.err == nil && eb.digest != "" && desiredSameSet(&eb.d, &d) {
			if ref, ok := e.store.latestBeforeRef(eb.digest); ok {
				journalsAhead.Add(1)
				journalsByRef.Add(1)
				j.Before, j.beforeJSON, j.beforeRef, j.beforeLoaded = d, nil, &ref, true
				return nil
			}
		}
		if eb.err == nil && desiredIdentical(&eb.d, &d) {
			if eb.b != nil {
				journalsAhead.Add(1)
				j.Before, j.beforeJSON, j.beforeRef = d, eb.b, nil
				return nil
			}
			// Not encoded ahead: the snapshot it was found to be is no
			// longer the newest.
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
	// The same routes, as reflect.DeepEqual finds too: the state before
	// a change read under a monitor that heard nothing is the proposal's.
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if !netcfg.RouteIdentical(&a[i], &b[i]) {
			return false
		}
	}
	return true
}

// ownedRoutesAre reports whether nictab's routes among live are, in
// their order, each netcfg.RouteIdentical to the route of its place in want.
func ownedRoutesAre(live, want []netcfg.Route) bool {
	i := 0
	for j := range live {
		if !live[j].Owned() {
			continue
		}
		if i == len(want) || !netcfg.RouteIdentical(&live[j], &want[i]) {
			return false
		}
		i++
	}
	return i == len(want)
}

// desiredIdentical is reflect.DeepEqual of two desired states.
func desiredIdentical(a, b *netcfg.Desired) bool {
	return routesIdentical(a.Routes, b.Routes) && reflect.DeepEqual(a.Rules, b.Rules) &&
		reflect.DeepEqual(a.Names, b.Names) && reflect.DeepEqual(a.Tables, b.Tables) && reflect.DeepEqual(a.Notes, b.Notes) &&
		reflect.DeepEqual(a.NICs, b.NICs)
}
