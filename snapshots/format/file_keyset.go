package format

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/nictab/nictab/internal/prefault"
	"github.com/nictab/nictab/netcfg"
)

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

// mapAll maps the pages of the index's room, each part in one call.
func (x *packedIndex) mapAll() {
	prefault.Slice(x.slots)
	prefault.Slice(x.keys)
	prefault.Slice(x.vals)
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

// keyHashes holds the hash of the key (routeKey) of each route of a list
// read in parts, which each part writes as it decodes the route, at its
// place; distinct then says whether two routes may share a key.
//
// NOTE: the check before read the decoded routes again after the parts
// (144 bytes a route, on two cores) into two hash indexes: 7–10 ms of a
// 100k-route file's 50, and 150 ms at 1M, nearly all of it cache and TLB
// misses of one lookup a route. A table the parts shared cost the same.
// Hashing a route while it is in the cache, and grouping the hashes by
// their top bits (two passes in order, and one of scattered writes), cost
// under 1 ms for 100k.
type keyHashes struct {
	seed   maphash.Seed
	k0, k1 uint64
	h      []uint64
}

func newKeyHashes(n int) *keyHashes {
	return &keyHashes{seed: maphash.MakeSeed(), k0: rand.Uint64(), k1: rand.Uint64(), h: make([]uint64, n)}
}

// set hashes the key of r, the route at place i.
func (x *keyHashes) set(i int, r *netcfg.RouteIntent) {
	if r.Table.Name == "" && r.To.Addr().Is4() {
		// packKey's key, mixed by one multiplication under random keys
		// as wyhash mixes: maphash.Comparable of it was 40 ns, a tenth
		// of a route's time in the parts.
		a := r.To.Addr().As4()
		hi, lo := bits.Mul64(uint64(r.Table.ID)<<32|uint64(r.Metric)^x.k0, uint64(binary.BigEndian.Uint32(a[:]))<<8|uint64(r.To.Bits())^x.k1)
		x.h[i] = hi ^ lo
		return
	}
	k := routeKey{r.Table.Name, r.Table.ID, r.To, r.Metric}
	// Not maphash.Comparable of the key: it would move every key with a
	// string to the heap.
	a := k.to.Addr().As16()
	fam := uint64(0)
	if k.to.Addr().Is4() {
		fam = 1
	}
	x.h[i] = maphash.Comparable(x.seed, [4]uint64{maphash.String(x.seed, k.name), uint64(k.id)<<32 | uint64(k.metric),
		binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]) ^ uint64(k.to.Bits()+1)<<1 ^ fam})
}

// distinct reports whether the first n hashes are all different. Routes
// with one key have one hash; two keys whose hashes look alike (as
// distinctHalf compares them, 46 of their bits for 100k routes, under a
// seed a file cannot know) only send the list to the sequential check,
// which compares the keys themselves. The hashes whose
// top bit is set are looked at on a goroutine of their own.
func (x *keyHashes) distinct(n int) bool {
	h := x.h[:n]
	var other bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		other = distinctHalf(h, 1)
	}()
	mine := distinctHalf(h, 0)
	wg.Wait()
	return mine && other
}

// distinctHalf reports whether the hashes of h whose top bit is top are
// all different: grouped by their next bits, and within each group
// compared by their low 32 bits, which with the 1+bits the group stands
// for leave, for 100k routes, one chance in 10^4 that two different
// hashes look alike (and send the list to the sequential check).
//
// NOTE: with a group for about every hash, each group of two or more
// sorted (20k calls to sort), and the whole hashes kept, the check of
// 100k took 1.4-2.1 ms and 1.33 MB (BenchmarkKeyHashesDistinct, 9 runs);
// with about three hashes a group, compared pairwise, and 32 bits of each
// kept, 0.8-1.2 ms and 0.54 MB. In Load that memory is fresh, each page a
// fault.
func distinctHalf(h []uint64, top uint64) bool {
	bits := 4
	for 8<<bits < len(h) && bits < 20 {
		bits++
	}
	shift := 63 - bits
	// ends[g] is where group g ends once every hash is placed: counted,
	// summed, and moved on by each hash placed in the group before it.
	ends := make([]int32, 1<<bits)
	mask := uint64(1)<<bits - 1
	n := 0
	for _, v := range h {
		if v>>63 == top {
			ends[v>>shift&mask]++
			n++
		}
	}
	sum := int32(0)
	for g, c := range ends {
		ends[g] = sum
		sum += c
	}
	grouped := make([]uint32, n)
	for _, v := range h {
		if v>>63 == top {
			g := v >> shift & mask
			grouped[ends[g]] = uint32(v)
			ends[g]++
		}
	}
	start := int32(0)
	for _, end := range ends {
		g := grouped[start:end]
		start = end
		if len(g) > 16 {
			slices.Sort(g)
			for i := 1; i < len(g); i++ {
				if g[i] == g[i-1] {
					return false
				}
			}
			continue
		}
		for i := 1; i < len(g); i++ {
			for _, w := range g[:i] {
				if g[i] == w {
					return false
				}
			}
		}
	}
	return true
}
