//go:build linux

package kernel_test

import (
	"net/netip"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// The scale tests and benchmarks share one shape of namespace: a veth pair
// whose first end, sc0, holds 10.0.0.1/16 and fd00::1/64, so 10.0.0.2 and
// fd00::2 are on-link gateways and 10.1.0.1 is not.
const (
	scaleDev = "sc0"
	scaleGw  = "10.0.0.2"
)

func scaleNS(tb testing.TB) *nstest.NS {
	tb.Helper()
	ns := nstest.New(tb)
	ns.Veth(scaleDev, "sc0p", "10.0.0.1/16", "fd00::1/64")
	return ns
}

// scaleRoutes returns n distinct IPv4 /24 routes of table via the on-link
// gateway, owned by nictab, in the form the kernel reads them back.
//
// NOTE: the prefixes are scattered over the unicast space, as a policy
// table built from real prefix lists is. n /24s packed into one block are
// a worst case of the kernel's own: deleting from a trie node with many
// children rescans them (update_suffix), about 8 µs a route whoever sends
// the request.
func scaleRoutes(n int, table uint32) []netcfg.Route {
	gw := netip.MustParseAddr(scaleGw)
	out := make([]netcfg.Route, 0, n)
	for i := uint32(0); len(out) < n; i++ {
		a := scatter24(i)
		if a>>24 == 10 || a>>24 == 127 {
			continue
		}
		out = append(out, netcfg.Route{
			Table: table,
			Type:  netcfg.RouteUnicast,
			Dst:   netip.PrefixFrom(v4At(a), 24),
			Gw:    gw,
			Dev:   scaleDev,
			Proto: netcfg.ProtoNictab,
		})
	}
	return out
}

// scatter24 maps i to a /24 of 1.0.0.0–221.255.255.0, one to one for every
// i below 2^24·220/256: the multiplier is odd and prime to 5 and 11.
func scatter24(i uint32) uint32 {
	const span = 220 << 16 // /24s from 1.0.0.0 up to 222.0.0.0
	return 1<<24 + uint32(uint64(i)*2654435761%span)<<8
}

func v4At(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

func openScale(tb testing.TB, ns *nstest.NS) netcfg.Kernel {
	tb.Helper()
	k, err := kernel.Open(ns.Name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close() })
	return k
}

func scaleNames(ns *nstest.NS) func() netcfg.Names {
	return func() netcfg.Names { return netcfg.LoadNames(netcfg.DefaultNamePaths(ns.Name)) }
}

// planTo plans the move from what the namespace holds now to routes in
// table.
func planTo(tb testing.TB, k netcfg.Kernel, names func() netcfg.Names, table uint32, routes []netcfg.Route) netcfg.Plan {
	tb.Helper()
	live, err := netcfg.Detect(k, names(), netcfg.DetectOptions{Tables: []uint32{table}, Owned: true})
	if err != nil {
		tb.Fatal(err)
	}
	return netcfg.PlanChanges(live, netcfg.Desired{Owned: netcfg.Owned{Routes: routes}, Tables: []uint32{table}})
}

// addRouteOps is an op adding each of routes, in their order.
func addRouteOps(routes []netcfg.Route) []netcfg.Op {
	ops := make([]netcfg.Op, len(routes))
	for i := range routes {
		ops[i] = netcfg.Op{Kind: netcfg.OpAddRoute, Route: &routes[i]}
	}
	return ops
}
