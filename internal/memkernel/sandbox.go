//go:build linux

package memkernel

import (
	"fmt"
	"net/netip"

	"github.com/nictab/nictab/internal/sandbox"
	"github.com/nictab/nictab/netcfg"
)

// Sandbox returns a namespace shaped like sandbox.Create's: lo,
// and each of sandbox.NICs up with its addresses, the routes the
// kernel adds for them, and main's default routes through the gateways.
func Sandbox() *Kernel {
	k := New()
	k.AddLink(netcfg.Link{Name: "lo", OperState: "unknown", Up: true, Carrier: true, MTU: 65536, Loopback: true,
		Addrs: []netcfg.Addr{
			{Prefix: netip.MustParsePrefix("127.0.0.1/8"), Scope: netcfg.ScopeHost},
			{Prefix: netip.MustParsePrefix("::1/128"), Scope: netcfg.ScopeHost},
		}})
	k.addLocal("lo", netip.MustParsePrefix("127.0.0.1/8"))
	k.addLocal("lo", netip.MustParsePrefix("::1/128"))
	for i, n := range sandbox.NICs {
		ll := netip.MustParsePrefix(fmt.Sprintf("fe80::2%d/64", i))
		k.AddLink(netcfg.Link{Name: n.Name, Kind: "veth", OperState: "up", Up: true, Carrier: true,
			MAC: fmt.Sprintf("02:00:00:00:00:%02x", i+2), MTU: 1500,
			Addrs: []netcfg.Addr{
				{Prefix: n.Addr4, Scope: netcfg.ScopeUniverse},
				{Prefix: n.Addr6, Scope: netcfg.ScopeUniverse},
				{Prefix: ll, Scope: netcfg.ScopeLink},
			}})
		k.addLocal(n.Name, n.Addr4)
		k.addLocal(n.Name, n.Addr6)
		k.addLocal(n.Name, ll)
	}
	for _, n := range sandbox.NICs {
		k.mustForeign(
			netcfg.Op{Kind: netcfg.OpAddRoute, Route: &netcfg.Route{Table: netcfg.TableMain, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: n.Gw4.Addr(), Dev: n.Name, Proto: netcfg.ProtoDHCP, Metric: n.DefaultMetric}},
			netcfg.Op{Kind: netcfg.OpAddRoute, Route: &netcfg.Route{Table: netcfg.TableMain, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("::/0"), Gw: n.Gw6.Addr(), Dev: n.Name, Proto: netcfg.ProtoRA, Metric: n.DefaultMetric}},
		)
	}
	k.log = nil
	return k
}

// addLocal adds the routes the kernel adds with an address: the local
// route in table local and, except on lo, the prefix route in main.
func (k *Kernel) addLocal(dev string, p netip.Prefix) {
	a := p.Addr()
	host := netip.PrefixFrom(a, a.BitLen())
	local := netcfg.Route{Table: netcfg.TableLocal, Type: netcfg.RouteLocal, Dst: host, Dev: dev, Proto: netcfg.ProtoKernel, Scope: netcfg.ScopeHost}
	if a.Is4() {
		local.Src = a
	} else {
		local.Scope = netcfg.ScopeUniverse
	}
	k.routes = append(k.routes, local)
	if dev == "lo" {
		return
	}
	conn := netcfg.Route{Table: netcfg.TableMain, Type: netcfg.RouteUnicast, Dst: p.Masked(), Dev: dev, Proto: netcfg.ProtoKernel, Scope: netcfg.ScopeLink}
	if a.Is4() {
		conn.Src = a
	} else {
		conn.Scope, conn.Metric = netcfg.ScopeUniverse, 256
	}
	for _, r := range k.routes {
		if netcfg.RouteEqual(&r, &conn) {
			return
		}
	}
	k.routes = append(k.routes, conn)
}

func (k *Kernel) mustForeign(ops ...netcfg.Op) {
	if err := k.Foreign(ops...); err != nil {
		panic("memkernel sandbox: " + err.Error())
	}
}
