package netcfg

import (
	"runtime/debug"
	"runtime/metrics"
)

// applyGCBudget is how much garbage Apply may leave for the collector
// before a collection runs. A 100k-route apply makes about 85 MB of it:
// the read-back of the table (336 bytes a route), the fingerprint's
// arena, the op lists.
const applyGCBudget = 128 << 20

// quietGC holds collections off while Apply runs, until applyGCBudget
// more is in use, and returns the function that puts the collector back
// as it was.
//
// NOTE: Apply's allocations are short-lived and bounded by the plan, but
// with the default GOGC a 100k-route apply collected several times, each
// collection scanning the plan and the states it holds (100 MB and
// more): 10–20% of the apply's time under load, time that is not the
// kernel's. A higher GOGC for the apply alone, capped by a memory limit
// of what is in use now plus the budget, trades that for at most the
// budget of memory. When the heap is already larger than the budget
// (a plan of a million routes), the default pace is kept: a multiple of
// a large heap would be a lot of memory.
func quietGC() (restore func()) {
	// runtime/metrics, not ReadMemStats: no stop of the world.
	m := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(m)
	for _, x := range m {
		if x.Value.Kind() != metrics.KindUint64 {
			return func() {}
		}
	}
	heap, total, released, live := m[0].Value.Uint64(), m[1].Value.Uint64(), m[2].Value.Uint64(), m[3].Value.Uint64()
	if heap == 0 || live == 0 || heap >= applyGCBudget {
		return func() {}
	}
	// The collector's goal is a multiple of the heap its last collection
	// found live, not of the heap now: with the garbage made since (a
	// plan's parse leaves as much again), a percentage of the heap now
	// brought the next collection on halfway through a 100k-route
	// read-back, write barriers and assists doubling its time.
	pct := int(100 * (heap + applyGCBudget - live) / live)
	// NOTE: raised straight to pct, never through -1 to read the old
	// value: turning the collector off waits for a collection under way
	// to finish its marking, 50 ms after an apply that left 100k routes
	// of garbage.
	old := debug.SetGCPercent(pct)
	if old < 0 || old >= pct {
		debug.SetGCPercent(old)
		return func() {}
	}
	limit := debug.SetMemoryLimit(-1)
	if want := int64(total-released) + applyGCBudget; want < limit {
		debug.SetMemoryLimit(want)
	}
	return func() {
		debug.SetGCPercent(old)
		debug.SetMemoryLimit(limit)
	}
}
