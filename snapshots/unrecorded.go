package snapshots

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// NOTE: protocol 201 marks what nictab installs, but nothing stops another
// tool from using the same number, and a state directory can be lost. So a
// rule or route with nictab's protocol that no record of nictab's names —
// no snapshot of the history, no snapshot waiting for confirmation, no
// journal — is not taken for nictab's: it is shown as "proto nictab, not in
// history" and left exactly as it is. `snapshot save --adopt` takes it
// over, like any foreign rule or route. Objects are matched by the
// identity the kernel gives them (a rule's selector and priority, a
// route's table, destination, tos and metric).

// records are the identities of every rule and route nictab has a record
// of.
type records struct {
	rules  map[string]bool
	routes map[netcfg.RouteKey]bool
	// all says that every owned rule and route of the live state the
	// records were asked for is recorded (recordsOf), whatever the maps
	// hold.
	all bool
}

func (r *records) hasRule(k string) bool { return r.all || r.rules[k] }

func (r *records) hasRoute(k netcfg.RouteKey) bool { return r.all || r.routes[k] }

func (r *records) add(rules []netcfg.Rule, routes []netcfg.Route) {
	for i := range rules {
		r.rules[netcfg.RuleKey(&rules[i])] = true
	}
	for i := range routes {
		r.routes[routes[i].Key()] = true
	}
}

// records reads every record of the store. A damaged snapshot cannot be
// read, so what it held counts as unrecorded: left alone, the safe side.
func (s *Store) records() (*records, error) {
	rec := &records{rules: map[string]bool{}, routes: map[netcfg.RouteKey]bool{}}
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		if e.Err == nil && e.Snapshot.Resolved != nil {
			rec.add(e.Snapshot.Resolved.Rules, e.Snapshot.Resolved.Routes)
		}
	}
	return rec, s.otherRecords(rec)
}

// recordsOf returns records holding at least every owned rule and route
// of live that any record of the store names: the newest snapshot's,
// pending ones and journals' first, and the whole history only when they
// leave one out. Each snapshot of 100k routes costs 0.2 s to read; a
// plan usually finds everything it owns in the newest.
func (s *Store) recordsOf(live netcfg.State) (*records, error) {
	rec := &records{rules: map[string]bool{}, routes: map[netcfg.RouteKey]bool{}}
	// Records are asked only of live objects of nictab's protocol: with
	// none (a first apply, a table being filled) no record can matter,
	// and the newest snapshot is not read.
	if !ownsAny(&live) {
		return rec, nil
	}
	if s.latestRecordsAll(&live) {
		rec.all = true
		return rec, nil
	}
	latest, err := s.latestResolved()
	if err != nil {
		return nil, err
	}
	if latest != nil {
		rec.add(latest.Rules, latest.Routes)
	}
	if err := s.otherRecords(rec); err != nil {
		return nil, err
	}
	for i := range live.Rules {
		if r := &live.Rules[i]; r.Owned() && !rec.hasRule(netcfg.RuleKey(r)) {
			return s.records()
		}
	}
	for i := range live.Routes {
		if r := &live.Routes[i]; r.Owned() && !rec.hasRoute(r.Key()) {
			return s.records()
		}
	}
	return rec, nil
}

func ownsAny(live *netcfg.State) bool {
	for i := range live.Rules {
		if live.Rules[i].Owned() {
			return true
		}
	}
	for i := range live.Routes {
		if live.Routes[i].Owned() {
			return true
		}
	}
	return false
}

// otherRecords adds the records outside the history: pending snapshots
// and journals.
func (s *Store) otherRecords(rec *records) error {
	// A pending folder that cannot be opened (not a directory, not
	// trusted) holds nothing readable: what it would have held counts as
	// unrecorded, and saving there fails later with its own message.
	if d, err := s.pendingDirFile(false); err == nil && d != nil {
		ents, err := readDirAt(d)
		if err != nil {
			d.Close()
			return err
		}
		for _, en := range ents {
			if en.IsDir() || !strings.HasSuffix(en.Name(), ".yaml") || strings.HasPrefix(en.Name(), ".") {
				continue
			}
			if snap, err := loadStored(d, en.Name()); err == nil && snap.Resolved != nil {
				rec.add(snap.Resolved.Rules, snap.Resolved.Routes)
			}
		}
		d.Close()
	}
	for _, n := range []string{journalFile, keptFile, revertingFile} {
		j, err := s.readJournal(n)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if j != nil {
			// A state before that cannot be read back counts for nothing
			// here: recovery refuses it, and says why.
			if s.resolveBefore(j) == nil {
				rec.add(j.Before.Rules, j.Before.Routes)
			}
		}
	}
	return nil
}

// ownedRecordsDigest is recordsDigest(live.Rules, live.Routes, true),
// made in one pass over the routes without a copy of their keys when
// nictab's routes are in key order already, as a table read from the
// kernel mostly is, and hashed in large writes rather than one per route:
// a rollback of 100k routes compared its live state with the history in
// 15–19 ms, nearly all of it there. Routes out of order fall back to
// recordsDigest.
func ownedRecordsDigest(live *netcfg.State) string {
	h := newRecordsHash(live.Rules, true)
	const chunk = 64 << 10
	b := make([]byte, 0, chunk+128)
	var prev *netcfg.Route
	for i := range live.Routes {
		r := &live.Routes[i]
		if !r.Owned() {
			continue
		}
		if prev != nil {
			c := netcfg.CompareRouteKeys(prev, r)
			if c > 0 {
				return recordsDigest(live.Rules, live.Routes, true)
			}
			if c == 0 {
				continue
			}
		}
		prev = r
		b = binary.BigEndian.AppendUint32(b, r.Table)
		b = appendPrefix(b, r.Dst)
		b = append(b, r.Tos)
		b = binary.BigEndian.AppendUint32(b, r.Metric)
		b = appendPrefix(b, r.From)
		if len(b) >= chunk {
			h.Write(b)
			b = b[:0]
		}
	}
	h.Write(b)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// unrecordedSet is what a proposal found with nictab's protocol but in no
// record, by identity.
type unrecordedSet struct {
	rules  map[string]bool
	routes map[netcfg.RouteKey]bool
	// conflicts are the unrecorded routes the desired state would change:
	// a route of nictab's own with the same identity but another next hop,
	// source or attribute. Planned, it would be a replace of an object
	// nictab cannot call its own, so the plan is refused instead.
	conflicts []netcfg.Conflict
}

// planWith plans live to d and refuses, as conflicts, every change it would
// make to a route left alone as "not in history".
func planWith(live netcfg.State, w *netcfg.Watched, d netcfg.Desired, set *unrecordedSet) netcfg.Plan {
	var p netcfg.Plan
	if w != nil {
		p = w.Plan(d) // w.State is live
	} else {
		p = netcfg.PlanChanges(live, d)
	}
	if set != nil {
		p.Conflicts = append(p.Conflicts, set.conflicts...)
	}
	return p
}

// keepUnrecorded makes a desired state leave the live rules and routes of
// protocol 201 that no record names exactly as they are: they are added to
// d as wanted (so the plan neither deletes nor changes them and verifying
// finds them where they were), each with a note, and returned so that the
// snapshot of the change does not record them as nictab's.
func (e *Engine) keepUnrecorded(live netcfg.State, d *netcfg.Desired) (*unrecordedSet, error) {
	rec, err := e.store.recordsOf(live)
	if err != nil {
		return nil, fmt.Errorf("read the history for what nictab installed: %w", err)
	}
	set := &unrecordedSet{rules: map[string]bool{}, routes: map[netcfg.RouteKey]bool{}}
	// Where d holds each identity, made at the first unrecorded object: a
	// host with 100k such routes looks each up once, not by a scan of d.
	var ruleIn map[string]bool
	var routeAt map[netcfg.RouteKey]int
	for i := range live.Rules {
		r := &live.Rules[i]
		k := netcfg.RuleKey(r)
		if !r.Owned() || rec.hasRule(k) {
			continue
		}
		set.rules[k] = true
		if ruleIn == nil {
			ruleIn = make(map[string]bool, len(d.Rules))
			for j := range d.Rules {
				ruleIn[netcfg.RuleKey(&d.Rules[j])] = true
			}
		}
		if !ruleIn[k] {
			d.Rules = append(d.Rules, *r)
			ruleIn[k] = true
		}
		d.Notes = append(d.Notes, netcfg.Note{Text: fmt.Sprintf("rule %q is proto nictab, not in history: no record of nictab's installed it (another tool using protocol 201?); left as it is (`nictab snapshot save --adopt` takes it over)", netcfg.RuleString(r))})
	}
	added := false
	for i := range live.Routes {
		r := &live.Routes[i]
		if !r.Owned() || rec.all {
			continue
		}
		k := r.Key()
		if rec.hasRoute(k) {
			continue
		}
		set.routes[k] = true
		if routeAt == nil {
			routeAt = make(map[netcfg.RouteKey]int, len(d.Routes))
			for j := range d.Routes {
				if _, dup := routeAt[d.Routes[j].Key()]; !dup {
					routeAt[d.Routes[j].Key()] = j
				}
			}
		}
		if j, ok := routeAt[k]; !ok {
			routeAt[k] = len(d.Routes)
			d.Routes = append(d.Routes, *r)
			added = true
		} else if !netcfg.RouteEqual(&d.Routes[j], r) {
			set.conflicts = append(set.conflicts, netcfg.Conflict{Text: fmt.Sprintf("route %q is proto nictab, not in history, where nictab would put %q; adopt it (`nictab snapshot save --adopt`) or remove it first", netcfg.RouteString(r), netcfg.RouteString(&d.Routes[j]))})
		}
		d.Notes = append(d.Notes, netcfg.Note{Text: fmt.Sprintf("route %q is proto nictab, not in history: no record of nictab's installed it (another tool using protocol 201?); left as it is (`nictab snapshot save --adopt` takes it over)", netcfg.RouteString(r))})
	}
	if added {
		slices.SortStableFunc(d.Routes, func(a, b netcfg.Route) int { return a.Key().Compare(b.Key()) })
	}
	return set, nil
}

// dropUnrecorded leaves out of a snapshot's record what keepUnrecorded
// kept: leaving an object alone does not make it nictab's.
func dropUnrecorded(d netcfg.Owned, set *unrecordedSet) netcfg.Owned {
	if set == nil || len(set.rules)+len(set.routes) == 0 {
		return d
	}
	d.Rules = slices.DeleteFunc(slices.Clone(d.Rules), func(r netcfg.Rule) bool { return set.rules[netcfg.RuleKey(&r)] })
	d.Routes = slices.DeleteFunc(slices.Clone(d.Routes), func(r netcfg.Route) bool { return set.routes[r.Key()] })
	return d
}

// NotInHistory describes the rules and routes of live that carry nictab's
// protocol but that no record of the store names, one line each, for
// `nictab show`.
func (s *Store) NotInHistory(live netcfg.State) ([]string, error) {
	rec, err := s.recordsOf(live)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range live.Rules {
		if r := &live.Rules[i]; r.Owned() && !rec.hasRule(netcfg.RuleKey(r)) {
			out = append(out, fmt.Sprintf("rule %q is proto nictab, not in history: nictab left it alone (`nictab snapshot save --adopt` takes it over)", netcfg.RuleString(r)))
		}
	}
	for i := range live.Routes {
		if r := &live.Routes[i]; r.Owned() && !rec.hasRoute(r.Key()) {
			out = append(out, fmt.Sprintf("route %q is proto nictab, not in history: nictab left it alone (`nictab snapshot save --adopt` takes it over)", netcfg.RouteString(r)))
		}
	}
	return out, nil
}
