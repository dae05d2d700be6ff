package ui

import (
	"io"
	"math/rand/v2"
	"testing"

	"github.com/nictab/nictab/internal/benchplan"
	"github.com/nictab/nictab/netcfg"
)

// BenchmarkWritePlanText100k is the printout of benchplan.Routes100k, diff and
// commands, in a namespace: 200k lines, in the plain styles (what a pipe
// gets) and in colour, as WritePlanText makes it (in chunks on every core)
// and, for a reference taken in the same run, on one goroutine.
func BenchmarkWritePlanText100k(b *testing.B) {
	benchmarkWritePlanText(b, benchplan.Routes100k())
}

// BenchmarkWritePlanTextDeleted100k is BenchmarkWritePlanText100k of the
// plan that deletes those routes (a rollback's).
func BenchmarkWritePlanTextDeleted100k(b *testing.B) {
	benchmarkWritePlanText(b, benchplan.RoutesDeleted100k())
}

// BenchmarkWritePlanTextScattered100k is BenchmarkWritePlanTextDeleted100k
// with the routes in memory in another order than the plan's, as a plan
// made from the kernel's dump and the snapshot's routes has them: each
// route read is then a miss of the caches.
func BenchmarkWritePlanTextScattered100k(b *testing.B) {
	p := benchplan.RoutesDeleted100k()
	routes := make([]netcfg.Route, len(p.Changes))
	at := rand.New(rand.NewPCG(1, 2)).Perm(len(routes))
	for i := range p.Changes {
		routes[at[i]] = *p.Changes[i].Before.Route
		p.Changes[i].Before.Route = &routes[at[i]]
	}
	benchmarkWritePlanText(b, p)
}

func benchmarkWritePlanText(b *testing.B, p netcfg.Plan) {
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
