package netcfg

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// restartingReader serves routes, table by table in their order; the
// first read of each table stops part way with ErrDumpInterrupted after
// other routes, as a dump the kernel changed under does.
type restartingReader struct {
	rng    *rand.Rand
	routes []Route
	other  []Route
	tried  map[uint32]bool
	// restarts counts the reads stopped part way.
	restarts int
}

func (r *restartingReader) Links() ([]Link, error) { return nil, nil }
func (r *restartingReader) Rules() ([]Rule, error) { return nil, nil }

func (r *restartingReader) Routes(q RouteQuery, fn func(*Route) error) error {
	serve := r.routes
	interrupt := !r.tried[q.Table] && r.rng.IntN(3) > 0
	r.tried[q.Table] = true
	if interrupt {
		serve = r.other
		r.restarts++
	}
	for i := range serve {
		if serve[i].Table != q.Table {
			continue
		}
		if interrupt && r.rng.IntN(len(serve)) == 0 {
			return ErrDumpInterrupted
		}
		rt := serve[i]
		if err := fn(&rt); err != nil {
			return err
		}
	}
	if interrupt {
		return ErrDumpInterrupted
	}
	return nil
}

// TestWantedWalkAsReadIsTheWalkAfter holds the read-back's check taken as
// the routes come (DetectOptions.Reading) to the same check of the routes
// read: on random tables larger than readingEvery, read through dumps
// that stop part way and start again after other routes, the walk says
// what routesAsWanted says of the result.
func TestWantedWalkAsReadIsTheWalkAfter(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	asWanted, restarted := 0, 0
	for round := range 300 {
		live := byTable(randomRoutes(rng, rng.IntN(6*readingEvery)))
		var want []Route
		for _, r := range live {
			if r.Owned() {
				want = append(want, r)
			}
		}
		if rng.IntN(3) == 0 && len(live) > 0 {
			want = slices.Clone(want)
			mismatch(rng, &live, &want)
		}
		// What a restarted dump gave first: the same routes with one
		// changed, or others.
		other := slices.Clone(live)
		if len(other) > 0 {
			if rng.IntN(2) == 0 {
				other[rng.IntN(len(other))].Metric += 7
			} else {
				other = byTable(randomRoutes(rng, len(live)))
			}
		}
		rd := &restartingReader{rng: rng, routes: live, other: other, tried: map[uint32]bool{}}
		walk := newWantedWalk(want)
		calls := 0
		s, err := Detect(rd, Names{}, DetectOptions{Tables: []uint32{100, 101, 102}, NoMainDefaults: true, Reading: func(rs []Route) {
			calls++
			walk.walk(rs)
		}})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if s.reading != nil {
			t.Fatalf("round %d: the state Detect returned still reads", round)
		}
		// Served table by table in the order the mismatch left them.
		live = slices.Clone(live)
		slices.SortStableFunc(live, func(a, b Route) int { return cmpU32(a.Table, b.Table) })
		if !slices.EqualFunc(s.Routes, live, func(a, b Route) bool { return RouteIdentical(&a, &b) }) {
			i := 0
			for i < min(len(s.Routes), len(live)) && RouteIdentical(&s.Routes[i], &live[i]) {
				i++
			}
			cnt := func(rs []Route) map[uint32]int {
				m := map[uint32]int{}
				for _, r := range rs {
					m[r.Table]++
				}
				return m
			}
			t.Fatalf("round %d: Detect read %d routes %v, the tables hold %d %v; restarts %d, the first that differs at %d", round, len(s.Routes), cnt(s.Routes), len(live), cnt(live), rd.restarts, i)
		}
		if len(live) > readingEvery && calls < len(live)/readingEvery {
			t.Fatalf("round %d: Reading was called %d times for %d routes", round, calls, len(live))
		}
		gotOK, gotSame := walk.result(s.Routes)
		wantOK, wantSame := routesAsWanted(s.Routes, want)
		if gotOK != wantOK || gotSame != wantSame {
			t.Fatalf("round %d: the walk as read says (%v, %v), the walk after (%v, %v)", round, gotOK, gotSame, wantOK, wantSame)
		}
		if wantOK {
			asWanted++
		}
		if rd.restarts > 0 {
			restarted++
		}
	}
	if asWanted < 50 || asWanted > 280 || restarted < 100 {
		t.Errorf("%d of 300 rounds read as wanted, %d read again: the test says little", asWanted, restarted)
	}
}

// byTable is rs in the order Detect reads them, table by table, each in
// key order, one route a key: a table as the kernel holds it.
func byTable(rs []Route) []Route {
	keySort(rs)
	slices.SortStableFunc(rs, func(a, b Route) int { return cmpU32(a.Table, b.Table) })
	return slices.CompactFunc(rs, func(a, b Route) bool { return compareRouteKeys(&a, &b) == 0 })
}
