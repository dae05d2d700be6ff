package netcfg_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// planRoutes returns n IPv4 /24 routes of table, owned by nictab, in
// ascending key order, each through one of two gateways.
func planRoutes(n int, table uint32) []netcfg.Route {
	gws := []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")}
	out := make([]netcfg.Route, n)
	for i := range out {
		a := 0x20000000 + uint32(i)<<8
		out[i] = netcfg.Route{
			Table: table,
			Type:  netcfg.RouteUnicast,
			Dst:   netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24),
			Gw:    gws[i%2],
			Dev:   "eth0",
			Proto: netcfg.ProtoNictab,
		}
	}
	return out
}

// BenchmarkPlanRoutes100k plans 100k desired routes against 100k live ones
// of the same table, with none, 1% and every route changed. allocs/op
// follows the number of changes; the plan's Target shares the desired
// routes when it leaves none out, so the bytes are the fingerprint's
// arena, the match lists and the changes.
func BenchmarkPlanRoutes100k(b *testing.B) {
	const n, table = 100_000, 100
	live := netcfg.State{
		Links:    []netcfg.Link{{Index: 2, Name: "eth0", Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/16")}}}},
		Routes:   planRoutes(n, table),
		Complete: []uint32{table},
		AllOwned: true,
	}
	for _, changed := range []int{0, n / 100, n} {
		want := planRoutes(n, table)
		for i := 0; i < changed; i++ {
			// Every third changed route moves to the other gateway, the
			// others leave and are replaced by new prefixes.
			j := i * (n / changed)
			if i%3 == 0 {
				want[j].Gw = live.Routes[(j+1)%n].Gw
			} else {
				want[j].Dst = netip.PrefixFrom(want[j].Dst.Addr(), 25)
			}
		}
		d := netcfg.Desired{Owned: netcfg.Owned{Routes: want}, Tables: []uint32{table}}
		b.Run(fmt.Sprintf("changed=%d", changed), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				p := netcfg.PlanChanges(live, d)
				if len(p.Target.Routes) != n {
					b.Fatalf("target holds %d routes, want %d", len(p.Target.Routes), n)
				}
			}
		})
	}
}

// BenchmarkFingerprint100k fingerprints a state of 100k routes, as a
// rollback's plan does for the live state it deletes them from.
func BenchmarkFingerprint100k(b *testing.B) {
	live := netcfg.State{
		Links:    []netcfg.Link{{Index: 2, Name: "eth0", Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/16")}}}},
		Routes:   planRoutes(100_000, 100),
		Complete: []uint32{100},
		AllOwned: true,
	}
	b.ReportAllocs()
	for range b.N {
		netcfg.Fingerprint(live)
	}
}

// BenchmarkPlanDeleteAll100k plans a rollback to an empty snapshot: 100k
// live routes of nictab's, none wanted.
func BenchmarkPlanDeleteAll100k(b *testing.B) {
	const n, table = 100_000, 100
	live := netcfg.State{
		Links:    []netcfg.Link{{Index: 2, Name: "eth0", Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/16")}}}},
		Routes:   planRoutes(n, table),
		Complete: []uint32{table},
		AllOwned: true,
	}
	d := netcfg.Desired{Tables: []uint32{table}}
	b.ReportAllocs()
	for range b.N {
		p := netcfg.PlanChanges(live, d)
		if len(p.Changes) != n {
			b.Fatalf("%d changes, want %d", len(p.Changes), n)
		}
	}
}

// BenchmarkWatchedPlanDeleteAll100k is BenchmarkPlanDeleteAll100k as the
// CLI's rollback plans, from a Watched state: the Prior is not made
// until read, and a quiet monitor's apply never reads it.
func BenchmarkWatchedPlanDeleteAll100k(b *testing.B) {
	const n, table = 100_000, 100
	live := netcfg.State{
		Links:    []netcfg.Link{{Index: 2, Name: "eth0", Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/16")}}}},
		Routes:   planRoutes(n, table),
		Complete: []uint32{table},
		AllOwned: true,
	}
	d := netcfg.Desired{Tables: []uint32{table}}
	b.ReportAllocs()
	for range b.N {
		w := &netcfg.Watched{State: live}
		if p := w.Plan(d); len(p.Changes) != n {
			b.Fatalf("%d changes, want %d", len(p.Changes), n)
		}
	}
}
