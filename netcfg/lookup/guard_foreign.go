package lookup

import (
	"net/netip"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// NOTE: a rule of another program (tailscale's 5210–5270, wg-quick's
// 32764/32765, nm-cloud-setup's 30200–30400) says which traffic that
// program routes. A new rule of nictab's with a lower priority takes the
// part of that traffic both select, and nothing in the plan shows it: the
// plan only lists nictab's own objects. The guard builds, for each pair
// of a foreign rule and a new rule before it, a packet both match, traces
// it before and after, and reports the pair when the foreign rule decided
// that packet before and the new rule decides it after. The packet is a
// probe, never sent.

// docAddr is the destination a probe takes when neither rule names one
// and the foreign rule's table gives only a default route: an address of
// the documentation ranges, which no real route is for.
func docAddr(f netcfg.Family) netip.Addr {
	if f == netcfg.V6 {
		return netip.MustParseAddr("2001:db8:5f::7")
	}
	return netip.MustParseAddr("198.51.100.7")
}

// kernelRule reports whether r is one of the three rules the kernel
// starts with: 0 lookup local, 32766 lookup main, 32767 lookup default.
func kernelRule(r *netcfg.Rule) bool {
	var table uint32
	switch r.Priority {
	case 0:
		table = netcfg.TableLocal
	case 32766:
		table = netcfg.TableMain
	case 32767:
		table = netcfg.TableDefault
	default:
		return false
	}
	std := netcfg.NewRule()
	std.Family, std.Priority, std.Table = r.Family, r.Priority, table
	return netcfg.RuleEqualIgnoringProto(r, &std)
}

// HasForeignRules reports whether s has a rule neither nictab nor the
// kernel made.
func HasForeignRules(s *netcfg.State) bool {
	for i := range s.Rules {
		if r := &s.Rules[i]; r.Proto != netcfg.ProtoNictab && !kernelRule(r) {
			return true
		}
	}
	return false
}

// overlap is the more specific of two prefixes when one contains the
// other; ok is false when they are disjoint.
func overlap(a, b netip.Prefix) (netip.Prefix, bool) {
	switch {
	case !a.IsValid():
		return b, true
	case !b.IsValid():
		return a, true
	case a.Bits() >= b.Bits() && b.Contains(a.Addr()):
		return a, true
	case b.Bits() > a.Bits() && a.Contains(b.Addr()):
		return b, true
	}
	return netip.Prefix{}, false
}

// hostIn is an address inside p that reads as a host: the prefix's first
// address after the network's own.
func hostIn(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	if p.Bits() < a.BitLen() {
		if n := a.Next(); n.IsValid() {
			return n
		}
	}
	return a
}

// probeDsts are the destinations to probe the traffic of a foreign rule
// with: the one the rules name, else a few the foreign rule's table
// routes, and a documentation address for its default route.
func probeDsts(f *netcfg.Rule, to netip.Prefix, s *netcfg.State) []netip.Addr {
	if to.IsValid() {
		return []netip.Addr{hostIn(to)}
	}
	var out []netip.Addr
	deflt := f.Action != netcfg.ActionLookup || f.Table == netcfg.TableMain
	if f.Action == netcfg.ActionLookup && f.Table != netcfg.TableMain {
		for i := range s.Routes {
			r := &s.Routes[i]
			if r.Table != f.Table || r.Family() != f.Family {
				continue
			}
			if r.Dst.Bits() == 0 {
				deflt = true
				continue
			}
			if r.Type == netcfg.RouteUnicast && len(out) < 2 {
				out = append(out, hostIn(r.Dst))
			}
		}
	}
	if deflt || len(out) == 0 {
		out = append(out, docAddr(f.Family))
	}
	return out
}

// probe is a packet both rules select, or false when no packet can: the
// selectors of f (unless it is inverted: then the new rule's alone, and
// the trace says whether f still catches it) joined with n's.
func probe(f, n *netcfg.Rule, dst netip.Addr, s *netcfg.State) (netcfg.Packet, bool) {
	p := netcfg.Packet{Dst: dst}
	from := n.From
	iif, oif := n.IIF, n.OIF
	mark := n.Mark
	uid, proto, sport, dport := n.UIDRange, n.IPProto, n.SPort, n.DPort
	if !f.Not {
		var ok bool
		if from, ok = overlap(f.From, n.From); !ok {
			return p, false
		}
		to, ok := overlap(f.To, n.To)
		if !ok {
			return p, false
		}
		if to.IsValid() && !to.Contains(dst) {
			p.Dst = hostIn(to)
		}
		for _, d := range []struct{ a, b *string }{{&iif, &f.IIF}, {&oif, &f.OIF}} {
			if *d.b != "" {
				if *d.a != "" && *d.a != *d.b {
					return p, false
				}
				*d.a = *d.b
			}
		}
		if f.Mark != nil {
			if mark != nil && (mark.Value^f.Mark.Value)&mark.Mask&f.Mark.Mask != 0 {
				return p, false
			}
			m := netcfg.FwMark{Value: f.Mark.Value & f.Mark.Mask, Mask: f.Mark.Mask}
			if mark != nil {
				m.Value |= mark.Value & mark.Mask
			}
			mark = &m
		}
		if f.UIDRange != nil {
			uid = f.UIDRange
		}
		if f.IPProto != 0 {
			proto = f.IPProto
		}
		if f.SPort != nil {
			sport = f.SPort
		}
		if f.DPort != nil {
			dport = f.DPort
		}
		if f.Tos != 0 {
			p.Tos = f.Tos
		}
	}
	if iif != "" && oif != "" {
		return p, false
	}
	if from.IsValid() {
		p.Src = hostIn(from)
		if from.Bits() == from.Addr().BitLen() {
			p.Src = from.Addr()
		}
	}
	if iif != "" {
		if _, ok := s.Link(iif); !ok {
			return p, false
		}
		p.IIF = iif
	}
	if oif != "" {
		if _, ok := s.Link(oif); !ok {
			return p, false
		}
		p.OIF = oif
	}
	if mark != nil {
		p.Mark = mark.Value
	}
	if uid != nil {
		u := uid.Start
		p.UID = &u
	}
	p.IPProto = proto
	if sport != nil {
		p.SPort = sport.Start
	}
	if dport != nil {
		p.DPort = dport.Start
	}
	if (p.SPort != 0 || p.DPort != 0) && p.IPProto == 0 {
		p.IPProto = netcfg.ProtoTCP
	}
	return p, netcfg.FamilyOf(p.Dst) == f.Family && (!p.Src.IsValid() || netcfg.FamilyOf(p.Src) == f.Family)
}

// shadowedRules lists the foreign rules whose traffic a new rule of the
// plan now takes, stopping at the deadline.
func shadowedRules(tb, ta *Tracer, before, after *netcfg.State, deadline time.Time, now func() time.Time, observe func(netcfg.Packet, *Path, *Path)) []ShadowedRule {
	had := map[string]bool{}
	for i := range before.Rules {
		had[netcfg.RuleKey(&before.Rules[i])] = true
	}
	var added, foreign []*netcfg.Rule
	for i := range after.Rules {
		r := &after.Rules[i]
		if r.Proto == netcfg.ProtoNictab && !had[netcfg.RuleKey(r)] {
			added = append(added, r)
		}
	}
	if len(added) == 0 {
		return []ShadowedRule{}
	}
	for i := range before.Rules {
		r := &before.Rules[i]
		if r.Proto != netcfg.ProtoNictab && !kernelRule(r) {
			foreign = append(foreign, r)
		}
	}
	out := []ShadowedRule{}
	seen := map[[2]string]bool{}
	for _, f := range foreign {
		for _, n := range added {
			if n.Family != f.Family || n.Priority >= f.Priority {
				continue
			}
			if now().After(deadline) {
				return out
			}
			to := n.To
			if !f.Not {
				var ok bool
				if to, ok = overlap(f.To, n.To); !ok {
					continue
				}
			}
			for _, dst := range probeDsts(f, to, before) {
				p, ok := probe(f, n, dst, before)
				if !ok {
					continue
				}
				pb, errB := tb.Trace(p)
				pa, errA := ta.Trace(p)
				if errB == nil && errA == nil && observe != nil {
					observe(p, &pb, &pa)
				}
				if errB != nil || errA != nil || pb.Rule == nil || !netcfg.RuleEqual(pb.Rule, f) || pa.Rule == nil || netcfg.RuleEqual(pa.Rule, f) {
					continue
				}
				by := *pa.Rule
				k := [2]string{netcfg.RuleKey(f), netcfg.RuleKey(&by)}
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, ShadowedRule{Rule: *f, By: by, Packet: p, Before: hopOf(&pb), After: hopOf(&pa)})
			}
		}
	}
	return out
}
