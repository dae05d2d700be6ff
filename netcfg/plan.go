package netcfg

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nictab/nictab/internal/prefault"
)

// OwnedAsDesired returns what nictab owns in s as a desired state: planning
// towards it from a later state undoes everything in between.
func OwnedAsDesired(s State) Desired {
	return ownedAsDesired(s, s.OwnedRoutes())
}

// OwnedAsDesiredSharing is OwnedAsDesired whose routes share s's array
// when nictab's routes are one run of it, as in the read-back after an
// apply: a snapshot of 100k routes then holds no second copy of them.
// Neither s's routes nor the result's may be changed in place while the
// other is in use.
func OwnedAsDesiredSharing(s State) Desired {
	if run, ok := s.ownedRun(); ok {
		return ownedAsDesired(s, run)
	}
	return OwnedAsDesired(s)
}

func ownedAsDesired(s State, routes []Route) Desired {
	d := Desired{Owned: Owned{Rules: s.OwnedRules(), Routes: routes, Names: s.Names.OwnedTables()}}
	for i := range d.Names {
		d.Names[i].File = ""
	}
	for i := range d.Routes {
		if t := d.Routes[i].Table; len(d.Tables) == 0 || d.Tables[len(d.Tables)-1] != t {
			d.Tables = append(d.Tables, t)
		}
	}
	for _, r := range d.Rules {
		if r.Action == ActionLookup {
			d.Tables = append(d.Tables, r.Table)
		}
	}
	slices.Sort(d.Tables)
	d.Tables = slices.Compact(d.Tables)
	return d
}

// PlanChanges computes the plan from live to want. It is a pure function:
// no clock, no I/O, and its output is sorted, so the same inputs give the
// same plan. live must hold every route nictab owns (AllOwned) and the
// tables of want in full.
//
// Order, so that there is never a routing hole: names first; then routes
// added or replaced, connected routes before the routes whose gateways they
// make reachable; then new and changed rules, so no rule ever points at a
// table that is half filled; then rules that go away; then routes that go
// away, gateway routes first, once no rule of nictab's sends traffic to
// them; names that go away last. A NIC that moves from table 13 to 15 thus
// has its new table filled and its rule switched before table 13 empties.
func PlanChanges(live State, want Desired) Plan {
	prior := fingerprintAside(live)
	p := planChanges(live, want)
	p.Prior = PriorOf(prior())
	return p
}

// planChanges is PlanChanges without the plan's Prior.
func planChanges(live State, want Desired) Plan {
	if streamMatchable(live.Routes, want.Routes) {
		if p, ok := planChangesBy(live, want, true); ok {
			return p
		}
	}
	p, _ := planChangesBy(live, want, false)
	return p
}

// planChangesBy is planChanges. With stream, each wanted route is
// matched as the plan comes to it (streamMatch), which holds only when
// both lists of routes are strictly in key order: it reports false
// otherwise, and the plan is to be made again without.
func planChangesBy(live State, want Desired, stream bool) (Plan, bool) {
	p := Plan{Tables: slices.Clone(live.Complete), Owned: ownedElsewhere(&live), Notes: slices.Clone(want.Notes)}
	var (
		nameAdds, nameDels []Change
		ruleDels, ruleAdds []Change
		// earlyDels are the route deletes found among the wanted routes.
		earlyDels []Change
	)

	// Table names.
	liveNames := live.Names.OwnedTables()
	for i := range want.Names {
		w := &want.Names[i]
		j := slices.IndexFunc(liveNames, func(t TableName) bool { return t.ID == w.ID })
		switch {
		case j < 0:
			nameAdds = append(nameAdds, Change{Action: ChangeAdd, After: Object{Name: w}, Reason: "table " + strconv.FormatUint(uint64(w.ID), 10) + " gets its name"})
		case liveNames[j].Name != w.Name:
			nameAdds = append(nameAdds, Change{Action: ChangeReplace, Before: Object{Name: &liveNames[j]}, After: Object{Name: w}, Reason: "table renamed"})
		}
		p.Target.Names = append(p.Target.Names, TableName{ID: w.ID, Name: w.Name})
	}
	for i := range liveNames {
		if !slices.ContainsFunc(want.Names, func(t TableName) bool { return t.ID == liveNames[i].ID }) {
			nameDels = append(nameDels, Change{Action: ChangeDelete, Before: Object{Name: &liveNames[i]}, Reason: "name no longer wanted"})
		}
	}

	// Rules.
	liveOwned := make(map[string]*Rule)
	var liveUnowned []*Rule
	for i := range live.Rules {
		r := &live.Rules[i]
		if r.Owned() {
			liveOwned[RuleKey(r)] = r
		} else {
			liveUnowned = append(liveUnowned, r)
		}
	}
	wantKeys := make(map[string]bool, len(want.Rules))
	var added []*Rule
	for i := range want.Rules {
		w := &want.Rules[i]
		k := RuleKey(w)
		wantKeys[k] = true
		if liveOwned[k] != nil {
			p.Target.Rules = append(p.Target.Rules, *w)
			continue
		}
		if j := slices.IndexFunc(liveUnowned, func(u *Rule) bool { return RuleEqualIgnoringProto(u, w) }); j >= 0 {
			p.Notes = append(p.Notes, Note{Text: fmt.Sprintf("rule %q already exists and nictab does not own it; left as it is (`nictab snapshot save --adopt` takes it over)", RuleString(liveUnowned[j]))})
			continue
		}
		added = append(added, w)
		p.Target.Rules = append(p.Target.Rules, *w)
	}
	var gone []*Rule
	for k, r := range liveOwned {
		if !wantKeys[k] {
			gone = append(gone, r)
		}
	}
	slices.SortFunc(gone, func(a, b *Rule) int { return CompareRules(a, b) })
	// A rule that keeps its selector but changes table or priority is one
	// replace, so the new rule is in place before the old one goes.
	bySel := make(map[string]*Rule, len(gone))
	for _, r := range gone {
		bySel[selectorKey(r)] = r
	}
	for _, w := range added {
		if old := bySel[selectorKey(w)]; old != nil && len(old.Opaque()) > 0 {
			p.Conflicts = append(p.Conflicts, Conflict{Text: "nictab would replace it: " + OpaqueReason(fmt.Sprintf("rule %q", RuleString(old)), old.Opaque())})
			delete(bySel, selectorKey(w))
			continue
		}
		if old := bySel[selectorKey(w)]; old != nil {
			delete(bySel, selectorKey(w))
			ruleAdds = append(ruleAdds, Change{Action: ChangeReplace, Before: Object{Rule: old}, After: Object{Rule: w}, Reason: ruleReplaceReason(old, w)})
			continue
		}
		if o := w.Opaque(); len(o) > 0 {
			p.Conflicts = append(p.Conflicts, Conflict{Text: "nictab would re-create it: " + OpaqueReason(fmt.Sprintf("rule %q", RuleString(w)), o)})
			continue
		}
		ruleAdds = append(ruleAdds, Change{Action: ChangeAdd, After: Object{Rule: w}, Reason: "sends traffic to table " + strconv.FormatUint(uint64(w.Table), 10)})
	}
	for _, r := range gone {
		if bySel[selectorKey(r)] != r {
			continue
		}
		// An undo would have to re-create it, which nictab cannot.
		if o := r.Opaque(); len(o) > 0 {
			p.Conflicts = append(p.Conflicts, Conflict{Text: "nictab would delete it and could not restore it on undo: " + OpaqueReason(fmt.Sprintf("rule %q", RuleString(r)), o)})
			continue
		}
		ruleDels = append(ruleDels, Change{Action: ChangeDelete, Before: Object{Rule: r}, Reason: "no longer wanted"})
	}

	// Routes, matched by key through a merge of both lists in key order:
	// at 100k routes, maps under RouteKey were most of the plan's time.
	var (
		match, foreignAt, ownedAt []int32
		wanted                    []bool
		liveStrict, wantStrict    = true, true
		sm                        *streamMatch
	)
	// The changes are written into one slice in their final order, sized
	// for every change but route replaces: a wanted route no live route
	// matches is at most an add, a live one of nictab's no wanted route
	// matches at most a delete. At 1M routes, growing the list of adds and
	// joining the lists after copied 72 bytes a change several times.
	// Matched as the plan goes, a wanted route is counted as an add and a
	// live one of nictab's as a delete, which is more by at most the few
	// live routes.
	adds, dels := 0, 0
	if stream {
		sm = newStreamMatch(live.Routes)
		adds = len(want.Routes)
		for i := range live.Routes {
			if live.Routes[i].Owned() {
				dels++
			}
		}
	} else {
		match, foreignAt, ownedAt, wanted, liveStrict, wantStrict = matchPlanned(live.Routes, want.Routes)
		if match == nil {
			adds = len(want.Routes)
		}
		for _, j := range match {
			if j < 0 {
				adds++
			}
		}
		for i := range live.Routes {
			if !wanted[i] && live.Routes[i].Owned() {
				dels++
			}
		}
	}
	need := len(nameAdds) + adds + len(ruleAdds) + len(ruleDels) + dels + len(nameDels) + 16
	changes := want.changes.take(need)
	if changes == nil {
		changes = make([]Change, 0, need)
		prefault.Slice(changes)
	}
	changes = append(changes, nameAdds...)
	addsAt := len(changes)
	// The target is want's routes less those refused or left alone; most
	// plans refuse none, and then the target shares want's slice instead
	// of holding a second copy (336 bytes a route), which the changes
	// point into already.
	kept := 0
	wantSorted := wantStrict || routesSorted(want.Routes)
	// addsInOrder says the adds, taken in want's order, are in the order
	// their sort gives (connected routes first): the sort is then skipped,
	// as pdqsort would have left them (a sorted list is not moved).
	addsInOrder, addGw := wantSorted, false
	share := wantSorted
	if !share {
		p.Target.Routes = make([]Route, 0, len(want.Routes))
	}
	var needsIt string
	var needsItTable uint32
	for i := range want.Routes {
		w := &want.Routes[i]
		var l, foreign *Route
		owned := 0
		if sm != nil {
			l, foreign, owned = sm.at(w)
		} else if match != nil {
			if j := match[i]; j >= 0 {
				l = &live.Routes[j]
			}
			if j := foreignAt[i]; j >= 0 {
				foreign = &live.Routes[j]
			}
			owned = int(ownedAt[i])
		}
		if foreign != nil && RouteEqualIgnoringProto(foreign, w) && !(l != nil && l.Owned() && RouteEqual(l, w)) {
			p.Notes = append(p.Notes, Note{Text: fmt.Sprintf("route %q already exists and nictab does not own it; left as it is (`nictab snapshot save --adopt` takes it over)", RouteString(foreign))})
			if l != nil && l.Owned() && deleteConflict(l) == "" {
				// nictab's own route of that identity is no longer
				// wanted; its delete names it exactly, protocol included.
				earlyDels = append(earlyDels, Change{Action: ChangeDelete, Before: Object{Route: l}, Reason: "no longer wanted: another owner's route does the same"})
			}
			continue
		}
		if c := identityConflict(w, l, foreign, owned); c != "" {
			p.Conflicts = append(p.Conflicts, Conflict{Text: c})
			continue
		}
		switch {
		case l == nil && len(w.Opaque()) > 0:
			p.Conflicts = append(p.Conflicts, Conflict{Text: "nictab would re-create it: " + OpaqueReason(fmt.Sprintf("route %q", RouteString(w)), w.Opaque())})
			continue
		case l == nil:
			if needsIt == "" || needsItTable != w.Table {
				needsIt, needsItTable = "table "+strconv.FormatUint(uint64(w.Table), 10)+" needs it", w.Table
			}
			changes = append(changes, Change{Action: ChangeAdd, After: Object{Route: w}, Reason: needsIt})
		case !l.Owned() && RouteEqualIgnoringProto(l, w):
			p.Notes = append(p.Notes, Note{Text: fmt.Sprintf("route %q already exists and nictab does not own it; left as it is (`nictab snapshot save --adopt` takes it over)", RouteString(l))})
			continue
		case !l.Owned():
			p.Conflicts = append(p.Conflicts, Conflict{Text: fmt.Sprintf("table %d already has %q, which nictab does not own, where it would put %q; remove or adopt that route first", w.Table, RouteString(l), RouteString(w))})
			continue
		case !RouteEqual(l, w) && len(l.Opaque()) > 0:
			p.Conflicts = append(p.Conflicts, Conflict{Text: "nictab would replace it: " + OpaqueReason(fmt.Sprintf("route %q", RouteString(l)), l.Opaque())})
			continue
		case !RouteEqual(l, w):
			changes = append(changes, Change{Action: ChangeReplace, Before: Object{Route: l}, After: Object{Route: w}, Reason: "changed"})
		}
		if len(changes) > addsAt && changes[len(changes)-1].After.Route == w {
			if gw := hasGateway(w); gw != addGw {
				addsInOrder = addsInOrder && gw
				addGw = true
			}
		}
		if share && kept != i {
			// A route was left out: from here on the target is a copy.
			share = false
			p.Target.Routes = append(make([]Route, 0, len(want.Routes)), want.Routes[:kept]...)
		}
		if !share {
			p.Target.Routes = append(p.Target.Routes, *w)
		}
		kept++
	}
	if sm != nil {
		var ordered bool
		if wanted, ordered = sm.finish(); !ordered {
			return Plan{}, false
		}
	}
	if share {
		// Capped, so that an append to either never writes into the other.
		p.Target.Routes = want.Routes[:kept:kept]
	}
	if !addsInOrder {
		slices.SortFunc(changes[addsAt:], func(a, b Change) int { return compareRouteOrder(a.After.Route, b.After.Route, false) })
	}
	slices.SortStableFunc(ruleAdds, func(a, b Change) int { return CompareRules(a.After.Rule, b.After.Rule) })
	changes = append(changes, ruleAdds...)
	changes = append(changes, ruleDels...)
	delsAt := len(changes)
	changes = append(changes, earlyDels...)
	// As addsInOrder, for the deletes: gateway routes first, then in key
	// order, which a live list strictly in key order already is.
	delsInOrder, delConnected := len(earlyDels) == 0 && liveStrict, false
	for i := range live.Routes {
		l := &live.Routes[i]
		if l.Owned() && !wanted[i] {
			if c := deleteConflict(l); c != "" {
				p.Conflicts = append(p.Conflicts, Conflict{Text: c})
				continue
			}
			if o := l.Opaque(); len(o) > 0 {
				p.Conflicts = append(p.Conflicts, Conflict{Text: "nictab would delete it and could not restore it on undo: " + OpaqueReason(fmt.Sprintf("route %q", RouteString(l)), o)})
				continue
			}
			changes = append(changes, Change{Action: ChangeDelete, Before: Object{Route: l}, Reason: "no longer wanted"})
			if connected := !hasGateway(l); connected != delConnected {
				delsInOrder = delsInOrder && connected
				delConnected = true
			}
		}
	}
	if !delsInOrder {
		slices.SortFunc(changes[delsAt:], func(a, b Change) int { return compareRouteOrder(a.Before.Route, b.Before.Route, true) })
	}
	if changes = append(changes, nameDels...); len(changes) > 0 {
		// An empty plan's list stays nil, as it encodes.
		p.Changes = changes
	}
	slices.SortFunc(p.Target.Rules, func(a, b Rule) int { return CompareRules(&a, &b) })
	// The target keeps want's order, found sorted or not above.
	if !wantSorted {
		sortRoutes(p.Target.Routes)
	}
	return p, true
}

// compareRouteOrder puts routes without a gateway (connected routes) before
// routes with one, or after them when deleting.
func compareRouteOrder(a, b *Route, deleting bool) int {
	ga, gb := hasGateway(a), hasGateway(b)
	if ga != gb {
		if ga == deleting {
			return -1
		}
		return 1
	}
	return compareRouteKeys(a, b)
}

func hasGateway(r *Route) bool { return r.Gw.IsValid() || len(r.MultiPath) > 0 }

// selectorKey is a rule without priority, action, table and protocol: what
// it matches.
func selectorKey(r *Rule) string {
	c := *r
	c.Priority, c.Action, c.Table, c.Goto, c.Proto = 0, ActionLookup, 0, 0, 0
	// What nictab keeps verbatim is not part of what it knows the rule to
	// match; an opaque rule replaced must be found as replaced, and refused.
	c.Unmodelled = nil
	return RuleKey(&c)
}

func ruleReplaceReason(old, w *Rule) string {
	var parts []string
	if old.Table != w.Table {
		parts = append(parts, fmt.Sprintf("table %d → %d", old.Table, w.Table))
	}
	if old.Priority != w.Priority {
		parts = append(parts, fmt.Sprintf("priority %d → %d", old.Priority, w.Priority))
	}
	if len(parts) == 0 {
		return "changed"
	}
	return strings.Join(parts, ", ")
}

// fingerprintAside returns the function that gives Fingerprint(live).
// For a large state the fingerprint is made on another goroutine while
// the caller plans from live: both only read it, and the fingerprint of
// 100k routes (formatting, sorting and hashing them) was 25–40 ms of a
// rollback's plan.
func fingerprintAside(live State) func() string {
	if len(live.Routes) < fingerprintAsideMin || len(live.Routes) > fingerprintAsideMax {
		fp := Fingerprint(live)
		return func() string { return fp }
	}
	ch := make(chan string, 1)
	go func() { ch <- Fingerprint(live) }()
	return func() string { return <-ch }
}

// fingerprintAsideMin and fingerprintAsideMax bound the number of routes
// for which fingerprintAside uses another goroutine. Past the maximum the
// fingerprint's arena (64 bytes a route) would be live beside the plan's
// own allocations: a rollback of 1M routes peaked 60 MB higher.
const (
	fingerprintAsideMin = 4096
	fingerprintAsideMax = 256 << 10
)

// Fingerprint digests the parts of a state a plan depends on: links and
// their addresses (not their up/down state, which flaps without making a
// plan wrong, nor IPv6 link-local addresses), every rule, every route read, and nictab's names. Two states
// with the same fingerprint give the same plan.
func Fingerprint(s State) string {
	h := sha256.New()
	var b []byte
	for _, l := range s.Links {
		b = fmt.Appendf(b[:0], "link %d %s", l.Index, l.Name)
		for _, a := range l.Addrs {
			// IPv6 link-local addresses come and go with carrier (the
			// kernel adds them up to a second after a link comes up) and
			// never enter a plan.
			if a.Prefix.Addr().Is6() && a.Prefix.Addr().IsLinkLocalUnicast() {
				continue
			}
			b = fmt.Appendf(b, " %s", a.Prefix)
		}
		h.Write(append(b, '\n'))
	}
	for i := range s.Rules {
		h.Write([]byte("rule " + RuleKey(&s.Rules[i]) + "\n"))
	}
	hashRouteStrings(h, s.Routes)
	for _, t := range s.Names.OwnedTables() {
		b = fmt.Appendf(b[:0], "name %d %s\n", t.ID, t.Name)
		h.Write(b)
	}
	b = fmt.Appendf(b[:0], "complete %v owned %v\n", s.Complete, s.AllOwned)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:16])
}
