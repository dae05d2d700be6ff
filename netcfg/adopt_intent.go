package netcfg

import "slices"

// RuleIntentOf is the explicit rule entry of an intent that resolves to r
// (with nictab's protocol), so an adopted rule is kept by the next plan of
// that intent. ok is false when an entry cannot say r: an action other
// than lookup, goto, nop, blackhole, unreachable and prohibit, a selector
// the intent has no field for (l3mdev, the suppressors, realms, anything
// opaque), or no address to tell its family by (an entry without from and
// to means both families, or IPv6 alone with a flowlabel).
func RuleIntentOf(r *Rule) (RuleIntent, bool) {
	lookup := r.Action == ActionLookup
	if !lookup && !slices.Contains(IntentRuleActions, r.Action) || r.L3MDev || r.SuppressPrefixLen >= 0 || r.SuppressIfgroup >= 0 ||
		r.Realms != 0 || len(r.Opaque()) > 0 {
		return RuleIntent{}, false
	}
	if !r.From.IsValid() && !r.To.IsValid() && (r.FlowLabel == nil || r.Family != V6) {
		return RuleIntent{}, false
	}
	x := RuleIntent{Priority: r.Priority, Not: r.Not, From: r.From, To: r.To, IIF: r.IIF, OIF: r.OIF, FwMark: r.Mark,
		UIDRange: r.UIDRange, IPProto: r.IPProto, SPort: r.SPort, DPort: r.DPort, Tos: r.Tos, DSCP: r.DSCP, FlowLabel: r.FlowLabel, TunID: r.TunID}
	switch {
	case lookup:
		x.Table = TableRef{ID: r.Table}
	case r.Action == ActionGoto:
		x.Action, x.Goto = r.Action, r.Goto
	default:
		x.Action = r.Action
	}
	return x, true
}

// RouteIntentOf is the explicit route entry of an intent that resolves to
// r, or ok false when an entry cannot say it (multipath, tos, onlink, a
// locked metric or one other than mtu and advmss, or attributes an entry
// has no field for).
func RouteIntentOf(r *Route) (RouteIntent, bool) {
	// An entry says mtu and advmss, unlocked; any other metric is beyond it.
	// rest gets its own metrics: r's are shared with every copy of r.
	rest, m := *r, r.Metrics.Value()
	m.Values[RTAXMTU], m.Values[RTAXAdvMSS] = 0, 0
	rest.Metrics = m.Ptr()
	if len(r.MultiPath) > 0 || r.Tos != 0 || r.Onlink || m.Lock != 0 || rest.Extended() {
		return RouteIntent{}, false
	}
	sc := r.Scope
	return RouteIntent{Table: TableRef{ID: r.Table}, Type: r.Type, To: r.Dst, Via: r.Gw, Dev: r.Dev, Src: r.Src, Scope: &sc, Metric: r.Metric,
		MTU: r.Metrics.Get(RTAXMTU), AdvMSS: r.Metrics.Get(RTAXAdvMSS)}, true
}
