package netcfg

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestIdentityIndexAgrees: the plan matches routes by routeIdx, in key
// order, for speed; it must tell routes apart exactly as IdentityOf, the
// identity table's own words, does. A field that joins IdentityOf (the
// IPv6 source prefix) fails this until routeIdx has it too.
func TestIdentityIndexAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	routes := randomRoutes(rng, 400)
	for i := range routes {
		if routes[i].Family() == V6 {
			routes[i].Tos = 0 // the kernel refuses a tos on IPv6 routes
			if rng.IntN(3) == 0 {
				routes[i].From = netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 15: byte(rng.IntN(2))}), 64+rng.IntN(2)*64).Masked()
			}
		}
	}
	same := 0
	for i := range routes {
		for j := range routes {
			a, b := &routes[i], &routes[j]
			ka, kb := routeIdxOf(a), routeIdxOf(b)
			byIdx := compareIdx(&ka, &kb) == 0
			if byID := IdentityOf(a) == IdentityOf(b); byIdx != byID {
				t.Fatalf("%s and %s: same by index %v, by identity %v", RouteString(a), RouteString(b), byIdx, byID)
			}
			if byIdx && i != j {
				same++
			}
		}
	}
	if same == 0 {
		t.Fatal("no two routes shared an identity: the test compares nothing")
	}
}

// TestPlanDeletesOwnRouteBesideEqualForeign: found by the property test.
// When another owner's route already does what a wanted route would, and
// nictab's own route of that identity is different, nictab's goes (by an
// exact delete) instead of staying as an unexpected route.
func TestPlanDeletesOwnRouteBesideEqualForeign(t *testing.T) {
	ours, err := ParseRoute("default via 192.168.20.1 dev enp2s0 table 14 proto 201 scope global")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := ParseRoute("default via 192.168.10.1 dev eno1 table 14 proto 4 scope global")
	if err != nil {
		t.Fatal(err)
	}
	want := theirs
	want.Proto = ProtoNictab
	live := State{Routes: []Route{ours, theirs}, Complete: []uint32{14}, AllOwned: true}
	p := PlanChanges(live, Desired{Owned: Owned{Routes: []Route{want}}, Tables: []uint32{14}})
	if len(p.Changes) != 1 || p.Changes[0].Action != ChangeDelete || !RouteEqual(p.Changes[0].Before.Route, &ours) {
		t.Fatalf("changes %v; want nictab's route deleted", p.Changes)
	}
	if len(p.Notes) != 1 || len(p.Conflicts) != 0 {
		t.Errorf("notes %v, conflicts %v; want the foreign route noted", p.Notes, p.Conflicts)
	}
}
