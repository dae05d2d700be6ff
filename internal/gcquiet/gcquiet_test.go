package gcquiet

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// gcPercent reads the collector's percentage without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

var keep [][]byte

func TestHoldRaisesAndRestores(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	restore := Hold(256 << 20)
	raised := gcPercent()
	if raised <= 100 {
		t.Fatalf("GC percent under a hold of 256 MB is %d, want more than 100", raised)
	}
	// A second hold while the first is in force must not take its place:
	// its restore would put back the first's raised goal.
	second := Hold(1 << 40)
	if p := gcPercent(); p != raised {
		t.Errorf("a second hold changed the GC percent from %d to %d", raised, p)
	}
	second()
	if p := gcPercent(); p != raised {
		t.Errorf("the second hold's restore changed the GC percent from %d to %d", raised, p)
	}
	restore()
	if p := gcPercent(); p != 100 {
		t.Errorf("GC percent after restore is %d, want 100", p)
	}
	// Released, a new hold takes effect again.
	again := Hold(256 << 20)
	if p := gcPercent(); p <= 100 {
		t.Errorf("GC percent under a new hold is %d, want more than 100", p)
	}
	again()
}

func TestHoldKeepsPaceOfALargeHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for range 16 {
		keep = append(keep, make([]byte, 1<<20))
	}
	defer func() { keep = nil }()
	restore := Hold(1 << 20)
	defer restore()
	if p := gcPercent(); p != 100 {
		t.Errorf("GC percent under a hold of 1 MB with a 16 MB heap is %d, want 100 kept", p)
	}
}

func TestHoldLeavesTheCollectorOff(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	restore := Hold(256 << 20)
	defer restore()
	if p := gcPercent(); p != -1 {
		t.Errorf("GC percent under a hold with the collector off is %d, want -1 kept", p)
	}
}

func TestHoldFirstLastsUntilTheFirstCollection(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	restore := HoldFirst(256 << 20)
	defer restore()
	if p := gcPercent(); p <= 100 {
		t.Fatalf("GC percent under HoldFirst of 256 MB is %d, want more than 100", p)
	}
	// While it is in force, a burst's hold does nothing.
	inner := Hold(1 << 30)
	if p := debug.SetMemoryLimit(-1); p != math.MaxInt64 {
		t.Errorf("a hold inside HoldFirst set a memory limit of %d", p)
	}
	inner()
	runtime.GC()
	// The pace comes back from the finalizer goroutine, after the
	// collection.
	deadline := time.Now().Add(5 * time.Second)
	for gcPercent() != 100 && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	if p := gcPercent(); p != 100 {
		t.Fatalf("GC percent after the first collection is %d, want 100 back", p)
	}
	// And with it the holds of bursts.
	again := Hold(256 << 20)
	if p := gcPercent(); p <= 100 {
		t.Errorf("GC percent under a hold after HoldFirst's collection is %d, want more than 100", p)
	}
	again()
	restore() // a second put back changes nothing
	if p := gcPercent(); p != 100 {
		t.Errorf("GC percent after restore is %d, want 100", p)
	}
}
