package netcfg

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// oldKeyOrder is keyOrder as it was before the packed keys: positions
// sorted by compareIdx through the key array, ties by position.
func oldKeyOrder(routes []Route) ([]routeIdx, []int32) {
	keys := make([]routeIdx, len(routes))
	order := make([]int32, len(routes))
	for i := range routes {
		keys[i] = routeIdxOf(&routes[i])
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := compareIdx(&keys[a], &keys[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return keys, order
}

// oldSortOrder is the permutation the former sortRoutes applied: positions
// sorted by compareRouteKeys through the routes, ties by position.
func oldSortOrder(routes []Route) []int32 {
	order := make([]int32, len(routes))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := compareRouteKeys(&routes[a], &routes[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return order
}

// oldRouteClashes is the former clash search of checkRouteClashes: every
// key compared with its neighbour through the whole order.
func oldRouteClashes(keys []routeIdx, order []int32) []routeClash {
	var clashes []routeClash
	for k := 0; k < len(order); {
		first, end := order[k], k+1
		for end < len(order) && compareIdx(&keys[order[end]], &keys[first]) == 0 {
			clashes = append(clashes, routeClash{first, order[end]})
			end++
		}
		k = end
	}
	slices.SortFunc(clashes, func(a, b routeClash) int { return cmp.Compare(a.dup, b.dup) })
	return clashes
}

// sortCaseRoutes returns n routes whose keys collide often: few tables,
// IPv4, IPv6 and IPv4-mapped destinations under shared prefixes, host
// routes of one /64, invalid prefixes, tos, metrics near both ends,
// source prefixes of both families, multipath and nhid routes, and
// copies of earlier routes (with another gateway, so that the sort's
// choice among equal keys shows).
func sortCaseRoutes(rng *rand.Rand, n int) []Route {
	pick := rng.IntN
	addr := func() netip.Addr {
		switch pick(6) {
		case 0:
			return netip.AddrFrom4([4]byte{10, byte(pick(3)), byte(pick(4)), byte(pick(256))})
		case 1:
			return netip.AddrFrom4([4]byte{byte(pick(256)), byte(pick(256)), byte(pick(256)), byte(pick(256))})
		case 2:
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(pick(2)), 15: byte(pick(4))})
		case 3:
			// Hosts of one /64: equal in their first 8 bytes.
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 8: byte(pick(2)), 13: byte(pick(3)), 14: byte(pick(256)), 15: byte(pick(256))})
		case 4:
			if pick(2) == 0 {
				return netip.AddrFrom16([16]byte{15: byte(pick(4))}) // below IPv4-mapped
			}
			return netip.AddrFrom16(netip.AddrFrom4([4]byte{10, 0, byte(pick(2)), byte(pick(4))}).As16())
		default:
			var a [16]byte
			for i := range a {
				a[i] = byte(pick(256))
			}
			return netip.AddrFrom16(a)
		}
	}
	prefix := func() netip.Prefix {
		switch pick(20) {
		case 0:
			return netip.Prefix{}
		case 1:
			return netip.PrefixFrom(addr(), 200) // invalid length, valid address
		}
		a := addr()
		p := netip.PrefixFrom(a, pick(a.BitLen()+1))
		if pick(2) == 0 {
			p = p.Masked()
		}
		return p
	}
	gws := []netip.Addr{{}, netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fe80::1")}
	out := make([]Route, n)
	for i := range out {
		if i > 0 && pick(6) == 0 {
			out[i] = out[pick(i)]
			out[i].Gw = gws[pick(len(gws))]
			continue
		}
		r := Route{
			Table:  []uint32{0, 1, 100, 254, 1 << 24, 4294967295}[pick(6)],
			Type:   RouteType(pick(4)),
			Dst:    prefix(),
			Gw:     gws[pick(len(gws))],
			Dev:    []string{"", "eth0", "sc0"}[pick(3)],
			Metric: []uint32{0, 1, 100, 255, 256, 1 << 24, 1<<24 + 1, 4294967295}[pick(8)],
			Proto:  []uint8{0, ProtoKernel, ProtoNictab}[pick(3)],
		}
		if pick(4) == 0 {
			r.Tos = []uint8{0x04, 0x1c, 0xff}[pick(3)]
		}
		if pick(4) == 0 {
			r.From = prefix()
		}
		switch pick(8) {
		case 0:
			r.MultiPath = []NextHop{{Gw: gws[1], Dev: "eth0", Weight: 2}, {Gw: gws[2], Dev: "sc0"}}
		case 1:
			r.NHID = uint32(1 + pick(3))
		}
		out[i] = r
	}
	return out
}

// narrowCaseRoutes returns n routes of one table that differ in a few
// bytes of their keys, as orderNarrow sorts them: IPv4 /24s under few
// first octets, some with a metric of 100 or a source prefix, copies of
// earlier routes, and now and then (one case in four) a route of another
// table or family, which makes too many bytes differ.
func narrowCaseRoutes(rng *rand.Rand, n int) []Route {
	pick := rng.IntN
	wide := pick(4) == 0
	out := make([]Route, n)
	for i := range out {
		if i > 0 && pick(8) == 0 {
			out[i] = out[pick(i)]
			out[i].Gw = netip.AddrFrom4([4]byte{10, 0, 0, byte(pick(3))})
			continue
		}
		r := Route{
			Table: 100, Type: RouteUnicast, Proto: ProtoNictab, Dev: "sc0",
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + pick(3)), byte(pick(256)), byte(pick(256)), 0}), 24),
			Gw:  netip.MustParseAddr("10.0.0.2"),
		}
		if pick(16) == 0 {
			r.Metric = 100
		}
		if pick(16) == 0 {
			r.From = netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(pick(2)), 0}), 24)
		}
		if wide && pick(64) == 0 {
			r.Table = 101
		}
		out[i] = r
	}
	return out
}

// TestPackedOrderAsBefore requires keyOrder, keyRuns, routeClashes,
// sortRoutes and sortRoutesKeyed to give, for many random route sets
// (shuffled, sorted, sorted but for one swap, or in keyOrder's order),
// the very orders and clashes the code they replace gave.
func TestPackedOrderAsBefore(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 248))
	sizes := []int{0, 1, 2, 3, 255, 256, 257, 1000, 5000}
	for n := range 64 {
		sizes = append(sizes, n)
	}
	clashes := 0
	for c := range 600 {
		n := sizes[c%len(sizes)]
		if c >= 3*len(sizes) {
			n = rng.IntN(3000)
		}
		routes := sortCaseRoutes(rng, n)
		if c%3 == 2 {
			routes = narrowCaseRoutes(rng, n)
		}
		switch c % 4 {
		case 1:
			slices.SortStableFunc(routes, func(a, b Route) int { return compareRouteKeys(&a, &b) })
		case 2:
			slices.SortStableFunc(routes, func(a, b Route) int { return compareRouteKeys(&a, &b) })
			if n > 1 {
				i, j := rng.IntN(n), rng.IntN(n)
				routes[i], routes[j] = routes[j], routes[i]
			}
		case 3:
			// In keyOrder's order, which is not sortRoutes' where
			// source prefixes of both families meet.
			_, o := oldKeyOrder(routes)
			sorted := make([]Route, n)
			for i, p := range o {
				sorted[i] = routes[p]
			}
			routes = sorted
		}

		wantKeys, wantOrder := oldKeyOrder(routes)
		gotKeys, gotOrder := keyOrder(routes)
		if !slices.Equal(gotKeys, wantKeys) || !slices.Equal(gotOrder, wantOrder) {
			t.Fatalf("case %d, %d routes: keyOrder gave %v, want %v", c, n, gotOrder, wantOrder)
		}

		runKeys, runOrder, runs := keyRuns(routes)
		if !slices.Equal(runOrder, wantOrder) {
			t.Fatalf("case %d, %d routes: keyRuns gave %v, want %v", c, n, runOrder, wantOrder)
		}
		got, want := routeClashes(runKeys, runOrder, runs), oldRouteClashes(wantKeys, wantOrder)
		if !slices.Equal(got, want) {
			t.Fatalf("case %d, %d routes: clashes %v, want %v", c, n, got, want)
		}
		clashes += len(want)

		perm := oldSortOrder(routes)
		// Each route is told apart by its position, so that the same
		// permutation, not only the same keys, is required.
		for i := range routes {
			routes[i].Realms = uint32(i)
		}
		keyed := slices.Clone(routes)
		sortRoutes(routes)
		sortRoutesKeyed(keyed, runOrder, runs)
		for i := range routes {
			if got := int32(routes[i].Realms); got != perm[i] {
				t.Fatalf("case %d, %d routes: sortRoutes put route %d at %d, want route %d", c, n, got, i, perm[i])
			}
			if got := int32(keyed[i].Realms); got != perm[i] {
				t.Fatalf("case %d, %d routes: sortRoutesKeyed put route %d at %d, want route %d", c, n, got, i, perm[i])
			}
		}
	}
	if clashes == 0 {
		t.Fatal("no case had routes of one key: the clash search went untried")
	}
}
