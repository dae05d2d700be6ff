package netcfg

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// flow is the lookup key the kernel builds for one fib lookup (struct
// flowi4/flowi6): what rules and routes are matched against.
type flow struct {
	dst netip.Addr
	// src is invalid when the packet has no source yet.
	src netip.Addr
	// iif is the input device: the loopback device for a packet this host
	// sends.
	iif   string
	oif   string
	mark  uint32
	uid   uint32
	proto uint8
	sport uint16
	dport uint16
	// tos is the DS field with the ECN bits cleared.
	tos       uint8
	flowlabel uint32
	tunID     uint64
	// prefer is the device IPv6 route selection prefers among routes of
	// one prefix (the output device, or for a packet that arrives, its
	// input device); strict makes it a requirement.
	prefer string
	strict bool
	// minScope passes over IPv4 routes of a wider scope, as the kernel's
	// lookup of a gateway does.
	minScope Scope
}

// decision is the outcome of a walk through the rules.
type decision struct {
	rule  *Rule
	table uint32
	route *Route
	// nh is the next hop chosen among route.MultiPath, -1 for a route
	// without.
	nh int
	// err is set when the rule or route refuses the packet, or nothing
	// matched (ENETUNREACH with rule nil).
	err     Errno
	verdict Verdict
	loop    bool
	// undetermined says why the walk stopped at rule without an answer.
	undetermined string
}

// maxSteps bounds a walk; a kernel rule list can never need more than one
// visit per rule, since goto only jumps forwards.
func (t *tracer) maxSteps() int { return 2*len(t.rules) + 8 }

// walk runs the fib rules for f. steps, when not nil, receives every rule
// tried.
func (t *tracer) walk(f *flow, steps *[]Step) decision {
	record := func(s Step) {
		if steps != nil {
			*steps = append(*steps, s)
		}
	}
	n := 0
	for i := 0; i < len(t.rules); {
		n++
		r := &t.rules[i]
		if n > t.maxSteps() {
			record(Step{Rule: *r, Result: StepLoop, Why: "the rules keep jumping; stopped"})
			return decision{rule: r, loop: true, verdict: VerdictLoop, err: EINVAL}
		}
		ok, why, und := t.match(r, f)
		if und != "" {
			record(Step{Rule: *r, Result: StepUndetermined, Why: und})
			return decision{rule: r, err: EINVAL, verdict: VerdictUndetermined, nh: -1, undetermined: und}
		}
		if !ok {
			record(Step{Rule: *r, Result: StepNoMatch, Why: why})
			i++
			continue
		}
		switch r.Action {
		case ActionGoto:
			if r.Goto <= r.Priority {
				record(Step{Rule: *r, Result: StepLoop, Why: fmt.Sprintf("goto %d jumps backwards and can loop; the kernel refuses such a rule", r.Goto)})
				return decision{rule: r, loop: true, verdict: VerdictLoop, err: EINVAL}
			}
			j := t.ruleAt(r.Goto)
			if j < 0 {
				record(Step{Rule: *r, Result: StepGotoUnresolved, Why: fmt.Sprintf("matches, but no rule has priority %d; the kernel goes on with the next rule", r.Goto)})
				i++
				continue
			}
			record(Step{Rule: *r, Result: StepGoto, Why: fmt.Sprintf("matches; jumps to priority %d", r.Goto)})
			i = j
			continue
		case ActionNop:
			record(Step{Rule: *r, Result: StepNop, Why: "matches; nop does nothing"})
			i++
			continue
		case ActionBlackhole:
			record(Step{Rule: *r, Result: StepDecided, Why: "matches; blackhole drops the packet"})
			return decision{rule: r, err: EINVAL, verdict: VerdictBlackhole, nh: -1}
		case ActionUnreachable:
			record(Step{Rule: *r, Result: StepDecided, Why: "matches; unreachable refuses the packet"})
			return decision{rule: r, err: ENETUNREACH, verdict: VerdictUnreachable, nh: -1}
		case ActionProhibit:
			record(Step{Rule: *r, Result: StepDecided, Why: "matches; prohibit refuses the packet"})
			return decision{rule: r, err: EACCES, verdict: VerdictProhibit, nh: -1}
		case ActionLookup:
		default:
			record(Step{Rule: *r, Result: StepDecided, Why: "matches; its action " + r.Action.String() + " drops the packet"})
			return decision{rule: r, err: EINVAL, verdict: VerdictBlackhole, nh: -1}
		}

		table := r.Table
		if table == TableUnspec {
			// The kernel reads table 0 as main.
			table = TableMain
		}
		st := Step{Rule: *r, Table: table}
		if !t.s.HasTable(table) {
			t.missing[table] = true
			st.Partial = true
		}
		res := t.lookup(table, f)
		if res.route != nil {
			c := *res.route
			st.Route = &c
		}
		switch {
		case res.route == nil:
			st.Result, st.Why = StepNoRoute, fmt.Sprintf("matches; table %s has no route for %s, next rule", t.tableLabel(table), f.dst)
		case res.throw:
			st.Result, st.Why = StepThrow, fmt.Sprintf("matches; table %s throws %s back (%s), next rule", t.tableLabel(table), f.dst, RouteString(res.route))
		case res.err != 0:
			st.Result, st.Why = StepDecided, fmt.Sprintf("matches; table %s has %s", t.tableLabel(table), RouteString(res.route))
			record(st)
			return decision{rule: r, table: table, route: res.route, nh: -1, err: res.err, verdict: routeVerdict(res.route.Type)}
		default:
			if why, sup := t.suppressed(r, res.route, res.nh); sup {
				st.Result, st.Why = StepSuppressed, fmt.Sprintf("matches; table %s gives %s, but %s, next rule", t.tableLabel(table), RouteString(res.route), why)
				break
			}
			st.Result, st.Why = StepDecided, fmt.Sprintf("matches; table %s gives %s", t.tableLabel(table), RouteString(res.route))
			record(st)
			return decision{rule: r, table: table, route: res.route, nh: res.nh, verdict: routeVerdict(res.route.Type)}
		}
		record(st)
		i++
	}
	return decision{err: ENETUNREACH, verdict: VerdictNoRoute, nh: -1}
}

// ruleAt returns the index of the rule a goto to prio lands on: the first
// rule with that priority, as the kernel resolves it.
func (t *tracer) ruleAt(prio uint32) int {
	for i := range t.rules {
		if t.rules[i].Priority == prio {
			return i
		}
	}
	return -1
}

func (t *tracer) tableLabel(id uint32) string { return t.s.Names.TableLabel(id) }

func routeVerdict(typ RouteType) Verdict {
	switch typ {
	case RouteLocal, RouteAnycast:
		return VerdictLocal
	case RouteBroadcast:
		return VerdictBroadcast
	case RouteBlackhole:
		return VerdictBlackhole
	case RouteUnreachable:
		return VerdictUnreachable
	case RouteProhibit:
		return VerdictProhibit
	case RouteUnicast, RouteUnspec:
		return VerdictRouted
	}
	return VerdictRefused
}

// suppressed applies a rule's suppress_prefixlength and suppress_ifgroup
// to the route its table gave.
func (t *tracer) suppressed(r *Rule, rt *Route, nh int) (string, bool) {
	if r.SuppressPrefixLen >= 0 && rt.Dst.Bits() <= r.SuppressPrefixLen {
		return fmt.Sprintf("its prefix length %d is within suppress_prefixlength %d", rt.Dst.Bits(), r.SuppressPrefixLen), true
	}
	if r.SuppressIfgroup >= 0 {
		// IPv6 checks the device of the next hop chosen (for a route to
		// this host too, though the packet is then handed to the loopback
		// device); IPv4 the route's first next hop.
		dev := routeDev(rt, nh)
		if t.fam == V4 {
			dev = routeDev(rt, 0)
		}
		if l, ok := t.s.Link(dev); ok && int64(l.Group) == int64(r.SuppressIfgroup) {
			return fmt.Sprintf("its device %s is in group %d, which suppress_ifgroup excludes", dev, l.Group), true
		}
	}
	return "", false
}

// routeDev is the device of next hop nh of a route (-1 or 0 for the
// first).
func routeDev(rt *Route, nh int) string {
	if len(rt.MultiPath) > 0 {
		return rt.MultiPath[max(nh, 0)].Dev
	}
	return rt.Dev
}

func routeGw(rt *Route, nh int) netip.Addr {
	if len(rt.MultiPath) > 0 {
		return rt.MultiPath[max(nh, 0)].Gw
	}
	return rt.Gw
}

// match reports whether the rule's selectors match f, with the reason when
// they do not. A `not` rule matches exactly when its selectors do not.
//
// When nothing known excludes the packet but a selector depends on what
// the probe does not give or nictab cannot simulate, the third result says
// so, and neither of the others means anything.
func (t *tracer) match(r *Rule, f *flow) (bool, string, string) {
	why := t.selectorMismatch(r, f)
	if why == "" {
		if und := t.undetermined(r); und != "" {
			return false, "", und
		}
	}
	if r.Not {
		if why == "" {
			return false, "its selectors match, and `not` inverts that", ""
		}
		return true, "", ""
	}
	return why == "", why, ""
}

// undetermined names what keeps nictab from knowing whether r matches: a
// selector on a field the probe does not give, or one it cannot simulate.
func (t *tracer) undetermined(r *Rule) string {
	var need PacketFields
	if r.Tos != 0 || r.DSCP != nil {
		need |= FieldTos
	}
	if r.FlowLabel != nil {
		need |= FieldFlowLabel
	}
	if r.IPProto != 0 {
		need |= FieldIPProto
	}
	if r.SPort != nil {
		need |= FieldSPort
	}
	if r.DPort != nil {
		need |= FieldDPort
	}
	if r.UIDRange != nil {
		need |= FieldUID
	}
	if r.TunID != 0 {
		need |= FieldTunID
	}
	rule := strings.Replace(RuleString(r), ":\t", ": ", 1)
	if need &= t.unknown; need != 0 {
		return fmt.Sprintf("undetermined: rule %s selects on %s, which the probe does not give (%s)", rule, strings.Join(need.Names(), ", "), strings.Join(need.Flags(), ", "))
	}
	if r.L3MDev {
		return fmt.Sprintf("undetermined: rule %s selects VRF traffic (l3mdev), and VRFs are not simulated", rule)
	}
	if len(r.Unmodelled) > 0 {
		return fmt.Sprintf("undetermined: rule %s carries %s, which nictab cannot simulate", rule, RuleOpaqueText(r))
	}
	return ""
}

// selectorMismatch returns why the first selector of r that fails does,
// or "" when every selector matches.
func (t *tracer) selectorMismatch(r *Rule, f *flow) string {
	if r.IIF != "" && r.IIF != f.iif {
		return fmt.Sprintf("iif %s is not %s", r.IIF, t.iifText(f))
	}
	if r.OIF != "" && r.OIF != f.oif {
		if f.oif == "" {
			return fmt.Sprintf("oif %s, and the packet is not bound to a device", r.OIF)
		}
		return fmt.Sprintf("oif %s is not %s", r.OIF, f.oif)
	}
	if r.Mark != nil && (r.Mark.Value^f.mark)&r.Mark.Mask != 0 {
		return fmt.Sprintf("fwmark %s does not match mark 0x%x", markText(r.Mark), f.mark)
	}
	if r.UIDRange != nil && t.known(FieldUID) && (f.uid < r.UIDRange.Start || f.uid > r.UIDRange.End) {
		return fmt.Sprintf("uidrange %d-%d does not hold %s", r.UIDRange.Start, r.UIDRange.End, uidText(f.uid))
	}
	if why := t.addrMismatch(r, f); why != "" {
		return why
	}
	if r.DSCP != nil && t.known(FieldTos) {
		// The DS field's upper six bits, under the rule's mask (FRA_DSCP,
		// FRA_DSCP_MASK), for both families.
		if got := f.tos >> 2; (got^r.DSCP.Value)&r.DSCP.Mask != 0 {
			return fmt.Sprintf("dscp %s does not match the packet's dscp %d", dscpArg(r.DSCP), got)
		}
	}
	if r.FlowLabel != nil && t.known(FieldFlowLabel) && f.flowlabel&r.FlowLabel.Mask != r.FlowLabel.Value {
		return fmt.Sprintf("flowlabel 0x%x/0x%x does not match the packet's 0x%x", r.FlowLabel.Value, r.FlowLabel.Mask, f.flowlabel)
	}
	if r.TunID != 0 && t.known(FieldTunID) && r.TunID != f.tunID {
		return fmt.Sprintf("tun_id %d is not the packet's %d", r.TunID, f.tunID)
	}
	if r.Tos != 0 && t.known(FieldTos) {
		got := f.tos
		// NOTE: an IPv4 rule's tos is compared with the packet's TOS bits
		// 0x1c only (the kernel keeps the old meaning of "tos" for
		// rules), so tos 0x10 matches a packet with DS field 0x30. IPv6
		// compares the whole DSCP.
		if t.fam == V4 {
			got &= 0x1c
		}
		if got != r.Tos {
			return fmt.Sprintf("tos 0x%02x does not match the packet's 0x%02x", r.Tos, f.tos)
		}
	}
	if r.IPProto != 0 && t.known(FieldIPProto) && r.IPProto != f.proto {
		return fmt.Sprintf("ipproto %s is not the packet's %s", IPProtoName(r.IPProto), IPProtoName(f.proto))
	}
	if r.SPort != nil && t.known(FieldSPort) && !portMatch(r.SPort, f.sport) {
		return fmt.Sprintf("sport %s does not hold %d", portArg(r.SPort), f.sport)
	}
	if r.DPort != nil && t.known(FieldDPort) && !portMatch(r.DPort, f.dport) {
		return fmt.Sprintf("dport %s does not hold %d", portArg(r.DPort), f.dport)
	}
	return ""
}

// known reports whether the probe gives the field; a selector on one it
// does not give is not held against the packet (see undetermined).
func (t *tracer) known(f PacketFields) bool { return t.unknown&f == 0 }

// portMatch is the kernel's fib_rule_port_match: with a mask the port's
// masked bits must equal the start, else it must lie in the range.
func portMatch(r *PortRange, port uint16) bool {
	if r.Mask != 0 {
		return (port^r.Start)&r.Mask == 0
	}
	return port >= r.Start && port <= r.End
}

func dscpArg(d *DSCPMatch) string {
	if d.Mask == 0x3f {
		return strconv.Itoa(int(d.Value))
	}
	return fmt.Sprintf("%d/0x%x", d.Value, d.Mask)
}

func (t *tracer) addrMismatch(r *Rule, f *flow) string {
	if r.From.IsValid() && r.From.Bits() > 0 {
		switch {
		case f.src.IsValid():
			if !r.From.Contains(f.src) {
				return fmt.Sprintf("from %s does not hold %s", prefixArg(r.From), f.src)
			}
		case t.fam == V6:
			// NOTE: an IPv6 `from` rule never matches a packet that has no
			// source yet; the kernel would have to pick the source first.
			return fmt.Sprintf("from %s, and the packet has no source address yet", prefixArg(r.From))
		default:
			// IPv4 compares the unset source as 0.0.0.0.
			if !r.From.Contains(netip.IPv4Unspecified()) {
				return fmt.Sprintf("from %s, and the packet has no source address yet", prefixArg(r.From))
			}
		}
	}
	if r.To.IsValid() && r.To.Bits() > 0 && !r.To.Contains(f.dst) {
		return fmt.Sprintf("to %s does not hold %s", prefixArg(r.To), f.dst)
	}
	return ""
}

func (t *tracer) iifText(f *flow) string {
	if f.iif == t.lo {
		return f.iif + " (the packet is sent by this host)"
	}
	return f.iif
}

func markText(m *FwMark) string {
	if m.Mask == 0xffffffff {
		return fmt.Sprintf("0x%x", m.Value)
	}
	return fmt.Sprintf("0x%x/0x%x", m.Value, m.Mask)
}

func uidText(uid uint32) string {
	if uid == noUID {
		return "no user (the packet arrives from outside)"
	}
	return "uid " + strconv.FormatUint(uint64(uid), 10)
}

// noUID is the kernel's INVALID_UID, the user of a packet without one.
const noUID = ^uint32(0)

// IP protocol numbers `ip route get` understands.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// IPProtoName is the name `ip route get` gives an IP protocol number, or
// the number.
func IPProtoName(p uint8) string {
	switch p {
	case 0:
		return "none"
	case ProtoICMP:
		return "icmp"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMPv6:
		return "ipv6-icmp"
	}
	return strconv.Itoa(int(p))
}

// ParseIPProto accepts the protocol names `ip rule` and `ip route get`
// use, and numbers.
func ParseIPProto(s string) (uint8, error) {
	for _, p := range []uint8{ProtoICMP, ProtoTCP, ProtoUDP, ProtoICMPv6} {
		if IPProtoName(p) == s {
			return p, nil
		}
	}
	if s == "icmpv6" {
		return ProtoICMPv6, nil
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("unknown IP protocol %q (want tcp, udp, icmp, ipv6-icmp or 0–255)", s)
	}
	return uint8(n), nil
}
