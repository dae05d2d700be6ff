package netcfg

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// RouteKey is what the kernel uses to tell routes apart in a table: two
// routes with the same key cannot both exist (adding the second fails with
// "File exists"; replacing swaps it atomically).
type RouteKey struct {
	Table  uint32
	Dst    netip.Prefix
	Tos    uint8
	Metric uint32
	// From is the source prefix of an IPv6 source-specific route.
	From netip.Prefix
}

// Key returns the route's identity in its table.
func (r *Route) Key() RouteKey {
	return RouteKey{Table: r.Table, Dst: r.Dst, Tos: r.Tos, Metric: r.Metric, From: r.From}
}

func (k RouteKey) String() string {
	dst := k.Dst.String()
	if k.Dst.Bits() == 0 {
		dst = "default"
		if k.Dst.Addr().Is6() {
			dst = "default (IPv6)"
		}
	}
	s := dst
	if k.From.IsValid() {
		s += " from " + k.From.String()
	}
	s += " table " + strconv.FormatUint(uint64(k.Table), 10)
	if k.Metric != 0 {
		s += " metric " + strconv.FormatUint(uint64(k.Metric), 10)
	}
	return s
}

// Compare orders keys by table, family, destination, then metric, which is
// the order in which routes are shown.
func (k RouteKey) Compare(o RouteKey) int {
	if k.Table != o.Table {
		return cmpU32(k.Table, o.Table)
	}
	if c := k.Dst.Addr().Compare(o.Dst.Addr()); c != 0 {
		return c
	}
	if k.Dst.Bits() != o.Dst.Bits() {
		return k.Dst.Bits() - o.Dst.Bits()
	}
	if k.Tos != o.Tos {
		return int(k.Tos) - int(o.Tos)
	}
	if k.Metric != o.Metric {
		return cmpU32(k.Metric, o.Metric)
	}
	if c := k.From.Addr().Compare(o.From.Addr()); c != 0 {
		return c
	}
	return k.From.Bits() - o.From.Bits()
}

// CompareRouteKeys is a.Key().Compare(b.Key()) without the two keys.
func CompareRouteKeys(a, b *Route) int { return compareRouteKeys(a, b) }

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// RouteEqual reports whether two routes are the same in every attribute
// nictab reads.
//
// Kernel state that follows links (dead, linkdown) is not compared, and of
// an expiry only whether there is one: its count runs down while it is read.
func RouteEqual(a, b *Route) bool {
	return a.Table == b.Table && a.Type == b.Type && a.Dst == b.Dst && a.Gw == b.Gw &&
		a.Dev == b.Dev && a.Src == b.Src && a.Scope == b.Scope && a.Proto == b.Proto &&
		a.Metric == b.Metric && a.Tos == b.Tos && a.Onlink == b.Onlink &&
		a.From == b.From && a.NHID == b.NHID && MetricsEqual(a.Metrics, b.Metrics) && a.Pref == b.Pref &&
		a.Realms == b.Realms && (a.Expires == 0) == (b.Expires == 0) && encapEqual(a.Encap, b.Encap) &&
		rawAttrsEqual(a.Unmodelled, b.Unmodelled) &&
		slices.EqualFunc(a.MultiPath, b.MultiPath, nextHopEqual)
}

func nextHopEqual(a, b NextHop) bool {
	return a.Gw == b.Gw && a.Dev == b.Dev && a.Weight == b.Weight && a.Onlink == b.Onlink &&
		a.Realms == b.Realms && encapEqual(a.Encap, b.Encap) && rawAttrsEqual(a.Unmodelled, b.Unmodelled)
}

// RouteEqualIgnoringProto is RouteEqual without the protocol: a route that
// a person installed by hand and one nictab would install can be the same
// route.
func RouteEqualIgnoringProto(a, b *Route) bool {
	c := *b
	c.Proto = a.Proto
	return RouteEqual(a, &c)
}

// RuleKey is the full identity of a rule: the kernel refuses a second rule
// only when every attribute, protocol included, is the same.
func RuleKey(r *Rule) string {
	var b strings.Builder
	b.WriteString(r.Family.String())
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(uint64(r.Priority), 10))
	for _, a := range RuleArgs(r) {
		b.WriteByte(' ')
		b.WriteString(a)
	}
	for _, a := range rawArgs(r.Unmodelled) {
		b.WriteByte(' ')
		b.WriteString(a)
	}
	return b.String()
}

// RuleEqual reports whether two rules are the same in every attribute.
func RuleEqual(a, b *Rule) bool { return RuleKey(a) == RuleKey(b) }

// RuleEqualIgnoringProto is RuleEqual without the protocol.
func RuleEqualIgnoringProto(a, b *Rule) bool {
	c := *b
	c.Proto = a.Proto
	return RuleEqual(a, &c)
}

// CompareRules orders rules as the kernel walks them: by priority, then
// IPv4 before IPv6, then by their text so the order is total.
func CompareRules(a, b *Rule) int {
	if a.Priority != b.Priority {
		return cmpU32(a.Priority, b.Priority)
	}
	if a.Family != b.Family {
		return int(a.Family) - int(b.Family)
	}
	return strings.Compare(RuleKey(a), RuleKey(b))
}
