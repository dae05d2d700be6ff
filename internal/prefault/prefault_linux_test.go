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
	// Unmapped first, whatever the allocator gave: the array is all
	// zeros, which is what its pages read as once dropped.
	if err := unix.Madvise(pages(s), unix.MADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if r := resident(t, s); r > 0.01 {
		t.Fatalf("%.0f%% of the slice is mapped after MADV_DONTNEED", 100*r)
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

// Slice maps the whole pages inside a backing array of 1 to 64 MB, and
// nothing of a smaller or larger one.
func TestSlicePagesWithinBounds(t *testing.T) {
	page := uintptr(os.Getpagesize())
	size := unsafe.Sizeof(route{})
	for _, c := range []struct {
		mb   int
		want bool
	}{{0, false}, {1, true}, {48, true}, {63, true}, {80, false}} {
		n := ((c.mb << 20) + int(size) - 1) / int(size)
		s := make([]route, 0, n)
		b := pages(s)
		if (b != nil) != c.want {
			t.Errorf("%d MB: pages %v; want some: %v", c.mb, b != nil, c.want)
			continue
		}
		if b == nil {
			continue
		}
		start := uintptr(unsafe.Pointer(unsafe.SliceData(s[:1])))
		first := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		end := start + uintptr(n)*size
		if first%page != 0 || uintptr(len(b))%page != 0 || first < start || first+uintptr(len(b)) > end || end-(first+uintptr(len(b))) >= page || first-start >= page {
			t.Errorf("%d MB: pages [%#x, +%d) of the array [%#x, %#x): want every whole page inside it", c.mb, first, len(b), start, end)
		}
	}
}
