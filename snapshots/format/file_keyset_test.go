package format

import "testing"

// TestPackedIndexFindsEveryKey claims keys past several growths of the
// index, each twice: the first claim takes it, the second finds it.
func TestPackedIndexFindsEveryKey(t *testing.T) {
	x := newPackedIndex(0)
	const n = 5000
	for i := range n {
		if _, dup := x.claim([2]uint64{uint64(i % 7), uint64(i)}, routeTaken{i, 2 * i}); dup {
			t.Fatalf("key %d found before it was claimed", i)
		}
	}
	for i := range n {
		got, dup := x.claim([2]uint64{uint64(i % 7), uint64(i)}, routeTaken{-1, -1})
		if !dup || got != (routeTaken{i, 2 * i}) {
			t.Fatalf("key %d: %v, %v", i, got, dup)
		}
	}
	if len(x.keys) != n || len(x.slots) < 2*n {
		t.Errorf("%d keys in %d slots", len(x.keys), len(x.slots))
	}
}

// BenchmarkKeyHashesDistinct checks the hashes of 100k routes with no key
// twice, as a list read in parts is checked.
func BenchmarkKeyHashesDistinct(b *testing.B) {
	x := &keyHashes{h: make([]uint64, 100_000)}
	for i := range x.h {
		x.h[i] = uint64(i)*0x9E3779B97F4A7C15 ^ uint64(i)<<17
	}
	for b.Loop() {
		if !x.distinct(len(x.h)) {
			b.Fatal("a hash twice")
		}
	}
}
