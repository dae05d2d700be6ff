//go:build linux

package netcfg_test

import (
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// loadRoutes fills the namespace behind k with routes through the codec's
// pipelined writes: the quickest way to a big table.
func loadRoutes(tb testing.TB, k netcfg.Kernel, routes []netcfg.Route) {
	tb.Helper()
	ops := make([]netcfg.Op, len(routes))
	for i := range routes {
		ops[i] = netcfg.Op{Kind: netcfg.OpAddRoute, Route: &routes[i]}
	}
	if r := k.Exec(ops); r.Failed != nil {
		tb.Fatal(r.Failed)
	}
}

// BenchmarkDetectTable100k reads a 100k-route table in full, as planning
// and verifying do.
func BenchmarkDetectTable100k(b *testing.B) {
	ns := scaleNS(b)
	k := openScale(b, ns)
	const table = 100
	loadRoutes(b, k, scaleRoutes(100_000, table))
	names := scaleNames(ns)()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, err := netcfg.Detect(k, names, netcfg.DetectOptions{Tables: []uint32{table}, Owned: true})
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Routes) < 100_000 {
			b.Fatalf("read %d routes, want 100000 or more", len(s.Routes))
		}
	}
}

// BenchmarkStreamTable100k streams a 100k-route table without keeping it,
// as `nictab show --table` does.
func BenchmarkStreamTable100k(b *testing.B) {
	ns := scaleNS(b)
	k := openScale(b, ns)
	const table = 100
	loadRoutes(b, k, scaleRoutes(100_000, table))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n := 0
		err := k.Routes(netcfg.RouteQuery{Table: table}, func(*netcfg.Route) error {
			n++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if n != 100_000 {
			b.Fatalf("streamed %d routes, want 100000", n)
		}
	}
}
