package netcfg

import (
	"fmt"
	"net/netip"
)

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// zeronet4 reports a source or destination the kernel treats as a
// martian for being "this network".
//
// NOTE: only 0.0.0.0 itself: the kernel has taken the rest of 0.0.0.0/8 as
// ordinary unicast addresses since Linux 5.3, and routes packets to and
// from them.
func zeronet4(a netip.Addr) bool { return a.Is4() && a.IsUnspecified() }

func uidOr(u *uint32, def uint32) uint32 {
	if u != nil {
		return *u
	}
	return def
}

// refuse ends a path the kernel rejects outright.
func refuse(p *Path, e Errno, why string) {
	p.Verdict, p.Errno, p.Reason = VerdictRefused, e, why
}

// fail fills a path whose rules led to no route, or to a refusal.
func (t *tracer) fail(p *Path, d decision) {
	p.Verdict, p.Errno, p.Rule, p.Table = d.verdict, d.err, d.rule, d.table
	if d.route != nil {
		c := *d.route
		p.Route = &c
	}
	switch {
	case d.undetermined != "":
		p.Errno = 0
		p.Reason = d.undetermined
	case d.loop:
		p.Reason = fmt.Sprintf("rule %d jumps backwards (goto %d): the rule set can loop, and the kernel would refuse it", d.rule.Priority, d.rule.Goto)
	case d.rule == nil:
		p.Reason = "no rule leads to a route for " + p.Packet.Dst.String()
	case d.route != nil:
		p.Reason = fmt.Sprintf("rule %d sends it to table %s, where the %s route %s %s it", d.rule.Priority, t.tableLabel(d.table), d.route.Type, RouteString(d.route), verdictVerb(d.verdict))
	default:
		p.Reason = fmt.Sprintf("rule %d (%s) %s it", d.rule.Priority, d.rule.Action, verdictVerb(d.verdict))
	}
}

func verdictVerb(v Verdict) string {
	switch v {
	case VerdictBlackhole:
		return "drops"
	case VerdictUnreachable:
		return "refuses as unreachable"
	case VerdictProhibit:
		return "refuses as prohibited"
	}
	return "refuses"
}

// routed fills a path that found a route.
func (t *tracer) routed(p *Path, d decision, dev string, gw netip.Addr) {
	c := *d.route
	p.Rule, p.Table, p.Route = d.rule, d.table, &c
	p.Verdict, p.Dev, p.Gateway = d.verdict, dev, gw
	if len(d.route.MultiPath) > 1 && p.Packet.OIF == "" {
		p.Notes = append(p.Notes, fmt.Sprintf("the route has %d next hops; the kernel picks one by a hash of the flow, shown is the first", len(d.route.MultiPath)))
	}
	via := ""
	if gw.IsValid() {
		via = " via " + gw.String()
	}
	switch p.Verdict {
	case VerdictLocal:
		p.Reason = fmt.Sprintf("rule %d sends it to table %s, where %s makes %s an address of this host", d.rule.Priority, t.tableLabel(d.table), RouteString(d.route), p.Packet.Dst)
	case VerdictBroadcast:
		p.Reason = fmt.Sprintf("rule %d sends it to table %s, where %s makes it a broadcast on %s", d.rule.Priority, t.tableLabel(d.table), RouteString(d.route), dev)
	default:
		p.Reason = fmt.Sprintf("rule %d sends it to table %s, whose route %s takes it out of %s%s", d.rule.Priority, t.tableLabel(d.table), RouteString(d.route), dev, via)
	}
}

// output4 routes an IPv4 packet this host sends, as ip_route_output_key
// does.
func (t *tracer) output4(p *Path) {
	pk := p.Packet
	if pk.Src.IsValid() {
		switch {
		case pk.Src.IsMulticast() || pk.Src == limitedBroadcast || zeronet4(pk.Src):
			refuse(p, EINVAL, pk.Src.String()+" cannot be the source of a packet")
			return
		case !t.isLocal4(pk.Src):
			refuse(p, ENETUNREACH, pk.Src.String()+" is not an address of this host, and a packet this host sends must come from one of its own")
			return
		}
	}
	if pk.OIF != "" && !t.linkUp(pk.OIF) {
		refuse(p, ENETUNREACH, pk.OIF+" is down")
		return
	}
	f := flow{dst: pk.Dst, src: pk.Src, iif: t.lo, oif: pk.OIF, mark: pk.Mark, uid: uidOr(pk.UID, 0),
		proto: pk.IPProto, sport: pk.SPort, dport: pk.DPort, tos: pk.Tos &^ 3, flowlabel: pk.FlowLabel & 0xfffff, tunID: pk.TunID}
	d := t.walk(&f, &p.Steps)
	p.Src = pk.Src
	switch {
	case d.loop, d.undetermined != "":
		t.fail(p, d)
		return
	case d.err != 0 && pk.OIF != "":
		// NOTE: a lookup for a packet bound to a device that finds no
		// route through it (or only a route that refuses it) does not
		// fail: the kernel sends the packet out of that device as if its
		// destination were on the link.
		p.Verdict, p.Dev = VerdictRouted, pk.OIF
		if !p.Src.IsValid() {
			p.Src = t.selectAddr4(pk.OIF, netip.Addr{}, ScopeLink)
		}
		p.Reason = fmt.Sprintf("no rule gives a usable route through %s, so the packet, bound to %s, leaves through it as if %s were on its link", pk.OIF, pk.OIF, pk.Dst)
		t.checkLoopbackSrc4(p)
		return
	case d.err != 0:
		t.fail(p, d)
		return
	}
	rt := d.route
	if rt.Type == RouteLocal {
		t.routed(p, d, t.lo, netip.Addr{})
		if !p.Src.IsValid() {
			p.Src = rt.Src
			if !p.Src.IsValid() {
				p.Src = pk.Dst
			}
		}
		return
	}
	dev, gw := routeDev(rt, d.nh), t.usedGateway(p, rt, d.nh)
	t.routed(p, d, dev, gw)
	if rt.Type == RouteAnycast {
		// IPv4 sends to an anycast route like to a unicast one.
		p.Verdict = VerdictRouted
	}
	if !p.Src.IsValid() {
		p.Src = rt.Src
		if !p.Src.IsValid() {
			p.Src = t.selectAddr4(dev, routeGw(rt, d.nh), rt.Scope)
		}
	}
	t.checkLoopbackSrc4(p)
}

// usedGateway is the gateway an IPv4 packet is sent to through next hop
// nh: none when the kernel resolved the route's gateway to a local route.
func (t *tracer) usedGateway(p *Path, rt *Route, nh int) netip.Addr {
	gw := routeGw(rt, nh)
	if gw.IsValid() && t.gatewayIsLocal4(rt, nh) {
		p.Notes = append(p.Notes, fmt.Sprintf("the gateway %s resolves to a local route, so the kernel sends straight to the destination on %s", gw, routeDev(rt, nh)))
		return netip.Addr{}
	}
	return gw
}

// checkLoopbackSrc4 refuses a packet from 127.0.0.0/8 that would leave
// through anything but the loopback device.
func (t *tracer) checkLoopbackSrc4(p *Path) {
	if p.Src.IsLoopback() && p.Dev != t.lo {
		p.Verdict, p.Errno = VerdictRefused, EINVAL
		p.Reason = fmt.Sprintf("the source %s is a loopback address and may not leave through %s", p.Src, p.Dev)
	}
}

// input4 routes an IPv4 packet that arrives on p.Packet.IIF, as
// ip_route_input_slow does.
func (t *tracer) input4(p *Path) {
	pk := p.Packet
	src, dst := pk.Src, pk.Dst
	p.Src = src
	switch {
	case src.IsValid() && (src.IsMulticast() || src == limitedBroadcast):
		refuse(p, EINVAL, "martian source: "+src.String()+" cannot be the source of a packet")
		return
	case !src.IsValid() || zeronet4(src):
		refuse(p, EINVAL, "a packet that arrives needs a source address (give one; 0.0.0.0 is a martian source)")
		return
	case zeronet4(dst):
		refuse(p, EINVAL, "martian destination: 0.0.0.0")
		return
	case dst.IsLoopback():
		refuse(p, EINVAL, "martian destination: "+dst.String()+" is a loopback address, which never arrives on a NIC")
		return
	case src.IsLoopback():
		refuse(p, EINVAL, "martian source: "+src.String()+" is a loopback address, which never arrives on a NIC")
		return
	}
	// NOTE: the kernel routes an arriving packet as root's, whatever user
	// `ip route get` names; uidrange rules match it as uid 0.
	f := flow{dst: dst, src: src, iif: pk.IIF, mark: pk.Mark, uid: 0, proto: pk.IPProto, tos: pk.Tos &^ 3, flowlabel: pk.FlowLabel & 0xfffff, tunID: pk.TunID}
	// The ports come from the packet's TCP or UDP header; other protocols
	// have none the kernel reads.
	if f.proto == ProtoTCP || f.proto == ProtoUDP {
		f.sport, f.dport = pk.SPort, pk.DPort
	}
	d := t.walk(&f, &p.Steps)
	forwards := t.forwarding == nil || t.forwarding(pk.IIF)
	if d.err != 0 {
		t.fail(p, d)
		// A host that does not forward answers every packet it has no
		// local route for alike.
		if !forwards {
			p.Errno = EHOSTUNREACH
		}
		return
	}
	var dev string
	var gw netip.Addr
	switch d.route.Type {
	case RouteBroadcast:
		// The route back is checked towards 0.0.0.0, as the kernel does
		// for a broadcast.
		if why := t.validateSource4(&f, netip.IPv4Unspecified(), ""); why != "" {
			refuse(p, EINVAL, why)
			return
		}
		dev = t.lo
	case RouteLocal:
		if why := t.validateSource4(&f, dst, ""); why != "" {
			refuse(p, EINVAL, why)
			return
		}
		dev = t.lo
	case RouteUnicast, RouteUnspec:
		dev, gw = routeDev(d.route, d.nh), t.usedGateway(p, d.route, d.nh)
		if !forwards {
			t.routed(p, d, dev, gw)
			p.Verdict, p.Errno = VerdictRefused, EHOSTUNREACH
			p.Reason = fmt.Sprintf("%s; but this host does not forward packets that arrive on %s (net.ipv4.conf.%s.forwarding=0), so it refuses it", p.Reason, pk.IIF, pk.IIF)
			return
		}
		if why := t.validateSource4(&f, dst, dev); why != "" {
			refuse(p, EINVAL, why)
			return
		}
	default:
		t.fail(p, d)
		p.Verdict, p.Errno = VerdictRefused, EINVAL
		p.Reason = fmt.Sprintf("martian destination: the %s route %s does not forward", d.route.Type, RouteString(d.route))
		if !forwards {
			p.Errno = EHOSTUNREACH
		}
		return
	}
	t.routed(p, d, dev, gw)
}

// validateSource4 is fib_validate_source with rp_filter off: the kernel
// looks up the route back to the source, entering through the device the
// packet leaves by (the loopback device for a packet for this host), and
// refuses the packet when that route is a local or broadcast one. No
// route back at all is accepted.
func (t *tracer) validateSource4(f *flow, dst netip.Addr, oif string) string {
	rf := flow{dst: f.src, src: dst, iif: oif, tos: f.tos}
	if rf.iif == "" {
		rf.iif = t.lo
	}
	if t.portRules {
		rf.proto, rf.sport, rf.dport = f.proto, f.dport, f.sport
	}
	d := t.walk(&rf, nil)
	if d.err != 0 || d.route == nil || d.route.Type == RouteUnicast {
		return ""
	}
	if d.route.Type == RouteLocal {
		return fmt.Sprintf("martian source: %s is an address of this host (table %s has %s)", f.src, t.tableLabel(d.table), RouteString(d.route))
	}
	return fmt.Sprintf("martian source: the route back to %s is %s in table %s", f.src, RouteString(d.route), t.tableLabel(d.table))
}

// needStrict6 reports whether an IPv6 destination must be reached through
// the chosen device (link-local, multicast, loopback).
func needStrict6(a netip.Addr) bool {
	return a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsLoopback()
}

// output6 routes an IPv6 packet this host sends, as ip6_route_output
// does.
func (t *tracer) output6(p *Path) {
	pk := p.Packet
	f := flow{dst: pk.Dst, src: pk.Src, iif: t.lo, oif: pk.OIF, mark: pk.Mark, uid: uidOr(pk.UID, 0),
		proto: pk.IPProto, sport: pk.SPort, dport: pk.DPort, tos: pk.Tos &^ 3, flowlabel: pk.FlowLabel & 0xfffff, tunID: pk.TunID,
		prefer: pk.OIF, strict: (pk.OIF != "" && !pk.Src.IsValid()) || needStrict6(pk.Dst)}
	t.finish6(p, &f)
	if p.Verdict.Delivered() && !p.Src.IsValid() {
		p.Src = p.Route.Src
		if !p.Src.IsValid() {
			p.Src = t.selectAddr6(routeDev(p.Route, t.nh6(p)), pk.Dst)
		}
	}
}

// nh6 returns the index of the next hop a path took (-1 without
// multipath).
func (t *tracer) nh6(p *Path) int {
	for i, nh := range p.Route.MultiPath {
		if nh.Dev == p.Dev && nh.Gw == p.Gateway {
			return i
		}
	}
	return -1
}

// input6 routes an IPv6 packet that arrives on p.Packet.IIF, as
// ip6_route_input_lookup does; IPv6 has no reverse-path check in its
// routing.
func (t *tracer) input6(p *Path) {
	pk := p.Packet
	// NOTE: unlike IPv4, an arriving IPv6 packet keeps the user `ip route
	// get` names, and has no user (matching no uidrange that ends below
	// 4294967295) when none is named; its ports are read whatever the
	// protocol.
	f := flow{dst: pk.Dst, src: pk.Src, iif: pk.IIF, mark: pk.Mark, uid: uidOr(pk.UID, noUID),
		proto: pk.IPProto, sport: pk.SPort, dport: pk.DPort, tos: pk.Tos &^ 3, flowlabel: pk.FlowLabel & 0xfffff, tunID: pk.TunID,
		prefer: pk.IIF, strict: needStrict6(pk.Dst)}
	t.finish6(p, &f)
}

func (t *tracer) finish6(p *Path, f *flow) {
	d := t.walk(f, &p.Steps)
	p.Src = p.Packet.Src
	if d.err != 0 {
		t.fail(p, d)
		return
	}
	switch d.verdict {
	case VerdictLocal:
		t.routed(p, d, t.lo, netip.Addr{})
	case VerdictRouted:
		t.routed(p, d, routeDev(d.route, d.nh), routeGw(d.route, d.nh))
	default:
		t.fail(p, d)
		p.Verdict, p.Errno = VerdictRefused, EINVAL
		p.Reason = fmt.Sprintf("the %s route %s is not simulated", d.route.Type, RouteString(d.route))
	}
}
