package main

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

func gcPercentNow() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestHoldCollectorOnlyForSmallCommands: a command on a file of 100k
// routes holds the collector off; one on a file, a history or a target
// past commandGCRoutes keeps its pace.
func TestHoldCollectorOnlyForSmallCommands(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	dir := t.TempDir()
	file := func(name string, size int64) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small, large := file("small.yaml", 100_000*routeFileBytes), file("large.yaml", 1_000_000*routeFileBytes)
	for _, c := range []struct {
		name   string
		file   string
		routes []int
		held   bool
	}{
		{"a 100k-route file", small, nil, true},
		{"a 1M-route file", large, nil, false},
		{"a 100k-route file, a 1M-route history", small, []int{1_000_000}, false},
		{"no file, a 100k-route history", "", []int{100_000}, true},
	} {
		runtime.GC()
		h := holdCollector(c.file, c.routes...)
		if got := gcPercentNow() > 100; got != c.held {
			t.Errorf("%s: collector held off %v, want %v", c.name, got, c.held)
		}
		h.release()
		if p := gcPercentNow(); p != 100 {
			t.Errorf("%s: GC percent %d after release, want 100", c.name, p)
		}
	}
	// Known only once the history is read: fits lets go of a hold.
	h := holdCollector(small)
	h.fits(commandGCRoutes + 1)
	if p := gcPercentNow(); p != 100 {
		t.Errorf("GC percent %d after fits of a history past the bound, want 100", p)
	}
	h.release()
}
