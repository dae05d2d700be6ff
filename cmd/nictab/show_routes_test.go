package main

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/ui"
)

// TestRouteLinesIsRouteLine checks the streaming writer of `show --table`
// against ui.RouteLine, which the rest of nictab prints routes with, over
// routes that vary every field, with named and unnamed tables and
// protocols and device names that need escaping.
func TestRouteLinesIsRouteLine(t *testing.T) {
	names := &netcfg.Names{
		Tables: []netcfg.TableName{{ID: 13, Name: "vpn"}, {ID: 14, Name: "b\x1bd"}},
		Protos: []netcfg.ProtoName{{ID: 186, Name: "bgp"}},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	v4 := func() netip.Addr { return netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), byte(rng.IntN(256)), 1}) }
	v6 := func() netip.Addr { return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(rng.IntN(256))}) }
	devs := []string{"", "eth0", "e\x07vil", "wlan\\0"}
	lines := newRouteLines(names)
	for i := range 5000 {
		r := netcfg.Route{
			Table:  []uint32{13, 14, 99, netcfg.TableMain, netcfg.TableLocal}[rng.IntN(5)],
			Type:   netcfg.RouteType(rng.IntN(10)),
			Dev:    devs[rng.IntN(len(devs))],
			Scope:  []netcfg.Scope{netcfg.ScopeUniverse, netcfg.ScopeLink, netcfg.ScopeHost, 9}[rng.IntN(4)],
			Proto:  []uint8{0, netcfg.ProtoKernel, netcfg.ProtoNictab, 186, 99}[rng.IntN(5)],
			Metric: uint32(rng.IntN(3)) * 1024,
			Tos:    uint8(rng.IntN(2)) * 0x10,
			Onlink: rng.IntN(4) == 0,
		}
		switch rng.IntN(4) {
		case 0:
			r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		case 1:
			r.Dst = netip.PrefixFrom(v6(), 64)
		default:
			r.Dst = netip.PrefixFrom(v4(), 8+rng.IntN(25)).Masked()
		}
		switch rng.IntN(3) {
		case 0:
			r.Gw = v4()
		case 1:
			r.MultiPath = []netcfg.NextHop{{Gw: v6(), Dev: devs[rng.IntN(len(devs))], Weight: rng.IntN(4)}, {Dev: "eth0", Onlink: true}}
		}
		if rng.IntN(3) == 0 {
			r.Src = v4()
		}
		if got, want := string(lines.append(nil, &r)), ui.RouteLine(&r, names); got != want {
			t.Fatalf("route %d:\n got %q\nwant %q", i, got, want)
		}
	}
}
