package netcfg

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

var (
	gcTestKeep [][]byte
	gcTestSink []byte
)

func gcCycles() uint64 {
	m := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(m)
	return m[0].Value.Uint64()
}

// An apply begins with garbage of its plan on the heap. Under quietGC it
// may allocate nearly applyGCBudget more before a collection runs,
// however much of the heap was garbage.
func TestQuietGCHoldsOffForTheBudget(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(150))
	const mb = 1 << 20
	alloc := func(n int) [][]byte {
		var out [][]byte
		for range n {
			out = append(out, make([]byte, mb))
		}
		return out
	}
	runtime.GC()
	gcTestKeep = alloc(40)
	runtime.GC()
	// As much garbage as what is live: the heap is twice the live heap.
	for range 40 {
		gcTestSink = make([]byte, mb)
	}
	gcTestSink = nil
	restore := quietGC()
	before := gcCycles()
	more := alloc(64)
	after := gcCycles()
	restore()
	gcTestKeep = append(gcTestKeep, more...)
	if after != before {
		t.Errorf("%d collections ran within 64 MB of allocation under quietGC (budget %d MB)", after-before, applyGCBudget/mb)
	}
	gcTestKeep = nil
}
