package main

import (
	"os"

	"github.com/nictab/nictab/internal/gcquiet"
)

const (
	// commandGCBudget is what a command that changes the host may
	// allocate before its first collection: more than a 100k-route
	// `apply -f` or `rollback` allocates from start to end (about 180 and
	// 90 MB).
	commandGCBudget = 256 << 20
	// commandGCRoutes is the most routes, in the file, the history or the
	// snapshot rolled back to, for which the collector is held off so.
	// A larger command keeps the pace of the collector and the holds of
	// its bursts (gcquiet.Hold) as before: a budget passed in the middle
	// of its parse upsets them (a 1M-route `apply -f` took 12.8-16.8 s
	// instead of 7.5-9.3, and 40 MB more).
	commandGCRoutes = 250_000
	// routeFileBytes is about the size of a route in a file written one
	// route a line.
	routeFileBytes = 64
)

// collectorHold is the collector held off for a command that changes the
// host (gcquiet.HoldFirst), while what it works on is small enough.
type collectorHold struct{ release func() }

// holdCollector holds the collector off for a command unless file (a
// path, "" for none) or any of routes, a count of routes it works on, is
// larger than commandGCRoutes routes.
func holdCollector(file string, routes ...int) *collectorHold {
	n := 0
	if file != "" {
		fi, err := os.Stat(file)
		if err != nil {
			// The load reports it.
			return &collectorHold{release: func() {}}
		}
		n = int(fi.Size() / routeFileBytes)
	}
	h := &collectorHold{release: gcquiet.HoldFirst(commandGCBudget)}
	h.fits(append(routes, n)...)
	return h
}

// fits puts the collector's pace back unless every count of routes is
// within commandGCRoutes.
func (h *collectorHold) fits(routes ...int) {
	for _, n := range routes {
		if n > commandGCRoutes {
			h.release()
			return
		}
	}
}
