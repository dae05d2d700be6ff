package snapshots

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// TestOwnedRecordsDigestAsRecordsDigest holds the digest of a live
// state's owned identities, made in place, to the one of their sorted
// copy, on random states: sorted or not, with duplicates, foreign routes
// and rules, IPv6 source prefixes, tos and metrics.
func TestOwnedRecordsDigestAsRecordsDigest(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 5))
	addr := func() netip.Addr {
		if rng.IntN(3) == 0 {
			var b [16]byte
			b[0], b[1], b[15] = 0x20, 0x01, byte(rng.IntN(4))
			return netip.AddrFrom16(b)
		}
		return netip.AddrFrom4([4]byte{10, byte(rng.IntN(3)), byte(rng.IntN(4)), 0})
	}
	for trial := range 2000 {
		n := rng.IntN(40)
		var routes []netcfg.Route
		for range n {
			a := addr()
			r := netcfg.Route{Table: uint32(100 + rng.IntN(2)), Type: netcfg.RouteUnicast, Dst: netip.PrefixFrom(a, a.BitLen()-8*rng.IntN(3)).Masked(), Dev: "eno1", Proto: netcfg.ProtoNictab}
			if rng.IntN(5) == 0 {
				r.Proto = 4
			}
			if rng.IntN(6) == 0 {
				r.Metric = uint32(rng.IntN(3))
			}
			if rng.IntN(8) == 0 {
				r.Tos = 0x10
			}
			if a.Is6() && rng.IntN(4) == 0 {
				r.From = netip.PrefixFrom(addr(), 64).Masked()
			}
			routes = append(routes, r)
		}
		if rng.IntN(2) == 0 {
			slices.SortStableFunc(routes, func(a, b netcfg.Route) int { return netcfg.CompareRouteKeys(&a, &b) })
		}
		var rules []netcfg.Rule
		for range rng.IntN(4) {
			r := netcfg.NewRule()
			r.Family, r.Priority, r.Table = netcfg.V4, uint32(1000+rng.IntN(3)), 100
			if rng.IntN(3) == 0 {
				r.Proto = netcfg.ProtoNictab
			}
			rules = append(rules, r)
		}
		live := netcfg.State{Rules: rules, Routes: routes}
		if got, want := ownedRecordsDigest(&live), recordsDigest(rules, routes, true); got != want {
			t.Fatalf("trial %d: digest %s, want %s, of %v", trial, got, want, routes)
		}
	}
}

// BenchmarkOwnedRecordsDigest100k digests the identities of 100k owned
// routes in key order, as a rollback's live state holds them, the plain
// way (recordsDigest) and in place (ownedRecordsDigest).
func BenchmarkOwnedRecordsDigest100k(b *testing.B) {
	routes := make([]netcfg.Route, 100_000)
	for i := range routes {
		a := 0x20000000 + uint32(i)<<8
		routes[i] = netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24),
			Gw: netip.MustParseAddr("10.0.0.2"), Dev: "eth0", Proto: netcfg.ProtoNictab}
	}
	live := netcfg.State{Routes: routes}
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			recordsDigest(live.Rules, live.Routes, true)
		}
	})
	b.Run("in-place", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			ownedRecordsDigest(&live)
		}
	})
}
