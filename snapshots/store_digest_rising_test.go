package snapshots

import (
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// recordsDigestSorting is recordsDigest as it was before routes in key
// order were written as they come: every key listed, sorted, compacted.
func recordsDigestSorting(rules []netcfg.Rule, routes []netcfg.Route, owned bool) string {
	h := newRecordsHash(rules, owned)
	keys := make([]netcfg.RouteKey, 0, len(routes))
	for i := range routes {
		if !owned || routes[i].Owned() {
			keys = append(keys, routes[i].Key())
		}
	}
	slices.SortFunc(keys, func(a, b netcfg.RouteKey) int { return a.Compare(b) })
	var b []byte
	for _, k := range slices.Compact(keys) {
		b = writeRouteKey(h, b, &k)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func TestRecordsDigestOfRisingKeysAsSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 18))
	route := func() netcfg.Route {
		r := netcfg.Route{Table: 100 + uint32(rng.IntN(3)), Proto: netcfg.ProtoNictab, Metric: uint32(rng.IntN(2))}
		if rng.IntN(4) == 0 {
			r.Proto = 3
		}
		if rng.IntN(3) == 0 {
			a := [16]byte{0xfd, 0, byte(rng.IntN(4))}
			r.Dst = netip.PrefixFrom(netip.AddrFrom16(a), 48+rng.IntN(2)*16)
			if rng.IntN(2) == 0 {
				r.From = netip.MustParsePrefix("2001:db8::/32")
			}
		} else {
			r.Dst = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(4)), 0}), 16+rng.IntN(3)*4).Masked()
			r.Tos = uint8(rng.IntN(2)) * 4
		}
		return r
	}
	rules := []netcfg.Rule{{Family: netcfg.V4, Priority: 1000, Table: 100, Proto: netcfg.ProtoNictab}, {Family: netcfg.V4, Priority: 5, Table: 7}}
	for n := range 400 {
		routes := make([]netcfg.Route, rng.IntN(40))
		for i := range routes {
			routes[i] = route()
		}
		switch n % 3 {
		case 0: // in key order, repeats kept
			slices.SortStableFunc(routes, func(a, b netcfg.Route) int { return a.Key().Compare(b.Key()) })
		case 1: // strictly rising: the path that writes them as they come
			slices.SortStableFunc(routes, func(a, b netcfg.Route) int { return a.Key().Compare(b.Key()) })
			routes = slices.CompactFunc(routes, func(a, b netcfg.Route) bool { return a.Key() == b.Key() })
		}
		for _, owned := range []bool{false, true} {
			if got, want := recordsDigest(rules, routes, owned), recordsDigestSorting(rules, routes, owned); got != want {
				t.Fatalf("case %d (owned %v): digest %s, want %s for %v", n, owned, got, want, routes)
			}
		}
	}
}
