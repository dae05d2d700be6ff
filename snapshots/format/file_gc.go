package format

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// loadGCPerByte is how much Load may allocate, per byte of the file,
// before a collection runs: a file of one-line routes costs about 6
// bytes a byte (the file, 144 bytes of RouteIntent for each line of 63,
// the places of the entries, transient spans and hashes).
const loadGCPerByte = 8

// loadGCMin is the budget for a small file, where holding collections
// off is not worth a thought.
const loadGCMin = 16 << 20

// quietLoadHeld keeps quietLoad to one Load at a time: the collector's
// settings are the process's.
var quietLoadHeld sync.Mutex

// quietLoad holds collections off while Load decodes a file of size
// bytes, until it has allocated what such a file costs, and returns the
// function that puts the collector back as it was.
//
// NOTE: nearly all Load allocates stays live (the routes), so a
// collection during it finds little to free; worse, it reads the
// decoded routes' fresh memory before the parts of the list write it.
// A page read first is mapped to the kernel's shared zero page, and the
// write then replaces it, which flushes the other core's TLB by an
// interrupt (costly in a virtual machine): with collections, those
// flushes were a third of the CPU samples of a 100k-route Load whose
// parts map their room (perf record), and a 1M-route file's parts took
// 590 ms instead of 160. As in netcfg's
// quietGC, the collector's goal is raised straight to what is in use
// plus the budget, never through off, and the memory limit caps it.
func quietLoad(size int) (restore func()) {
	if !quietLoadHeld.TryLock() {
		return func() {}
	}
	budget := max(uint64(size)*loadGCPerByte, loadGCMin)
	m := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(m)
	for _, x := range m {
		if x.Value.Kind() != metrics.KindUint64 {
			quietLoadHeld.Unlock()
			return func() {}
		}
	}
	heap, total, released, live := m[0].Value.Uint64(), m[1].Value.Uint64(), m[2].Value.Uint64(), m[3].Value.Uint64()
	// Before the first collection nothing was found live: the heap is.
	if live == 0 {
		live = heap
	}
	if live == 0 {
		quietLoadHeld.Unlock()
		return func() {}
	}
	pct := int(100 * (heap + budget - min(live, heap)) / live)
	old := debug.SetGCPercent(pct)
	if old < 0 || old >= pct {
		debug.SetGCPercent(old)
		quietLoadHeld.Unlock()
		return func() {}
	}
	limit := debug.SetMemoryLimit(-1)
	if want := int64(total-released) + int64(budget); want < limit {
		debug.SetMemoryLimit(want)
	}
	return func() {
		debug.SetGCPercent(old)
		debug.SetMemoryLimit(limit)
		quietLoadHeld.Unlock()
	}
}
