package netcfg

import (
	"cmp"
	"slices"
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

// placeAt sets *dst to desired route p.
func (r *resolver) placeAt(dst *Route, p int32) {
	if n := int32(len(r.d.Routes)); p < n {
		*dst = r.d.Routes[p]
		return
	}
	intentRoute(dst, &r.in.Routes[r.originOf(p)], r.keys[p].table, true)
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
	out := make([]Route, len(order))
	if uintptr(len(out))*unsafe.Sizeof(Route{}) > placeMaxBytes {
		for p := range out {
			r.placeAt(&out[p], int32(p))
		}
		permuteRoutes(out, order)
		return out
	}
	prefault.Slice(out)
	for k, p := range order {
		r.placeAt(&out[k], p)
	}
	return out
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
