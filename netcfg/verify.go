package netcfg

import "fmt"

// VerifyTarget compares what nictab owns in s with a plan's target and
// describes every difference.
func VerifyTarget(s State, t Owned) []string {
	diffs, _ := verifyTarget(s, t, nil)
	return diffs
}

// verifyTarget is VerifyTarget, and whether nictab's routes among s are,
// in their order, each RouteIdentical to the target's of its place. walk,
// when not nil, is a wantedWalk of t's routes that s.Routes was read
// through (DetectOptions.Reading), most of its walk done already.
func verifyTarget(s State, t Owned, walk *wantedWalk) (diffs []string, identical bool) {
	diffs = verifyRules(s.Rules, t.Rules)
	if walk == nil {
		walk = newWantedWalk(t.Routes)
	}
	if ok, same := walk.result(s.Routes); ok {
		return diffs, same
	}
	if d, ok := verifyRoutesInOrder(s.Routes, t.Routes); ok {
		return append(diffs, d...), false
	}
	return append(diffs, verifyRoutes(s.Routes, t.Routes)...), false
}

// routesAsWanted reports whether nictab's routes among live are, in
// their order, each equal to the wanted route of its place, the wanted
// ones in strictly rising key order: the merge of verifyRoutesInOrder
// then finds nothing, and this finds it so without making a key of
// either side (RouteEqual compares every field of the key).
//
// NOTE: the read-back after a good apply is such a table. Making and
// comparing the live side's keys was half of its verify: 6.4–7.0 ms for
// 100k routes.
//
// identical is whether each of them is also RouteIdentical to it, as the
// snapshot of the read-back needs them to be to take the target's routes
// (snapshots): found in the same walk, the routes read once.
func routesAsWanted(live, want []Route) (ok, identical bool) {
	return newWantedWalk(want).result(live)
}

// wantedWalk is routesAsWanted's walk, taken a part at a time as the
// routes are read.
//
// NOTE: the read-back of 100k routes waits on the kernel's walk of its
// trie for 25–30 ms, and the decoding beside it for a third of that:
// walked as they come, the routes are checked in that wait, where the
// walk after the read was 4–5 ms.
type wantedWalk struct {
	want []Route
	// seen is how many live routes were walked, matched how many wanted
	// ones they matched; failed says one did not.
	seen, matched int
	failed        bool
	identical     bool
}

func newWantedWalk(want []Route) *wantedWalk { return &wantedWalk{want: want, identical: true} }

// walk walks the live routes it has not seen yet; fewer than it saw
// before are a read started again, walked from the start.
func (w *wantedWalk) walk(live []Route) {
	if len(live) < w.seen {
		*w = wantedWalk{want: w.want, identical: true}
	}
	for !w.failed && w.seen < len(live) {
		// Counted before it is compared: a read started again before a
		// route that failed walks it again.
		h := &live[w.seen]
		w.seen++
		if !h.Owned() {
			continue
		}
		i := w.matched
		if i == len(w.want) || (i > 0 && compareRouteKeys(&w.want[i-1], &w.want[i]) >= 0) {
			w.failed = true
			return
		}
		// Identical routes are equal: most are, and then compared once.
		if !RouteIdentical(h, &w.want[i]) {
			if !RouteEqual(h, &w.want[i]) {
				w.failed = true
				return
			}
			w.identical = false
		}
		w.matched++
	}
}

// result is routesAsWanted of live, walked on from where the walk is.
func (w *wantedWalk) result(live []Route) (ok, identical bool) {
	w.walk(live)
	ok = !w.failed && w.matched == len(w.want)
	return ok, ok && w.identical
}

// verifyRoutes describes the differences between nictab's routes among
// those read and the wanted ones.
func verifyRoutes(live, want []Route) []string {
	var diffs []string
	// Matched by a merge in key order, not maps: a table of 100k routes is
	// verified after every apply.
	match, wanted := matchRoutes(live, want)
	for i := range want {
		w := &want[i]
		var h *Route
		if j := match[i]; j >= 0 && live[j].Owned() {
			h = &live[j]
		}
		if h == nil || !RouteEqual(h, w) {
			got := "nothing"
			if h != nil {
				got = RouteString(h)
			}
			diffs = append(diffs, fmt.Sprintf("route %s is %s", RouteString(w), got))
		}
	}
	for i := range live {
		if r := &live[i]; r.Owned() && !wanted[i] {
			diffs = append(diffs, "unexpected route "+RouteString(r))
		}
	}
	return diffs
}

// verifyRoutesInOrder is verifyRoutes, the same differences in the same
// order, by one merge when nictab's routes among live and the wanted
// ones each come in strictly rising key order: a dump of IPv4 then IPv6
// routes of one table gives them so, and a target holds them so. It
// reports false, having found nothing, when they do not.
//
// NOTE: verifyRoutes sorts both sides (matchRoutes), 20–40 ms of the
// verify of a 100k-route table. Only nictab's routes can differ: a wanted
// route's partner is the route of nictab's with its key (there is at most
// one here), and a route of another owner never counts.
func verifyRoutesInOrder(live, want []Route) ([]string, bool) {
	var missing, unexpected []string
	j := -1 // live's current route of nictab's, len(live) past the last
	var lk RouteKey
	next := func() bool {
		prev, had := lk, j >= 0
		for j++; j < len(live); j++ {
			if live[j].Owned() {
				lk = live[j].Key()
				return !had || prev.Compare(lk) < 0
			}
		}
		return true
	}
	if !next() {
		return nil, false
	}
	var wk RouteKey
	for i := range want {
		w := &want[i]
		k := w.Key()
		if i > 0 && wk.Compare(k) >= 0 {
			return nil, false
		}
		wk = k
		for j < len(live) && lk.Compare(k) < 0 {
			unexpected = append(unexpected, "unexpected route "+RouteString(&live[j]))
			if !next() {
				return nil, false
			}
		}
		if j < len(live) && lk.Compare(k) == 0 {
			if h := &live[j]; !RouteEqual(h, w) {
				missing = append(missing, fmt.Sprintf("route %s is %s", RouteString(w), RouteString(h)))
			}
			if !next() {
				return nil, false
			}
			continue
		}
		missing = append(missing, fmt.Sprintf("route %s is nothing", RouteString(w)))
	}
	for j < len(live) {
		unexpected = append(unexpected, "unexpected route "+RouteString(&live[j]))
		if !next() {
			return nil, false
		}
	}
	return append(missing, unexpected...), true
}

// verifyRules describes the differences between nictab's rules among
// those read back and the target's: the rules of one that no rule of the
// other has the key of.
//
// NOTE: a key (RuleKey) takes microseconds to make, tens of ms for 10k
// rules. A rule identical in every field to one of the other side (of
// the same family and priority) has its key, so when every rule of each
// side has such a twin on the other the key sets are the same and there
// is nothing to describe; only otherwise are the keys made and compared.
// (TestRuleIdenticalSeesEveryField keeps ruleIdentical to every field.)
func verifyRules(read, want []Rule) []string {
	type slot struct {
		f Family
		p uint32
	}
	byPrio := make(map[slot][]int32, len(want))
	for i := range want {
		k := slot{want[i].Family, want[i].Priority}
		byPrio[k] = append(byPrio[k], int32(i))
	}
	twinned := make([]bool, len(want))
	all, owned := true, 0
	for i := 0; all && i < len(read); i++ {
		h := &read[i]
		if !h.Owned() {
			continue
		}
		owned++
		found := false
		for _, j := range byPrio[slot{h.Family, h.Priority}] {
			if !twinned[j] && ruleIdentical(h, &want[j]) {
				twinned[j], found = true, true
				break
			}
		}
		all = found
	}
	if all && owned == len(want) {
		return nil
	}
	var diffs []string
	have := make(map[string]bool, len(read))
	for i := range read {
		if read[i].Owned() {
			have[RuleKey(&read[i])] = true
		}
	}
	wanted := make(map[string]bool, len(want))
	for i := range want {
		k := RuleKey(&want[i])
		wanted[k] = true
		if !have[k] {
			diffs = append(diffs, "missing rule "+RuleString(&want[i]))
		}
	}
	for i := range read {
		if r := &read[i]; r.Owned() && !wanted[RuleKey(r)] {
			diffs = append(diffs, "unexpected rule "+RuleString(r))
		}
	}
	return diffs
}

// ruleIdentical reports whether two rules hold the same in every field,
// and no attribute nictab does not model.
func ruleIdentical(a, b *Rule) bool {
	return a.Family == b.Family && a.Priority == b.Priority && a.Not == b.Not &&
		a.From == b.From && a.To == b.To && a.IIF == b.IIF && a.OIF == b.OIF &&
		samePtr(a.Mark, b.Mark) && a.Tos == b.Tos && samePtr(a.UIDRange, b.UIDRange) &&
		a.IPProto == b.IPProto && samePtr(a.SPort, b.SPort) && samePtr(a.DPort, b.DPort) &&
		a.L3MDev == b.L3MDev && a.Action == b.Action && a.Table == b.Table && a.Goto == b.Goto &&
		a.SuppressPrefixLen == b.SuppressPrefixLen && a.SuppressIfgroup == b.SuppressIfgroup &&
		a.Proto == b.Proto && samePtr(a.DSCP, b.DSCP) && samePtr(a.FlowLabel, b.FlowLabel) &&
		a.TunID == b.TunID && a.Realms == b.Realms && a.Unresolved == b.Unresolved &&
		len(a.Unmodelled) == 0 && len(b.Unmodelled) == 0
}

func samePtr[T comparable](a, b *T) bool { return a == b || (a != nil && b != nil && *a == *b) }
