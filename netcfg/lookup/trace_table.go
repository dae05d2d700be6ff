package lookup

import (
	"cmp"
	"slices"

	"github.com/nictab/nictab/netcfg"
)

// tableResult is what one table gives for a flow.
type tableResult struct {
	// route is nil when the table has no route for the flow.
	route *netcfg.Route
	nh    int
	// err is set for a route that refuses the packet (blackhole,
	// unreachable, prohibit).
	err Errno
	// throw is set for a throw route: the rules go on.
	throw bool
}

func (t *tracer) lookup(table uint32, f *flow) tableResult {
	var cands []*netcfg.Route
	for _, r := range t.tables[table] {
		if r.Dst.Contains(f.dst) {
			cands = append(cands, r)
		}
	}
	if t.fam == netcfg.V4 {
		return t.lookup4(cands, f)
	}
	return t.lookup6(cands, f)
}

// lookup4 follows fib_table_lookup: the longest prefix first; within a
// prefix the routes with a tos first (highest first), then by metric; a
// route whose tos differs from the packet's is passed over, as is one
// whose next hops are all down or, for a packet bound to a device, none
// leaves through it. A route that refuses the packet ends the lookup
// before its next hops are looked at.
func (t *tracer) lookup4(cands []*netcfg.Route, f *flow) tableResult {
	slices.SortStableFunc(cands, func(a, b *netcfg.Route) int {
		if c := cmp.Compare(b.Dst.Bits(), a.Dst.Bits()); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Tos, a.Tos); c != 0 {
			return c
		}
		return cmp.Compare(a.Metric, b.Metric)
	})
	for _, r := range cands {
		// Like rule tos, route tos is compared with the TOS bits 0x1c.
		if r.Tos != 0 && r.Tos != f.tos&0x1c {
			continue
		}
		if r.Scope < f.minScope {
			continue
		}
		if err, throw, reject := rejectErr(r.Type); reject {
			return tableResult{route: r, nh: -1, err: err, throw: throw}
		}
		if nh, ok := t.pickNextHop4(r, f); ok {
			return tableResult{route: r, nh: nh}
		}
	}
	return tableResult{nh: -1}
}

// rejectErr maps the route types that refuse a packet to the kernel's
// error; throw (EAGAIN) sends the lookup on to the next rule.
func rejectErr(typ netcfg.RouteType) (err Errno, throw, reject bool) {
	switch typ {
	case netcfg.RouteBlackhole, netcfg.RouteNAT:
		return EINVAL, false, true
	case netcfg.RouteUnreachable:
		return EHOSTUNREACH, false, true
	case netcfg.RouteProhibit:
		return EACCES, false, true
	case netcfg.RouteThrow:
		return 0, true, true
	}
	return 0, false, false
}

// pickNextHop4 returns the first usable next hop (-1 for a route without
// multipath).
func (t *tracer) pickNextHop4(r *netcfg.Route, f *flow) (int, bool) {
	if len(r.MultiPath) == 0 {
		if t.devDown(r.Dev) || (f.oif != "" && r.Dev != f.oif) {
			return -1, false
		}
		return -1, true
	}
	for i, nh := range r.MultiPath {
		if t.devDown(nh.Dev) || (f.oif != "" && nh.Dev != f.oif) {
			continue
		}
		return i, true
	}
	return -1, false
}

// devDown reports whether a device is known and down: the kernel treats
// the next hops through it as dead.
func (t *tracer) devDown(name string) bool {
	l, ok := t.s.Link(name)
	return ok && !l.Up
}

// lookup6 follows fib6_table_lookup and rt6_select: the longest prefix
// first; within a prefix, among the routes of the lowest metric, the first
// through the preferred device (any route when there is no preference).
// With a strict preference, a route through another device does not
// count, and routes of higher metrics are tried before the lookup backs
// off to a shorter prefix.
//
// NOTE: IPv6 routes that refuse packets (blackhole, unreachable, prohibit,
// throw) go through the loopback device, so a lookup that must leave
// through a given device passes over them, unlike IPv4, where such a route
// ends the lookup whatever the device.
func (t *tracer) lookup6(cands []*netcfg.Route, f *flow) tableResult {
	// Routes of one prefix keep the kernel's order: by metric, and in the
	// order added within a metric.
	slices.SortStableFunc(cands, func(a, b *netcfg.Route) int {
		if c := cmp.Compare(b.Dst.Bits(), a.Dst.Bits()); c != 0 {
			return c
		}
		return cmp.Compare(a.Metric, b.Metric)
	})
	for start := 0; start < len(cands); {
		end := start
		for end < len(cands) && cands[end].Dst.Bits() == cands[start].Dst.Bits() {
			end++
		}
		if r, nh := t.select6(cands[start:end], f); r != nil {
			if err, throw, reject := rejectErr(r.Type); reject {
				return tableResult{route: r, nh: -1, err: err, throw: throw}
			}
			return tableResult{route: r, nh: nh}
		}
		start = end
	}
	return tableResult{nh: -1}
}

// select6 picks the route of one prefix node as rt6_select does.
func (t *tracer) select6(node []*netcfg.Route, f *flow) (*netcfg.Route, int) {
	best, bestNH, bestScore := (*netcfg.Route)(nil), -1, -1
	consider := func(r *netcfg.Route) {
		score, nh := t.score6(r, f)
		if score > bestScore {
			best, bestNH, bestScore = r, nh, score
		}
	}
	m0 := node[0].Metric
	for _, r := range node {
		if r.Metric == m0 {
			consider(r)
		}
	}
	if best == nil {
		for _, r := range node {
			if r.Metric != m0 {
				consider(r)
			}
		}
	}
	return best, bestNH
}

// score6 is rt6_score_route: 2 for a route through the preferred device
// (or when there is none), 0 for another, -1 when it cannot be used.
func (t *tracer) score6(r *netcfg.Route, f *flow) (int, int) {
	devs := []string{r.Dev}
	if len(r.MultiPath) > 0 {
		devs = devs[:0]
		for _, nh := range r.MultiPath {
			devs = append(devs, nh.Dev)
		}
	}
	best, bestNH := -1, -1
	for i, d := range devs {
		if _, _, reject := rejectErr(r.Type); reject || d == "" {
			d = t.lo
		}
		if t.devDown(d) {
			continue
		}
		s := 0
		switch {
		case f.prefer == "" || d == f.prefer:
			s = 2
		case f.strict:
			continue
		}
		if s > best {
			best, bestNH = s, i
		}
	}
	if len(r.MultiPath) == 0 {
		bestNH = -1
	}
	return best, bestNH
}

// gatewayIsLocal4 reports whether the gateway of next hop nh of an IPv4
// route resolves to a local route, as the kernel finds when the route is
// added: first in the route's own table, then through the rules, among
// routes of link or host scope through the route's device.
//
// NOTE: the kernel resolves a gateway once, when the route is added, and
// a gateway that resolves to a local route (an address of this host, or a
// `local` route that covers it) gives a next hop of host scope, which the
// kernel does not send through: `ip route get` reports the route's device
// and no gateway. A state does not record how a gateway was resolved, so
// the simulator resolves it against the state it has, which agrees unless
// the rules or local routes changed after the route was added.
func (t *tracer) gatewayIsLocal4(rt *netcfg.Route, nh int) bool {
	gw := routeGw(rt, nh)
	if !gw.Is4() {
		return false
	}
	f := flow{dst: gw, iif: t.lo, oif: routeDev(rt, nh), minScope: netcfg.ScopeLink}
	if rt.Table != netcfg.TableMain {
		if res := t.lookup(rt.Table, &f); res.route != nil && res.err == 0 && !res.throw {
			return res.route.Type == netcfg.RouteLocal
		}
	}
	d := t.walk(&f, nil)
	return d.err == 0 && d.route != nil && d.route.Type == netcfg.RouteLocal
}
