// Package gcquiet holds the garbage collector off while a bounded burst
// of allocation runs: parsing a large file, applying a large plan.
package gcquiet

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// held keeps holds to one at a time: the collector's settings are the
// process's, and a second hold would restore the first's raised goal.
var held sync.Mutex

// Hold raises the collector's goal so that about budget more bytes can be
// allocated before the next collection, capped by a memory limit of what
// is in use now plus budget, and returns the function that puts both back
// as they were. It changes nothing when another hold is in force, when
// the goal is already that high or the collector off, or when the heap is
// already larger than budget: a multiple of a large heap (a plan of a
// million routes) would be a lot of memory, and the default pace is kept.
//
// NOTE: the goal is a multiple of the heap the last collection found
// live, not of the heap now: with the garbage made since (a plan's parse
// leaves as much again), a percentage of the heap now brought the next
// collection on halfway through a 100k-route read-back, write barriers
// and assists doubling its time. It is raised straight to that, never
// through -1 to read the old value: turning the collector off waits for a
// collection under way to finish its marking, 50 ms after an apply that
// left 100k routes of garbage.
func Hold(budget uint64) (restore func()) {
	total, ok := inUse()
	if !ok {
		return func() {}
	}
	old, ok := raisePercent(budget, budget)
	if !ok {
		return func() {}
	}
	limit := debug.SetMemoryLimit(-1)
	if want := int64(total) + int64(budget); want < limit {
		debug.SetMemoryLimit(want)
	}
	return func() {
		debug.SetGCPercent(old)
		debug.SetMemoryLimit(limit)
		held.Unlock()
	}
}

// raisePercent takes the hold and raises the collector's percentage so
// that about budget more bytes can be allocated before the next
// collection, returning the percentage it replaced. It takes nothing and
// reports false when another hold is in force, the heap cannot be read or
// is at least maxHeap (0: any size), the goal is already that high, or
// the collector is off.
func raisePercent(budget, maxHeap uint64) (old int, ok bool) {
	if !held.TryLock() {
		return 0, false
	}
	heap, live, ok := heapNow()
	if !ok || heap == 0 || (maxHeap > 0 && heap >= maxHeap) {
		held.Unlock()
		return 0, false
	}
	pct := int(100 * (heap + budget - min(live, heap)) / live)
	old = debug.SetGCPercent(pct)
	if old < 0 || old >= pct {
		debug.SetGCPercent(old)
		held.Unlock()
		return 0, false
	}
	return old, true
}

// heapNow returns the bytes of heap objects and what the last collection
// found live (the heap itself before the first one), read from
// runtime/metrics: unlike ReadMemStats, no stop of the world.
func heapNow() (heap, live uint64, ok bool) {
	m := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(m)
	for _, x := range m {
		if x.Value.Kind() != metrics.KindUint64 {
			return 0, 0, false
		}
	}
	heap, live = m[0].Value.Uint64(), m[1].Value.Uint64()
	if live == 0 {
		live = heap
	}
	return heap, live, true
}

// inUse is the memory the runtime holds from the kernel and has not
// handed back.
func inUse() (uint64, bool) {
	m := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(m)
	if m[0].Value.Kind() != metrics.KindUint64 || m[1].Value.Kind() != metrics.KindUint64 {
		return 0, false
	}
	return m[0].Value.Uint64() - m[1].Value.Uint64(), true
}
