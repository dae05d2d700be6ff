package ui

import (
	"strconv"

	"github.com/nictab/nictab/netcfg"
)

// NOTE: a plan of 100k routes prints 200k lines. The appenders here write
// the diff line of a route change straight into the writer's buffer, with
// no string per word; they handle the routes of netcfg.BasicRoute whose
// text needs no escaping, and leave everything else to routeTextWords and
// changeTextWords, whose text they reproduce byte for byte
// (TestPlanTextFastSameOnRandomPlans).

// routeTextWord reports whether a device name would be read as one of the
// words RouteText looks at, which moves what it drops.
func routeTextWord(s string) bool {
	switch s {
	case "table", "proto", "metric", "scope":
		return true
	}
	return false
}

// appendRouteText appends RouteText(r, names) to b when r is a
// netcfg.BasicRoute and its text is plain ASCII; otherwise it returns b
// unchanged and false.
func appendRouteText(b []byte, r *netcfg.Route, names *netcfg.Names) ([]byte, bool) {
	if !netcfg.BasicRoute(r) || routeTextWord(r.Dev) {
		return b, false
	}
	start := len(b)
	b = netcfg.AppendRouteHead(b, r, false)
	if r.Dev != "" {
		b = append(b, " dev "...)
		b = append(b, r.Dev...)
	}
	if r.Proto != netcfg.ProtoUnspec && r.Proto != netcfg.ProtoNictab {
		b = append(b, " proto "...)
		if names != nil {
			b = append(b, names.ProtoName(r.Proto)...)
		} else {
			b = strconv.AppendUint(b, uint64(r.Proto), 10)
		}
	}
	fam := r.Family()
	if fam == netcfg.V4 {
		// The scope a route gets by default says nothing.
		switch {
		case r.Scope == netcfg.ScopeUniverse && r.Gw.IsValid():
		case r.Scope == netcfg.ScopeLink && !r.Gw.IsValid():
		default:
			b = append(b, " scope "...)
			b = append(b, r.Scope.String()...)
		}
	}
	if r.Src.IsValid() {
		b = append(b, " src "...)
		b = r.Src.AppendTo(b)
	}
	// 1024 is what the kernel gives an IPv6 route without one.
	if (r.Metric != 0 && fam != netcfg.V6) || (fam == netcfg.V6 && r.Metric != 1024) {
		b = append(b, " metric "...)
		b = strconv.AppendUint(b, uint64(r.Metric), 10)
	}
	if r.Onlink {
		b = append(b, " onlink"...)
	}
	if !netcfg.PlainASCII(b[start:]) {
		return b[:start], false
	}
	return b, true
}

// appendChangeText appends ChangeText(c, names) to b when c adds,
// deletes or replaces routes appendRouteText writes; otherwise it
// returns b unchanged and false.
func appendChangeText(b []byte, c *netcfg.Change, names *netcfg.Names) ([]byte, bool) {
	start := len(b)
	var ok bool
	switch c.Action {
	case netcfg.ChangeAdd, netcfg.ChangeDelete:
		s := c.Subject()
		if s.Route == nil || s.Rule != nil {
			return b, false
		}
		b = append(b, c.Action.Mark()...)
		b = append(b, " route "...)
		b, ok = appendRouteText(b, s.Route, names)
	case netcfg.ChangeReplace:
		if c.Before.Route == nil || c.After.Route == nil || c.Before.Rule != nil || c.After.Rule != nil {
			return b, false
		}
		// ChangeText says the kind once and trims a family both sides
		// end with; a route's text names no family, but a device name
		// could end with one, and ChangeText is left to handle it.
		b = append(b, "~ route "...)
		if b, ok = appendRouteText(b, c.Before.Route, names); ok {
			b = append(b, "  →  "...)
			b, ok = appendRouteText(b, c.After.Route, names)
		}
		if ok && b[len(b)-1] == ')' {
			ok = false
		}
	}
	if !ok {
		return b[:start], false
	}
	return b, true
}
