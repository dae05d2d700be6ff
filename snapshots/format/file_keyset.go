package format

import "hash/maphash"

// routeTaken is where the route under a key is: its entry in the list and
// its place in the decoded routes.
type routeTaken struct{ item, at int }

// packedIndex finds the route under a packed key (packKey). It is an
// open-addressing table of 4-byte slots over a dense list of the keys:
// for 100k routes it stays in a few megabytes where a map of 32-byte
// entries spreads over 8, and a lookup mostly costs one cache miss. The
// hash is seeded per index, so a file cannot choose keys that collide.
type packedIndex struct {
	seed  maphash.Seed
	slots []uint32 // 1 + the key's place in keys; 0 when free
	keys  [][2]uint64
	vals  []routeTaken
}

func newPackedIndex(n int) *packedIndex {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return &packedIndex{seed: maphash.MakeSeed(), slots: make([]uint32, size), keys: make([][2]uint64, 0, n), vals: make([]routeTaken, 0, n)}
}

// claim returns the route already under k, or puts t under it.
func (x *packedIndex) claim(k [2]uint64, t routeTaken) (routeTaken, bool) {
	if 2*(len(x.keys)+1) > len(x.slots) {
		x.grow()
	}
	mask := uint64(len(x.slots) - 1)
	for h := maphash.Comparable(x.seed, k) & mask; ; h = (h + 1) & mask {
		s := x.slots[h]
		if s == 0 {
			x.keys = append(x.keys, k)
			x.vals = append(x.vals, t)
			x.slots[h] = uint32(len(x.keys))
			return routeTaken{}, false
		}
		if x.keys[s-1] == k {
			return x.vals[s-1], true
		}
	}
}

func (x *packedIndex) grow() {
	x.slots = make([]uint32, 2*len(x.slots))
	mask := uint64(len(x.slots) - 1)
	for i, k := range x.keys {
		h := maphash.Comparable(x.seed, k) & mask
		for x.slots[h] != 0 {
			h = (h + 1) & mask
		}
		x.slots[h] = uint32(i + 1)
	}
}
