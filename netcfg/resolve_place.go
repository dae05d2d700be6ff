package netcfg

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"sync"
	"unsafe"

	"github.com/nictab/nictab/internal/prefault"
)

// NOTE: an intent's routes come in file order, often scattered over the
// address space, and the desired routes are wanted in key order. Building
// 250-byte routes in file order and then moving them into key order
// touched each twice at random (a third of a 100k resolve); instead only
// their keys are gathered and sorted, and each route is made once, in its
// slot of the sorted list, from its intent entry.

// placeMaxBytes is the size of routes up to which they are placed
// straight into their sorted slots: prefault's limit. Past it the pages
// of the list are mapped as they are first written, and writing them in
// file order, then moving the routes into key order, was faster: for 1M
// routes (BenchmarkResolve1MTimeline -benchtime 5x, six resolves) 3.0–3.2
// s of CPU against 3.7 s. A variable, so that a test takes both ways.
var placeMaxBytes uintptr = 64 << 20

// intentRoute makes *dst, a zero Route, the desired route of x in table,
// normalised; its metrics only when metrics is set (the key has none, and
// making them allocates). Only the fields a route of an intent sets are
// written: writing a whole Route into the heap is a write barrier over
// every pointer it holds while the collector runs.
func intentRoute(dst *Route, x *RouteIntent, table uint32, metrics bool) {
	typ := x.Type
	if typ == RouteUnspec {
		typ = RouteUnicast
	}
	dst.Table, dst.Type, dst.Dst, dst.Gw, dst.Dev, dst.Src = table, typ, x.To.Masked(), x.Via, x.Dev, x.Src
	dst.Proto, dst.Metric = ProtoNictab, x.Metric
	if metrics && (x.MTU != 0 || x.AdvMSS != 0) {
		// Only then: Ptr's Metrics escapes, an allocation per route even
		// when it returns nil.
		var m Metrics
		m.Values[RTAXMTU], m.Values[RTAXAdvMSS] = x.MTU, x.AdvMSS
		dst.Metrics = m.Ptr()
	}
	switch {
	case x.Scope != nil:
		dst.Scope = *x.Scope
	case typ == RouteUnicast && !x.Via.IsValid():
		// As `ip route add` does: a route without a gateway is on-link.
		dst.Scope = ScopeLink
	default:
		dst.Scope = ScopeUniverse
	}
	NormalizeRoute(dst)
}

// NOTE: placing the routes in key order reads their intent entries at
// random, 150 bytes each over 15 MB for 100k routes, a cache and TLB miss
// a route: 8–11 ms of `nictab apply -f`'s resolve. The routes of a file
// mostly differ only in what their keys hold (destination, table,
// metric); the rest, as intentRoute makes it, is kept once per set of
// attributes, and a route is then placed from its key and its template.
// bench/timeline.sh's 100k routes (7 alternated runs, medians): placing
// 7.1 → 4.8 ms, collecting 3.7 → 4.5 ms.

// routeTemplate is what intentRoute makes of an intent route without
// metrics besides its table, destination and metric, which its key holds.
type routeTemplate struct {
	gw, src netip.Addr
	dev     string
	typ     RouteType
	scope   Scope
}

// maxTemplates is the most templates a resolve keeps: past it, routes
// are placed from their intent entries. A variable, so that a test takes
// both ways.
var maxTemplates = 1024

// template returns the index of rt's template in r.tmpls, made if need
// be, or -1 once there are maxTemplates. The last few made are searched:
// a file's routes come in runs of the same attributes.
func (r *resolver) template(rt *Route) int32 {
	t := routeTemplate{gw: rt.Gw, src: rt.Src, dev: rt.Dev, typ: rt.Type, scope: rt.Scope}
	for i := len(r.tmpls) - 1; i >= 0 && i >= len(r.tmpls)-4; i-- {
		if r.tmpls[i] == t {
			return int32(i)
		}
	}
	if len(r.tmpls) >= maxTemplates {
		return -1
	}
	r.tmpls = append(r.tmpls, t)
	return int32(len(r.tmpls) - 1)
}

// dst is the destination k is the key of.
func (k *routeIdx) dst() netip.Prefix {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.addrHi)
	binary.BigEndian.PutUint64(b[8:], k.addrLo)
	a := netip.AddrFrom16(b)
	if k.fam == 4 {
		a = a.Unmap()
	}
	return netip.PrefixFrom(a, int(k.bits))
}

// placeAt sets *dst to desired route p.
func (r *resolver) placeAt(dst *Route, p int32) {
	n := int32(len(r.d.Routes))
	if p < n {
		*dst = r.d.Routes[p]
		return
	}
	k := &r.keys[p]
	if t := r.tmplOf[p-n]; t >= 0 {
		// The fields intentRoute writes, and only those.
		tp := &r.tmpls[t]
		dst.Table, dst.Type, dst.Dst, dst.Gw, dst.Dev, dst.Src = k.table, tp.typ, k.dst(), tp.gw, tp.dev, tp.src
		dst.Proto, dst.Metric, dst.Scope = ProtoNictab, k.metric, tp.scope
		return
	}
	intentRoute(dst, &r.in.Routes[r.originOf(p)], k.table, true)
}

// routeAt is desired route p.
func (r *resolver) routeAt(p int32) Route {
	var rt Route
	r.placeAt(&rt, p)
	return rt
}

// originOf is where in the intent desired route p came from: the intent's
// routes follow the NICs' in order, less those refused (skipped).
func (r *resolver) originOf(p int32) int32 {
	if p < int32(len(r.origin)) {
		return r.origin[p]
	}
	i := p - int32(len(r.origin))
	for _, s := range r.skipped {
		if s > i {
			break
		}
		i++
	}
	return i
}

// placeRoutes refuses two desired routes with the same key, as
// checkClashes says, and returns the desired routes in key order (as
// sortRoutes puts them), or nil when any clash.
func (r *resolver) placeRoutes() []Route {
	order, runs := orderKeys(r.keys)
	r.checkClashes(order, runs)
	if len(r.errs) > 0 {
		return nil
	}
	// No desired route has a source prefix, so a run of keys equal up to
	// the metric is a clash: where the orders of compareIdx and
	// compareRouteKeys could differ, nothing is placed.
	var out []Route
	if len(order) <= cap(r.placed) {
		out = r.placed[:len(order)]
	} else {
		out = make([]Route, len(order))
	}
	if uintptr(len(out))*unsafe.Sizeof(Route{}) > placeMaxBytes {
		for p := range out {
			r.placeAt(&out[p], int32(p))
		}
		permuteRoutes(out, order)
		return out
	}
	place := func(lo, hi int) {
		for k := lo; k < hi; k++ {
			r.placeAt(&out[k], order[k])
		}
	}
	if len(order) < placeSplitMin {
		place(0, len(order))
		return out
	}
	// Placing reads the keys and the intent and writes only its slot: a
	// half on each core. The other core is idle here but for mapPlaced.
	mid := len(order) / 2
	var wg sync.WaitGroup
	wg.Go(func() { place(mid, len(order)) })
	place(0, mid)
	wg.Wait()
	return out
}

// placeSplitMin is the number of routes from which placeRoutes places
// them in two halves at once: 100k took 3 ms on one core. A variable,
// so that a test takes both ways.
var placeSplitMin = 16384

// mapPlaced returns the room for n placed routes, or nil when n routes
// are past placeMaxBytes (placed in file order, as written), and the
// room for the changes of a plan of them from live, or nil when it is
// small. The pages of the first are mapped on another goroutine while
// the keys are collected and sorted, those of the second once the routes
// are placed (Resolve).
//
// NOTE: mapping the 24 MB of 100k routes where they were placed was 5–6 ms
// of a resolve of 16, with the other core idle; mapping the 7 MB of the
// plan's changes where it was made, 1.6 ms of a plan of 6. Mapped with
// the routes' room, it held back the half of the routes placed on the
// other core.
func mapPlaced(n int, live State) ([]Route, *room[Change]) {
	var rs []Route
	if uintptr(n)*unsafe.Sizeof(Route{}) <= placeMaxBytes {
		rs = make([]Route, 0, n)
	}
	if rs != nil {
		go prefault.Slice(rs)
	}
	// At most an add for each route wanted and a delete for each of
	// nictab's live ones (see planChangesBy), and a few more. The live
	// routes are counted only for a room the wanted ones fill: live may
	// hold a full table of main's.
	var changes *room[Change]
	if c := n + 64; uintptr(c)*unsafe.Sizeof(Change{}) >= roomMin {
		for i := range live.Routes {
			if live.Routes[i].Owned() {
				c++
			}
		}
		changes = newRoom[Change](c)
	}
	return rs, changes
}

// checkClashes refuses two desired routes with the same key: the kernel
// keeps only one route per table, destination, tos and metric. The
// routes are compared in key order rather than through a map under
// RouteKey, which cost 386 bytes a route at 1M routes; each clash is
// reported at the later route, against the first of its key, in the
// order of the routes.
func (r *resolver) checkClashes(order []int32, runs []headRun) {
	for _, c := range routeClashes(r.keys, order, runs) {
		a, b := r.routeAt(c.first), r.routeAt(c.dup)
		if RouteEqual(&a, &b) {
			r.fail(fieldErr(originField(r.originOf(c.dup)), "the route %s is planned twice", RouteString(&a)))
			continue
		}
		r.fail(fieldErr(originField(r.originOf(c.dup)), "%s clashes with %s: a table holds one route per destination and metric; give each NIC its own table, or set a metric", RouteString(&b), RouteString(&a)))
	}
}

// routeClash is a route (dup) with the key of an earlier one (first).
type routeClash struct{ first, dup int32 }

// routeClashes lists the routes whose key an earlier route has, given
// keys and their orderKeys, in the order of the routes. Equal keys are
// equal up to the metric, so only the runs are searched.
func routeClashes(keys []routeIdx, order []int32, runs []headRun) []routeClash {
	var clashes []routeClash
	for _, run := range runs {
		for k := run.start; k < run.end; {
			first, end := order[k], k+1
			for end < run.end && compareIdx(&keys[order[end]], &keys[first]) == 0 {
				clashes = append(clashes, routeClash{first, order[end]})
				end++
			}
			k = end
		}
	}
	slices.SortFunc(clashes, func(a, b routeClash) int { return cmp.Compare(a.dup, b.dup) })
	return clashes
}
