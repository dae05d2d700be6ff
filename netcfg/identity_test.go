package netcfg

import (
	"math/rand/v2"
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
