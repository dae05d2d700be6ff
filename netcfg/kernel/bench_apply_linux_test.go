//go:build linux

package kernel_test

import (
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// BenchmarkApplyRoutes100k adds 100k routes to an empty table through
// netcfg.Apply (stale check, pipelined writes with an ACK each, read-back
// and verify), then deletes them the same way. add-s and del-s are the
// two halves; ns/op is both. In watched, each plan is read under a change
// monitor (kernel.DetectWatched), which spares the stale check its dumps;
// in dump, the stale check reads the kernel again.
func BenchmarkApplyRoutes100k(b *testing.B) {
	for _, watched := range []bool{true, false} {
		name := "dump"
		if watched {
			name = "watched"
		}
		b.Run(name, func(b *testing.B) {
			ns := scaleNS(b)
			k := openScale(b, ns)
			names := scaleNames(ns)
			const table = 100
			routes := scaleRoutes(100_000, table)
			var add, del time.Duration
			dumped := 0
			b.ResetTimer()
			for range b.N {
				for _, want := range [][]netcfg.Route{routes, nil} {
					b.StopTimer()
					opts := netcfg.ApplyOptions{LoadNames: names}
					var p netcfg.Plan
					if watched {
						p, opts.Watched = planWatchedTo(b, k, names, table, want)
					} else {
						p = planTo(b, k, names, table, want)
					}
					rd := kernel.RuleDumps(k)
					b.StartTimer()
					t0 := time.Now()
					if _, err := netcfg.Apply(k, p, opts); err != nil {
						b.Fatal(err)
					}
					d := time.Since(t0)
					b.StopTimer()
					// A namespace just made is not quiet at once (DAD
					// ends): such an apply reads the rules twice.
					dumped += kernel.RuleDumps(k) - rd - 1
					if err := opts.Watched.Close(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if want != nil {
						add += d
					} else {
						del += d
					}
				}
			}
			b.ReportMetric(add.Seconds()/float64(b.N), "add-s")
			b.ReportMetric(del.Seconds()/float64(b.N), "del-s")
			b.ReportMetric(float64(dumped)/float64(2*b.N), "stale-dumps/apply")
		})
	}
}

// planWatchedTo is planTo reading the live state under a change monitor
// (kernel.DetectWatched, Watched.Plan).
func planWatchedTo(tb testing.TB, k netcfg.Kernel, names func() netcfg.Names, table uint32, routes []netcfg.Route) (netcfg.Plan, *netcfg.Watched) {
	tb.Helper()
	w, err := kernel.DetectWatched(k, names(), netcfg.DetectOptions{Tables: []uint32{table}, Owned: true})
	if err != nil {
		tb.Fatal(err)
	}
	return w.Plan(netcfg.Desired{Owned: netcfg.Owned{Routes: routes}, Tables: []uint32{table}}), w
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
