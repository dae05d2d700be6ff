package netcfg

import "reflect"

// RouteIdentical is reflect.DeepEqual of two routes, field by field
// without reflection where it can: unlike RouteEqual it tells a dead or
// link-down next hop, an expiry's value, nil from empty lists and nil from
// zero metrics apart, as a snapshot's bytes do.
func RouteIdentical(x, y *Route) bool {
	if x.Table != y.Table || x.Type != y.Type || x.Dst != y.Dst || x.Gw != y.Gw || x.Dev != y.Dev ||
		x.Src != y.Src || x.Scope != y.Scope || x.Proto != y.Proto || x.Metric != y.Metric ||
		x.Tos != y.Tos || x.Onlink != y.Onlink || x.From != y.From || x.NHID != y.NHID ||
		!sameMetrics(x.Metrics, y.Metrics) || x.Pref != y.Pref || x.Realms != y.Realms || x.Expires != y.Expires ||
		x.Dead != y.Dead || x.LinkDown != y.LinkDown {
		return false
	}
	if x.MultiPath != nil || y.MultiPath != nil || x.Encap != nil || y.Encap != nil || x.Unmodelled != nil || y.Unmodelled != nil {
		return reflect.DeepEqual(x.MultiPath, y.MultiPath) && reflect.DeepEqual(x.Encap, y.Encap) && reflect.DeepEqual(x.Unmodelled, y.Unmodelled)
	}
	return true
}

// sameMetrics is reflect.DeepEqual of two *Metrics: both nil, or equal
// contents. Unlike MetricsEqual it tells nil from a pointer to zero
// Metrics, which no route should hold but DeepEqual would not overlook.
func sameMetrics(a, b *Metrics) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
