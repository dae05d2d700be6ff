package netcfg_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// resolveIntent100k is an intent of 100k routes of table 100, one
// `{table: 100, to: …/26, via: 10.0.0.2, dev: sc0}` each, and the live
// state it is resolved against.
func resolveIntent100k() (netcfg.Intent, netcfg.State) {
	const n = 100_000
	gw := netip.MustParseAddr("10.0.0.2")
	in := netcfg.Intent{Routes: make([]netcfg.RouteIntent, n)}
	for i := range in.Routes {
		a := 0x14000000 + uint32(i)<<6
		in.Routes[i] = netcfg.RouteIntent{
			Table: netcfg.TableRef{ID: 100}, Via: gw, Dev: "sc0",
			To: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), 26),
		}
	}
	live := netcfg.State{
		Links:    []netcfg.Link{{Index: 2, Name: "sc0", Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/16")}}}},
		Complete: []uint32{100},
		AllOwned: true,
	}
	return in, live
}

// BenchmarkResolve100k resolves that intent: the first half of what
// `nictab plan -f` does after reading the file.
func BenchmarkResolve100k(b *testing.B) {
	in, live := resolveIntent100k()
	benchResolve(b, in, live)
}

// BenchmarkResolve100kScattered resolves the same routes in a shuffled
// order, as a file written by hand or by another tool lists them: the
// clash check and the sort then have real work to do.
func BenchmarkResolve100kScattered(b *testing.B) {
	in, live := resolveIntent100k()
	rng := rand.New(rand.NewPCG(18, 100))
	rng.Shuffle(len(in.Routes), func(i, j int) { in.Routes[i], in.Routes[j] = in.Routes[j], in.Routes[i] })
	benchResolve(b, in, live)
}

// BenchmarkProposePlan100k plans the resolved routes into an empty table,
// the second half.
func BenchmarkProposePlan100k(b *testing.B) {
	in, live := resolveIntent100k()
	d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p := netcfg.PlanChanges(live, d)
		if len(p.Changes) != len(in.Routes) {
			b.Fatalf("%d changes, want %d", len(p.Changes), len(in.Routes))
		}
	}
}

func benchResolve(b *testing.B, in netcfg.Intent, live netcfg.State) {
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
		if err != nil || len(d.Routes) != len(in.Routes) {
			b.Fatalf("resolved %d routes, %v", len(d.Routes), err)
		}
	}
}

// BenchmarkResolve100kTimeline resolves the routes of bench/timeline.sh:
// `{table: 100, to: A.B.C.0/24, via: 10.0.0.2, dev: sc0}`, /24s spread
// evenly over 1.0.0.0–221.255.255.0, in file order: the "intent resolved"
// phase of `nictab apply -f`.
func BenchmarkResolve100kTimeline(b *testing.B) { benchResolveTimeline(b, 100_000) }

// BenchmarkResolve1MTimeline is the same with 1M routes, past the sizes
// internal/prefault maps ahead.
func BenchmarkResolve1MTimeline(b *testing.B) { benchResolveTimeline(b, 1_000_000) }

func benchResolveTimeline(b *testing.B, n int) {
	in, live := resolveIntent100k()
	const span = 220 * 65536
	in.Routes = make([]netcfg.RouteIntent, 0, n)
	for i := 0; len(in.Routes) < n; i++ {
		a := uint32(16777216 + (uint64(i)*2654435761%span)*256)
		if o1 := a >> 24; o1 == 10 || o1 == 127 {
			continue
		}
		in.Routes = append(in.Routes, netcfg.RouteIntent{
			Table: netcfg.TableRef{ID: 100}, Via: netip.MustParseAddr("10.0.0.2"), Dev: "sc0",
			To: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24),
		})
	}
	benchResolve(b, in, live)
}
