package main

import (
	"os"
	"runtime/debug"
)

// heapSoftLimit is the heap nictab keeps to by collecting more often,
// unless GOMEMLIMIT says otherwise.
//
// NOTE: a command that holds a million routes (a full table's snapshot:
// the intent, the desired routes, the state before, the read-back) has a
// live heap of several hundred MB, and the collector's default pace lets
// the heap grow to twice what is live: 1.2–1.6 GB of RSS at 868k routes.
// Under this limit the same commands peak near it instead (rollback at
// the same speed, apply some 30% slower there). It is soft: no
// allocation ever fails for it; past it the collector runs more, taking
// at most about half the CPU. Below it (100k routes use ~150 MB) it
// changes nothing.
const heapSoftLimit = 896 << 20

func init() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(heapSoftLimit)
	}
}
