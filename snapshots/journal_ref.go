package snapshots

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/nictab/nictab/netcfg"
)

// NOTE: a rollback's journal held every route nictab owned before it
// (13 MB of JSON for 100k routes), written and synced before the first
// change: 30–150 ms of a rollback. Yet that state is nearly always the
// newest snapshot's, which is in the store already, synced. When the
// state before, encoded as the journal would hold it, has the digest the
// newest snapshot's index entry gives for its resolved state encoded the
// same way, the journal names that snapshot and the digest instead
// ("before": "snapshot ID sha256:…", a string where an older nictab
// wants an object, so that one refuses the journal as damaged rather
// than reading an empty state before).
//
// The index only picks the candidate; it is trusted for nothing: the
// digest is taken of the live state's own encoding, and recovery encodes
// the named snapshot's resolved state again and requires the same digest
// before it uses it (and decodes that encoding, so the state before is
// what the journal would have held, byte for byte). A snapshot that is
// missing, damaged or different makes recovery refuse, keeping the
// journal, and saying which file it needs. Remove never deletes a
// snapshot a journal names. The apply's own undo uses the state it read,
// which it keeps in memory.

// beforeRef names the snapshot whose resolved state is a journal's state
// before.
type beforeRef struct {
	ID     string
	Digest string
}

const beforeRefPrefix = "snapshot "

func (r beforeRef) text() string { return beforeRefPrefix + r.ID + " " + r.Digest }

func parseBeforeRef(s string) (beforeRef, error) {
	rest, ok := strings.CutPrefix(s, beforeRefPrefix)
	id, digest, ok2 := strings.Cut(rest, " ")
	if !ok || !ok2 || id == "" || strings.ContainsAny(id, "/\x00") || strings.HasPrefix(id, ".") || !strings.HasPrefix(digest, "sha256:") {
		return beforeRef{}, fmt.Errorf("its state before, %q, names no snapshot", s)
	}
	return beforeRef{ID: id, Digest: digest}, nil
}

// referBeforeMin is the number of routes from which a journal may name
// the snapshot that holds its state before; tests lower it.
var referBeforeMin = encodeBeforeMin

// journalsByRef counts the journals written naming a snapshot as their
// state before (tests look at it).
var journalsByRef atomic.Int64

// stateDigest is the digest of b, a state encoded by marshalDesired.
func stateDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// desiredOfOwned is the state before a change that starts from o, as
// netcfg.OwnedAsDesired gives it of a kernel holding exactly o: its
// tables those of its routes and lookup rules, ascending.
func desiredOfOwned(o netcfg.Owned) netcfg.Desired {
	d := netcfg.Desired{Owned: o}
	for i := range d.Routes {
		if t := d.Routes[i].Table; len(d.Tables) == 0 || d.Tables[len(d.Tables)-1] != t {
			d.Tables = append(d.Tables, t)
		}
	}
	for _, r := range d.Rules {
		if r.Action == netcfg.ActionLookup {
			d.Tables = append(d.Tables, r.Table)
		}
	}
	slices.Sort(d.Tables)
	d.Tables = slices.Compact(d.Tables)
	return d
}

// canonEmpty is d with its empty lists nil: a snapshot's file does not
// say whether a list it holds none of was nil or empty, and a state
// before is the same either way.
func canonEmpty(d netcfg.Desired) netcfg.Desired {
	if len(d.Rules) == 0 {
		d.Rules = nil
	}
	if len(d.Routes) == 0 {
		d.Routes = nil
	}
	if len(d.Names) == 0 {
		d.Names = nil
	}
	if len(d.Tables) == 0 {
		d.Tables = nil
	}
	if len(d.Notes) == 0 {
		d.Notes = nil
	}
	if len(d.NICs) == 0 {
		d.NICs = nil
	}
	return d
}

// canonOrder is d with its rules, routes and names in the order a
// snapshot records them (snapshotAhead), sorted copies where they are
// not: the kernel lists IPv4 before IPv6 and rules by family. The state
// before is the same set in any order.
func canonOrder(d netcfg.Desired) netcfg.Desired {
	d, order := canonOrderOf(d)
	if order != nil {
		rs := make([]netcfg.Route, len(order))
		for i, k := range order {
			rs[i] = d.Routes[k]
		}
		d.Routes = rs
	}
	return d
}

// canonOrderOf is canonOrder but for the routes, whose order it gives
// as their indices when they are not in it already: a copy of a million
// routes is 248 MB, their order 4 MB.
func canonOrderOf(d netcfg.Desired) (netcfg.Desired, []int32) {
	if !slices.IsSortedFunc(d.Rules, compareRules) {
		d.Rules = slices.Clone(d.Rules)
		slices.SortStableFunc(d.Rules, compareRules)
	}
	byID := func(a, b netcfg.TableName) int { return cmp.Compare(a.ID, b.ID) }
	if !slices.IsSortedFunc(d.Names, byID) {
		d.Names = slices.Clone(d.Names)
		slices.SortStableFunc(d.Names, byID)
	}
	if routesInKeyOrder(d.Routes) {
		return d, nil
	}
	order := make([]int32, len(d.Routes))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return d.Routes[a].Key().Compare(d.Routes[b].Key()) })
	return d, order
}

// beforeDigest is stateDigest(beforeEncoding(d)), made without copying
// d's routes or holding the encoding.
func beforeDigest(d netcfg.Desired) (string, error) {
	c, order := canonOrderOf(d)
	return digestDesired(canonEmpty(c), order)
}

// beforeEncoding is d encoded as a journal's state before is compared
// with a snapshot's: in canonical order, empty lists nil.
func beforeEncoding(d netcfg.Desired) ([]byte, error) {
	return marshalDesired(canonEmpty(canonOrder(d)))
}

// resolvedDigest is the stateDigest of a snapshot's resolved state as a
// journal would hold it, "" for one too small to be named by a journal.
func resolvedDigest(o *netcfg.Owned) string {
	if o == nil || len(o.Routes) < referBeforeMin {
		return ""
	}
	d, err := beforeDigest(desiredOfOwned(*o))
	if err != nil {
		return ""
	}
	return d
}

// latestBeforeRef names the newest intact snapshot when its index entry
// gives digest for its resolved state.
func (s *Store) latestBeforeRef(digest string) (beforeRef, bool) {
	all, err := s.Listing()
	if err != nil {
		return beforeRef{}, false
	}
	for i := range all {
		if all[i].Err != nil {
			continue
		}
		d := all[i].indexed.Before
		return beforeRef{ID: all[i].ID, Digest: d}, d != "" && d == digest
	}
	return beforeRef{}, false
}

// resolveBefore fills j.Before from the snapshot its journal names, when
// it names one, once the snapshot's resolved state is found to have the
// digest the journal gives.
func (s *Store) resolveBefore(j *Journal) error {
	if j.beforeRef == nil || j.beforeLoaded {
		return nil
	}
	ref := *j.beforeRef
	fail := func(why string) error {
		return fmt.Errorf("the journal of %s names snapshot %s (%s) as the state before it, and %s: nictab cannot know what to bring back, so it changed nothing and keeps the journal; put that snapshot's file back in %s and run `nictab recover`",
			j.TxID, ref.ID, ref.Digest, why, s.snapDir())
	}
	snaps, err := s.snapDirFile(false)
	if err != nil {
		return fail(err.Error())
	}
	if snaps == nil {
		return fail("the history is missing")
	}
	en := loadEntry(snaps, s.snapDir(), ref.ID+".yaml")
	if en.Err != nil {
		return fail(fmt.Sprintf("it cannot be read: %v", en.Err))
	}
	b, err := beforeEncoding(desiredOfOwned(*en.Snapshot.Resolved))
	if err != nil {
		return fail(fmt.Sprintf("it cannot be encoded: %v", err))
	}
	if got := stateDigest(b); got != ref.Digest {
		return fail("its resolved state is not that state (digest " + got + ")")
	}
	var d netcfg.Desired
	if err := json.Unmarshal(b, &d); err != nil {
		return fail(fmt.Sprintf("its state does not decode: %v", err))
	}
	j.Before, j.beforeLoaded = d, true
	return nil
}

// journalNames lists the snapshots the journals of the store name as
// their state before.
func (s *Store) journalNames() (map[string]bool, error) {
	names := map[string]bool{}
	for _, n := range []string{journalFile, keptFile, revertingFile} {
		j, err := s.readJournal(n)
		if err != nil {
			return nil, err
		}
		if j != nil && j.beforeRef != nil {
			names[j.beforeRef.ID] = true
		}
	}
	return names, nil
}

// desiredSameSet reports whether a and b are one state before, as a
// journal naming a snapshot holds it: desiredIdentical, but for routes
// that may come in runs of one table and family in another order. The
// kernel read for a plan lists nictab's routes table by table, the one
// an apply reads first family by family; both give one digest
// (canonOrder), so a journal naming the snapshot holds either.
func desiredSameSet(a, b *netcfg.Desired) bool {
	x, y := *a, *b
	x.Routes, y.Routes = nil, nil
	return desiredIdentical(&x, &y) && (routesIdentical(a.Routes, b.Routes) || sameRuns(a.Routes, b.Routes))
}

// sameRuns reports whether a and b are the same runs of routes of one
// table and family, each run routesIdentical, in any order of the runs.
// Lists where a table and family make more than one run are not
// compared (false).
func sameRuns(a, b []netcfg.Route) bool {
	if len(a) != len(b) {
		return false
	}
	ra, ok := routeRuns(a)
	if !ok {
		return false
	}
	rb, ok := routeRuns(b)
	if !ok || len(ra) != len(rb) {
		return false
	}
	for k, x := range ra {
		if y, ok := rb[k]; !ok || !routesIdentical(x, y) {
			return false
		}
	}
	return true
}

type runKey struct {
	table uint32
	v6    bool
}

func routeRuns(rs []netcfg.Route) (map[runKey][]netcfg.Route, bool) {
	m := map[runKey][]netcfg.Route{}
	start := 0
	for i := 1; i <= len(rs); i++ {
		if i < len(rs) && rs[i].Table == rs[start].Table && rs[i].Dst.Addr().Is6() == rs[start].Dst.Addr().Is6() {
			continue
		}
		k := runKey{rs[start].Table, rs[start].Dst.Addr().Is6()}
		if _, dup := m[k]; dup {
			return nil, false
		}
		m[k] = rs[start:i]
		start = i
	}
	return m, true
}
