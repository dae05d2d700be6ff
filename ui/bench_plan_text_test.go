package ui

import (
	"io"
	"net/netip"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// benchPlan100k is the plan of `nictab plan -f` for 100k routes of one
// table, one `{table: 100, to: …/26, via: 10.0.0.2, dev: sc0}` each, into
// an empty table.
func benchPlan100k() netcfg.Plan {
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

// BenchmarkWritePlanText100k is the printout of that plan, diff and
// commands, in a namespace: 200k lines, in the plain styles (what a pipe
// gets) and in colour, as WritePlanText makes it (in chunks on every core)
// and, for a reference taken in the same run, on one goroutine.
func BenchmarkWritePlanText100k(b *testing.B) {
	p := benchPlan100k()
	names := netcfg.Names{}
	for _, set := range []struct {
		name    string
		st      Styles
		workers int
	}{
		{"plain", PlainStyles(), planWorkers(len(p.Changes))}, {"colour", DefaultStyles(true), planWorkers(len(p.Changes))},
		{"plain-sequential", PlainStyles(), 1}, {"colour-sequential", DefaultStyles(true), 1},
	} {
		b.Run(set.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if err := writePlanText(io.Discard, &p, &names, "/etc/iproute2/rt_tables.d/nictab.conf", "pln1", true, set.st, set.workers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
