package netcfg

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

// keyOrderStrict is keyOrder, and reports whether routes are in strictly
// ascending key order as they are: then no two share a key up to the
// metric, where alone compareIdx and compareRouteKeys can disagree, and
// routesSorted(routes) holds without comparing them again.
func keyOrderStrict(routes []Route) ([]routeIdx, []int32, bool) {
	keys, order, runs := keyRuns(routes)
	strict := len(runs) == 0
	for i := 0; strict && i < len(order); i++ {
		strict = order[i] == int32(i)
	}
	return keys, order, strict
}

// routeSharers is how the plan found, before matchKeyed: it returns, for each wanted route, the first live route of its
// identity that nictab does not own (-1 for none) and how many live routes
// of its identity nictab owns: a merge of both lists in key order, as
// matchRoutes does, of lists whose keyOrder is known.
func routeSharers(live []Route, lk []routeIdx, lo []int32, wk []routeIdx, wo []int32) (foreign, owned []int32) {
	foreign = make([]int32, len(wk))
	owned = make([]int32, len(wk))
	i := 0
	for j := 0; j < len(wo); {
		k := &wk[wo[j]]
		for i < len(lo) && compareIdx(&lk[lo[i]], k) < 0 {
			i++
		}
		f, n := int32(-1), int32(0)
		for i2 := i; i2 < len(lo) && compareIdx(&lk[lo[i2]], k) == 0; i2++ {
			if live[lo[i2]].Owned() {
				n++
			} else if f < 0 {
				f = lo[i2]
			}
		}
		for ; j < len(wo) && compareIdx(&wk[wo[j]], k) == 0; j++ {
			foreign[wo[j]], owned[wo[j]] = f, n
		}
	}
	return foreign, owned
}

// keyedCases returns pairs of live and wanted route lists for
// TestMatchKeyedAsBefore: random lists with keys that collide (both
// sorted or not), lists strictly in key order, and wanted lists made from
// the live one, some routes another owner's, some changed, some left out.
func keyedCases(rng *rand.Rand, c int) (live, want []Route) {
	n := rng.IntN(600)
	gen := sortCaseRoutes
	if c%2 == 1 {
		gen = narrowCaseRoutes
	}
	live = gen(rng, n)
	switch c % 5 {
	case 0:
		want = gen(rng, rng.IntN(600))
	default:
		for i := range live {
			if rng.IntN(4) == 0 {
				continue
			}
			w := live[i]
			w.Proto = ProtoNictab
			switch rng.IntN(5) {
			case 0:
				w.Metric++
			case 1:
				w.Gw = netip.MustParseAddr("10.0.0.9")
			}
			want = append(want, w)
		}
		if rng.IntN(3) == 0 {
			want = append(want, gen(rng, rng.IntN(50))...)
		}
	}
	strict := func(rs []Route) []Route {
		slices.SortStableFunc(rs, func(a, b Route) int { return compareRouteKeys(&a, &b) })
		return slices.CompactFunc(rs, func(a, b Route) bool {
			ka, kb := routeIdxOf(&a), routeIdxOf(&b)
			return compareIdx(&ka, &kb) >= 0 || sameIdxHead(&ka, &kb)
		})
	}
	if c%3 != 0 {
		live = strict(live)
	}
	if c%4 != 0 {
		want = strict(want)
	}
	return live, want
}

// TestMatchKeyedAsBefore requires keyed and matchKeyed to give what
// keyOrderStrict, matchOrdered and routeSharers gave, for lists kept with
// their keys and, when strict, without them.
func TestMatchKeyedAsBefore(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 1500))
	stricts, shared := 0, 0
	for c := range 400 {
		live, want := keyedCases(rng, c)
		lk, lo, ls := keyOrderStrict(live)
		wk, wo, ws := keyOrderStrict(want)
		match, wanted := matchOrdered(live, lk, lo, wk, wo)
		foreign, owned := routeSharers(live, lk, lo, wk, wo)

		gl, gls := keyed(live)
		gw, gws := keyed(want)
		if gls != ls || gws != ws {
			t.Fatalf("case %d: keyed says strict %v, %v; keyOrderStrict %v, %v", c, gls, gws, ls, ws)
		}
		if ls {
			stricts++
		}
		kept := []keyedRoutes{{routes: live, keys: lk, order: lo}, gl}
		wkept := []keyedRoutes{{routes: want, keys: wk, order: wo}, gw}
		check := func(how string, m, f, o []int32, wd []bool) {
			t.Helper()
			if m == nil {
				m, f, o = unmatched(len(want))
			}
			if !slices.Equal(m, match) || !slices.Equal(f, foreign) || !slices.Equal(o, owned) || !slices.Equal(wd, wanted) {
				t.Fatalf("case %d (%d live, %d wanted, strict %v %v): %s gave\n%v %v %v %v\nwant\n%v %v %v %v", c, len(live), len(want), ls, ws, how, m, f, o, wd, match, foreign, owned, wanted)
			}
		}
		for _, l := range kept {
			for _, w := range wkept {
				m, f, o, wd, ordered := matchKeyed(&l, &w)
				if !ordered {
					t.Fatalf("case %d: matchKeyed of lists with their key orders says they are out of order", c)
				}
				check("matchKeyed", m, f, o, wd)
			}
		}
		m, f, o, wd, pls, pws := matchPlanned(live, want)
		if pls != ls || pws != ws {
			t.Fatalf("case %d: matchPlanned says strict %v, %v; keyOrderStrict %v, %v", c, pls, pws, ls, ws)
		}
		check("matchPlanned", m, f, o, wd)
		for _, j := range match {
			if j >= 0 {
				shared++
			}
		}
	}
	if stricts == 0 || shared == 0 {
		t.Fatalf("%d strict live lists and %d matched routes: a path went untried", stricts, shared)
	}
}

// TestStreamPlanAsKeyed requires a plan whose routes are matched as it
// goes (streamMatch) to be the plan matched beforehand, whenever the
// former holds, for lists of routes in and out of key order, with
// routes of other owners, changed and missing ones.
func TestStreamPlanAsKeyed(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 1501))
	held, refused, remarks, replaces := 0, 0, 0, 0
	for c := range 400 {
		live, want := keyedCases(rng, c)
		if c%3 == 1 && len(live) > 0 {
			// Few live routes, as when a table is filled.
			live = live[:rng.IntN(min(len(live), 8))]
		}
		tables := []uint32{0, 1, 100, 254, 1 << 24, 4294967295}
		ls := State{Routes: live, Complete: tables, AllOwned: true}
		d := Desired{Owned: Owned{Routes: want}, Tables: tables}
		byStream, ok := planChangesBy(ls, d, true)
		keyed, _ := planChangesBy(ls, d, false)
		if !ok {
			refused++
			continue
		}
		held++
		remarks += len(keyed.Notes) + len(keyed.Conflicts)
		for _, ch := range keyed.Changes {
			if ch.Action == ChangeReplace {
				replaces++
			}
		}
		if !reflect.DeepEqual(byStream, keyed) {
			t.Fatalf("case %d (%d live, %d wanted): plans differ:\nstream %+v\nkeyed  %+v", c, len(live), len(want), byStream, keyed)
		}
	}
	if held == 0 || refused == 0 || remarks == 0 || replaces == 0 {
		t.Fatalf("stream held %d times, refused %d; %d notes and conflicts, %d replaces: a path went untried", held, refused, remarks, replaces)
	}
	t.Logf("stream held %d times, refused %d; %d notes and conflicts, %d replaces", held, refused, remarks, replaces)
}
