//go:build linux

package prefault

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

type route struct {
	a, b uint64
	s    string
	p    *int
}

// resident is the share of the pages of s's backing array that are mapped.
func resident(t *testing.T, s []route) float64 {
	t.Helper()
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(s[:1])))
	first := (start + page - 1) &^ (page - 1)
	last := (start + uintptr(cap(s))*unsafe.Sizeof(s[0])) &^ (page - 1)
	vec := make([]byte, (last-first)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, first, last-first, uintptr(unsafe.Pointer(unsafe.SliceData(vec)))); e != 0 {
		t.Fatal(e)
	}
	n := 0
	for _, v := range vec {
		if v&1 != 0 {
			n++
		}
	}
	return float64(n) / float64(len(vec))
}

// Slice maps the whole backing array of a fresh slice, and leaves what a
// slice holds as it was.
func TestSliceMapsAndKeeps(t *testing.T) {
	s := make([]route, 0, (48<<20)/int(unsafe.Sizeof(route{})))
	if r := resident(t, s); r > 0.5 {
		t.Fatalf("%.0f%% of a fresh 48 MB slice is mapped before Slice: the test needs fresh memory", 100*r)
	}
	x := 7
	s = append(s, route{a: 1, b: 2, s: "eno1", p: &x})
	Slice(s)
	if r := resident(t, s); r < 0.99 {
		t.Errorf("%.0f%% of the slice is mapped after Slice; want all of it", 100*r)
	}
	if got := s[0]; got.a != 1 || got.b != 2 || got.s != "eno1" || got.p != &x {
		t.Errorf("Slice changed the slice: %+v", got)
	}
	for i := 1; i < cap(s); i += 4096 {
		if v := s[:cap(s)][i]; v != (route{}) {
			t.Fatalf("element %d past the length is %+v after Slice; want zero", i, v)
		}
	}
	Slice([]route(nil)[:0])
}

// A slice past maxBytes is left to be mapped as it is written.
func TestSliceLeavesTheLargest(t *testing.T) {
	s := make([]route, 0, (80<<20)/int(unsafe.Sizeof(route{})))
	before := resident(t, s)
	Slice(s)
	if after := resident(t, s); after > before+0.01 {
		t.Errorf("Slice mapped %.0f%% of an 80 MB slice (%.0f%% before); want it left as it was", 100*after, 100*before)
	}
}
