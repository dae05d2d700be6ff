//go:build linux

package netcfg_test

import (
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// BenchmarkApplyRoutes100k adds 100k routes to an empty table through
// netcfg.Apply (stale check, pipelined writes with an ACK each, read-back
// and verify), then deletes them the same way. add-s and del-s are the
// two halves; ns/op is both.
func BenchmarkApplyRoutes100k(b *testing.B) {
	ns := scaleNS(b)
	k := openScale(b, ns)
	names := scaleNames(ns)
	const table = 100
	routes := scaleRoutes(100_000, table)
	var add, del time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		p := planTo(b, k, names, table, routes)
		b.StartTimer()
		t0 := time.Now()
		if _, err := netcfg.Apply(k, p, netcfg.ApplyOptions{LoadNames: names}); err != nil {
			b.Fatal(err)
		}
		add += time.Since(t0)
		b.StopTimer()
		p = planTo(b, k, names, table, nil)
		b.StartTimer()
		t0 = time.Now()
		if _, err := netcfg.Apply(k, p, netcfg.ApplyOptions{LoadNames: names}); err != nil {
			b.Fatal(err)
		}
		del += time.Since(t0)
	}
	b.ReportMetric(add.Seconds()/float64(b.N), "add-s")
	b.ReportMetric(del.Seconds()/float64(b.N), "del-s")
}

// BenchmarkExecRoutes100k is the write path alone: Exec of 100k route adds
// and then of their deletes, in the batches Apply uses.
func BenchmarkExecRoutes100k(b *testing.B) {
	ns := scaleNS(b)
	k := openScale(b, ns)
	routes := scaleRoutes(100_000, 100)
	adds := make([]netcfg.Op, len(routes))
	dels := make([]netcfg.Op, len(routes))
	for i := range routes {
		adds[i] = netcfg.Op{Kind: netcfg.OpAddRoute, Route: &routes[i]}
		dels[i] = netcfg.Op{Kind: netcfg.OpDelRoute, Route: &routes[i]}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, ops := range [][]netcfg.Op{adds, dels} {
			for s := 0; s < len(ops); s += 4096 {
				if r := k.Exec(ops[s:min(s+4096, len(ops))]); r.Failed != nil {
					b.Fatal(r.Failed)
				}
			}
		}
	}
}
