package netcfg

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// TestRouteTailsAsRouteString: the text of a route made from the cached
// text of an earlier route's tail is the route's own, on routes drawn from
// a few tails (so the cache is hit, missed and overwritten) and from
// randomRoutes' many.
func TestRouteTailsAsRouteString(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 7))
	tails := randomRoutes(rng, 7)
	rs := randomRoutes(rng, 3000)
	for i := range 6000 {
		r := tails[rng.IntN(len(tails))]
		r.Dst = netip.PrefixFrom(netip.AddrFrom4([4]byte{20, byte(i >> 8), byte(i), 0}), 24)
		if r.Family() != FamilyOf(r.Dst.Addr()) || rng.IntN(5) == 0 {
			r.Dst = rs[i%len(rs)].Dst
		}
		rs = append(rs, r)
	}
	var tc routeTails
	for i := range rs {
		if got, want := string(tc.appendRouteString(nil, &rs[i])), RouteString(&rs[i]); got != want {
			t.Fatalf("route %d: %q, RouteString %q", i, got, want)
		}
	}
}

// TestPlanRouteChangesInOrder: PlanChanges leaves its route adds and
// replaces, and its route deletes, unsorted only when they are in the
// order their sort gives already; then the sort, which moves nothing in a
// sorted list, gives the same plan. Random live and wanted routes, in key
// order or not, connected and gateway routes mixed.
func TestPlanRouteChangesInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 8))
	for trial := range 400 {
		live := randomRoutes(rng, rng.IntN(60))
		for i := range live {
			if rng.IntN(4) > 0 {
				live[i].Proto = ProtoNictab
			}
			live[i].Dst = live[i].Dst.Masked()
		}
		want := randomRoutes(rng, rng.IntN(60))
		for i := range want {
			want[i].Proto = ProtoNictab
			want[i].Dst = want[i].Dst.Masked()
			if rng.IntN(2) == 0 && len(live) > 0 {
				want[i] = live[rng.IntN(len(live))]
				want[i].Proto = ProtoNictab
				if rng.IntN(2) == 0 {
					want[i].Dev = "eth0"
				}
			}
		}
		if rng.IntN(3) > 0 {
			sortRoutes(live)
		}
		if rng.IntN(3) > 0 {
			sortRoutes(want)
		}
		st := State{Routes: live, Complete: []uint32{100, 101, 102}, AllOwned: true}
		p := PlanChanges(st, Desired{Owned: Owned{Routes: want}, Tables: []uint32{100, 101, 102}})
		for i := 0; i < len(p.Changes); {
			j := i
			for j < len(p.Changes) && p.Changes[j].Subject().Route != nil && (p.Changes[j].Action == ChangeDelete) == (p.Changes[i].Action == ChangeDelete) {
				j++
			}
			if j == i {
				i++
				continue
			}
			deleting := p.Changes[i].Action == ChangeDelete
			seg := p.Changes[i:j]
			sorted := slices.Clone(seg)
			slices.SortFunc(sorted, func(a, b Change) int {
				return compareRouteOrder(a.Subject().Route, b.Subject().Route, deleting)
			})
			for k := range seg {
				if seg[k].Subject().Route != sorted[k].Subject().Route {
					t.Fatalf("trial %d: route changes %d–%d (deleting %v) are not as their sort leaves them: %v", trial, i, j, deleting, seg)
				}
			}
			i = j
		}
	}
}
