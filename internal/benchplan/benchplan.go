// Package benchplan holds the plans the printout benchmarks of ui and
// cmd/nictab share.
package benchplan

import (
	"net/netip"

	"github.com/nictab/nictab/netcfg"
)

// Routes100k is the plan of `nictab plan -f` for 100k routes of one
// table, one `{table: 100, to: …/26, via: 10.0.0.2, dev: sc0}` each, into
// an empty table.
func Routes100k() netcfg.Plan {
	const n = 100_000
	gw := netip.MustParseAddr("10.0.0.2")
	routes := make([]netcfg.Route, n)
	p := netcfg.Plan{Changes: make([]netcfg.Change, n)}
	for i := range routes {
		a := 0x14000000 + uint32(i)<<6
		routes[i] = netcfg.Route{
			Table: 100, Type: netcfg.RouteUnicast, Gw: gw, Dev: "sc0", Proto: netcfg.ProtoNictab, Scope: netcfg.ScopeUniverse,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), 26),
		}
		p.Changes[i] = netcfg.Change{Action: netcfg.ChangeAdd, After: netcfg.Object{Route: &routes[i]}, Reason: "table 100 needs it"}
	}
	return p
}

// RoutesDeleted100k is the plan of the `nictab rollback` that takes
// Routes100k's routes away again: each one deleted, as read from the
// kernel.
func RoutesDeleted100k() netcfg.Plan {
	p := Routes100k()
	for i := range p.Changes {
		c := &p.Changes[i]
		c.Action, c.Before, c.After, c.Reason = netcfg.ChangeDelete, c.After, netcfg.Object{}, "not in the snapshot"
	}
	return p
}
