//go:build linux

package kernel_test

import (
	"runtime/debug"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/internal/prefault"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// loadRoutes fills the namespace behind k with routes through the codec's
// pipelined writes: the quickest way to a big table.
// benchTable is the table the 100k-route benchmarks read.
const benchTable = 100

// kernelWith100k is a scale namespace whose benchTable holds 100k
// routes, and a kernel opened in it.
func kernelWith100k(b *testing.B) (netcfg.Kernel, *nstest.NS) {
	ns := scaleNS(b)
	k := openScale(b, ns)
	loadRoutes(b, k, scaleRoutes(100_000, benchTable))
	return k, ns
}

func loadRoutes(tb testing.TB, k netcfg.Kernel, routes []netcfg.Route) {
	tb.Helper()
	ops := addRouteOps(routes)
	if r := k.Exec(ops); r.Failed != nil {
		tb.Fatal(r.Failed)
	}
}

// BenchmarkDetectTable100k reads a 100k-route table in full, as planning
// and verifying do.
func BenchmarkDetectTable100k(b *testing.B) {
	k, ns := kernelWith100k(b)
	const table = benchTable
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
	k, _ := kernelWith100k(b)
	const table = benchTable
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

// BenchmarkDetectStartup is what `nictab show` reads before it prints:
// links, rules, main's default routes and the tables rules point at, in a
// namespace whose main holds a full Internet table (1M routes) and with an
// unrelated 100k table, beside the same namespace with neither. Neither
// big table may cost anything: main is left after its default routes and
// table 200 is never asked for.
func BenchmarkDetectStartup(b *testing.B) {
	for _, big := range []bool{false, true} {
		b.Run(map[bool]string{false: "empty", true: "main=1M,other=100k"}[big], func(b *testing.B) {
			ns := scaleNS(b)
			ns.IP("route", "add", "default", "via", scaleGw, "dev", scaleDev, "proto", "dhcp")
			ns.IP("-6", "route", "add", "default", "via", "fd00::2", "dev", scaleDev, "proto", "ra")
			ns.IP("rule", "add", "from", "10.0.0.1", "lookup", "13", "pref", "1000")
			ns.IP("route", "add", "default", "via", scaleGw, "dev", scaleDev, "table", "13", "proto", "201")
			k := openScale(b, ns)
			if big {
				const chunk = 100_000
				all := scaleRoutes(1_100_000, netcfg.TableMain)
				for i := range all {
					all[i].Proto = 186 // a BGP daemon's
					if i >= 1_000_000 {
						all[i].Table = 200
					}
				}
				for s := 0; s < len(all); s += chunk {
					loadRoutes(b, k, all[s:s+chunk])
				}
			}
			names := scaleNames(ns)()
			b.ResetTimer()
			for range b.N {
				s, err := netcfg.Detect(k, names, netcfg.DetectOptions{RuleTables: true})
				if err != nil {
					b.Fatal(err)
				}
				if g, ok := s.Gateway(scaleDev, netcfg.V4); !ok || g.String() != scaleGw {
					b.Fatalf("gateway of %s: %v %v", scaleDev, g, ok)
				}
			}
		})
	}
}

// BenchmarkDumpDiscard100k is the kernel's own share of reading a
// 100k-route table: the dump received and thrown away, nothing decoded.
func BenchmarkDumpDiscard100k(b *testing.B) {
	k, _ := kernelWith100k(b)
	const table = benchTable
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n, err := kernel.DiscardDump(k, table)
		if err != nil {
			b.Fatal(err)
		}
		if n != 100_000 {
			b.Fatalf("dumped %d routes, want 100000", n)
		}
	}
}

// BenchmarkReadBack100k reads a 100k-route table as Apply's read-back
// does: into a slice presized for it, main's default routes left out.
func BenchmarkReadBack100k(b *testing.B) {
	k, ns := kernelWith100k(b)
	const table = benchTable
	names := scaleNames(ns)()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, err := netcfg.Detect(k, names, netcfg.DetectOptions{Tables: []uint32{table}, Routes: 100_000, NoMainDefaults: true})
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Routes) != 100_000 {
			b.Fatalf("read %d routes, want 100000", len(s.Routes))
		}
	}
}

// BenchmarkReadBackFresh100k is BenchmarkReadBack100k on memory the
// process has not touched yet, as a command's read-back is: the heap is
// handed back to the kernel before each read, so that the slice's pages
// are mapped anew. "detect" is Detect making and mapping the slice
// (DetectOptions.Routes), "before" the slice Apply maps while the kernel
// writes (DetectOptions.Into), mapped by the time of the read.
func BenchmarkReadBackFresh100k(b *testing.B) {
	k, ns := kernelWith100k(b)
	const table = benchTable
	names := scaleNames(ns)()
	for _, how := range []string{"detect", "before"} {
		b.Run(how, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				debug.FreeOSMemory()
				opts := netcfg.DetectOptions{Tables: []uint32{table}, NoMainDefaults: true}
				var into []netcfg.Route
				if how == "before" {
					into = make([]netcfg.Route, 0, 100_000)
					prefault.Slice(into)
				}
				b.StartTimer()
				if how == "detect" {
					opts.Routes = 100_000
				}
				opts.Into = into
				s, err := netcfg.Detect(k, names, opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Routes) != 100_000 {
					b.Fatalf("read %d routes, want 100000", len(s.Routes))
				}
			}
		})
	}
}

// BenchmarkRollbackRead100k reads a 100k-route table of nictab's as a
// rollback's plan does: the table in full and nictab's routes in every
// other, into a slice sized from the newest snapshot, in memory the
// process has not touched yet.
func BenchmarkRollbackRead100k(b *testing.B) {
	k, ns := kernelWith100k(b)
	const table = benchTable
	names := scaleNames(ns)()
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		debug.FreeOSMemory()
		b.StartTimer()
		s, err := netcfg.Detect(k, names, netcfg.DetectOptions{Tables: []uint32{table}, Owned: true, Routes: 100_000})
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Routes) != 100_000 {
			b.Fatalf("read %d routes, want 100000", len(s.Routes))
		}
	}
}

// BenchmarkDetectPlanBigMain reads what a plan over a 100k-route table
// of nictab's reads (the table in full, nictab's routes elsewhere) in a
// namespace whose main holds a full Internet table (1M routes), beside
// the same without it: main is left after its default routes, and the
// full table costs nothing.
func BenchmarkDetectPlanBigMain(b *testing.B) {
	for _, big := range []bool{false, true} {
		b.Run(map[bool]string{false: "main empty", true: "main=1M"}[big], func(b *testing.B) {
			k, ns := kernelWith100k(b)
			if big {
				const chunk = 100_000
				all := scaleRoutes(1_100_000, netcfg.TableMain)[100_000:]
				for i := range all {
					all[i].Proto = 186 // a BGP daemon's
				}
				for s := 0; s < len(all); s += chunk {
					loadRoutes(b, k, all[s:s+chunk])
				}
			}
			names := scaleNames(ns)()
			b.ResetTimer()
			for range b.N {
				s, err := netcfg.Detect(k, names, netcfg.DetectOptions{Tables: []uint32{benchTable}, Owned: true, Routes: 100_000})
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Routes) != 100_000 {
					b.Fatalf("read %d routes, want 100000", len(s.Routes))
				}
			}
		})
	}
}
