package netcfg

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParseRule reads a rule in the syntax RuleArgs writes (`ip rule` syntax:
// "from 10.0.0.0/8 iif eth0 lookup 13 proto 201"), with optional leading
// "-6" and "pref N". It is the inverse of RuleArgs and is used to write
// states by hand in tests and test data.
func ParseRule(s string) (Rule, error) {
	r := NewRule()
	r.Family = V4
	f := strings.Fields(s)
	fam := Family(0)
	flags := map[string]bool{"-4": true, "-6": true, "not": true, "l3mdev": true, "nop": true, "blackhole": true, "unreachable": true, "prohibit": true}
	for i := 0; i < len(f); i++ {
		w, v := f[i], ""
		if !flags[w] {
			if i+1 >= len(f) {
				return Rule{}, fmt.Errorf("rule %q: %s needs a value", s, w)
			}
			i++
			v = f[i]
		}
		var err error
		switch w {
		case "-4":
			fam = V4
		case "-6":
			fam = V6
		case "not":
			r.Not = true
		case "l3mdev":
			r.L3MDev = true
		case "nop", "blackhole", "unreachable", "prohibit":
			r.Action, _ = ParseRuleAction(w)
		case "from", "to":
			var p netip.Prefix
			if p, err = parsePrefixArg(v); err != nil {
				break
			}
			if p.IsValid() {
				fam = FamilyOf(p.Addr())
			}
			if w == "from" {
				r.From = p
			} else {
				r.To = p
			}
		case "pref", "priority":
			err = parseUint(v, 32, &r.Priority)
		case "tos":
			var t uint32
			err = parseUint(v, 8, &t)
			r.Tos = uint8(t)
		case "fwmark":
			m, mask, ok := strings.Cut(v, "/")
			fm := FwMark{Mask: 0xffffffff}
			err = parseUint(m, 32, &fm.Value)
			if err == nil && ok {
				err = parseUint(mask, 32, &fm.Mask)
			}
			r.Mark = &fm
		case "iif":
			r.IIF = v
		case "oif":
			r.OIF = v
		case "uidrange":
			a, b, _ := strings.Cut(v, "-")
			u := UIDRange{}
			err = parseUint(a, 32, &u.Start)
			if err == nil {
				err = parseUint(b, 32, &u.End)
			}
			r.UIDRange = &u
		case "ipproto":
			var p uint32
			err = parseUint(v, 8, &p)
			r.IPProto = uint8(p)
		case "sport":
			r.SPort, err = parsePorts(v)
		case "dport":
			r.DPort, err = parsePorts(v)
		case "lookup", "table":
			r.Action = ActionLookup
			err = parseUint(v, 32, &r.Table)
		case "goto":
			r.Action = ActionGoto
			err = parseUint(v, 32, &r.Goto)
		case "suppress_prefixlength":
			r.SuppressPrefixLen, err = strconv.Atoi(v)
		case "suppress_ifgroup":
			r.SuppressIfgroup, err = strconv.Atoi(v)
		case "proto", "protocol":
			var p uint32
			err = parseUint(v, 8, &p)
			r.Proto = uint8(p)
		case "dscp":
			var d, m uint32 = 0, 0x3f
			a, b, ok := strings.Cut(v, "/")
			err = parseUint(a, 6, &d)
			if err == nil && ok {
				err = parseUint(b, 6, &m)
			}
			r.DSCP = &DSCPMatch{Value: uint8(d), Mask: uint8(m)}
		case "flowlabel":
			fl := FlowLabel{Mask: 0xfffff}
			a, b, ok := strings.Cut(v, "/")
			err = parseUint(a, 20, &fl.Value)
			if err == nil && ok {
				err = parseUint(b, 20, &fl.Mask)
			}
			r.FlowLabel = &fl
			fam = V6
		case "tun_id":
			r.TunID, err = strconv.ParseUint(v, 0, 64)
		case "realms":
			r.Realms, err = ParseRealms(v)
		case "nat":
			r.Action = ActionNAT
			r.Table = TableMain
		default:
			return Rule{}, fmt.Errorf("rule %q: unknown word %q", s, w)
		}
		if err != nil {
			return Rule{}, fmt.Errorf("rule %q: %w", s, err)
		}
	}
	if fam != 0 {
		r.Family = fam
	}
	return r, nil
}

// ParseRoute reads a route in the syntax RouteArgs writes (`ip route`
// syntax: "default via 192.168.10.1 dev eno1 table 13 proto 201"). It is
// the inverse of RouteArgs. Unset fields take the kernel's defaults
// (NormalizeRoute); a route without "scope" gets link scope when it has no
// gateway, as `ip route add` gives it.
func ParseRoute(s string) (Route, error) {
	r := Route{Type: RouteUnicast, Table: TableMain}
	f := strings.Fields(s)
	scoped := false
	i := 0
	if i < len(f) {
		if t, err := ParseRouteType(f[i]); err == nil {
			r.Type = t
			i++
		}
	}
	if i >= len(f) {
		return Route{}, fmt.Errorf("route %q: no destination", s)
	}
	var nh *NextHop
	var metrics Metrics
	dst := f[i]
	for i++; i < len(f); i++ {
		w := f[i]
		if w == "onlink" {
			if nh != nil {
				nh.Onlink = true
			} else {
				r.Onlink = true
			}
			continue
		}
		if w == "nexthop" {
			r.MultiPath = append(r.MultiPath, NextHop{Weight: 1})
			nh = &r.MultiPath[len(r.MultiPath)-1]
			continue
		}
		if i+1 >= len(f) {
			return Route{}, fmt.Errorf("route %q: %s needs a value", s, w)
		}
		i++
		v := f[i]
		var err error
		switch w {
		case "via":
			var a netip.Addr
			a, err = netip.ParseAddr(v)
			if nh != nil {
				nh.Gw = a
			} else {
				r.Gw = a
			}
		case "dev":
			if nh != nil {
				nh.Dev = v
			} else {
				r.Dev = v
			}
		case "weight":
			if nh == nil {
				return Route{}, fmt.Errorf("route %q: weight outside a nexthop", s)
			}
			nh.Weight, err = strconv.Atoi(v)
		case "table":
			err = parseUint(v, 32, &r.Table)
		case "proto":
			var p uint32
			err = parseUint(v, 8, &p)
			r.Proto = uint8(p)
		case "scope":
			r.Scope, err = ParseScope(v)
			scoped = true
		case "src":
			r.Src, err = netip.ParseAddr(v)
		case "metric":
			err = parseUint(v, 32, &r.Metric)
		case "tos":
			var t uint32
			err = parseUint(v, 8, &t)
			r.Tos = uint8(t)
		case "from":
			r.From, err = parsePrefixArg(v)
		case "nhid":
			err = parseUint(v, 32, &r.NHID)
		case "realms":
			if nh != nil {
				nh.Realms, err = ParseRealms(v)
			} else {
				r.Realms, err = ParseRealms(v)
			}
		case "pref":
			r.Pref, err = ParseRoutePref(v)
		default:
			n, ok := MetricByName(w)
			if !ok && w != "congctl" {
				return Route{}, fmt.Errorf("route %q: unknown word %q", s, w)
			}
			if w == "congctl" {
				n = RTAXCCAlgo
			}
			if v == "lock" {
				if i+1 >= len(f) {
					return Route{}, fmt.Errorf("route %q: %s lock needs a value", s, w)
				}
				metrics.Lock |= 1 << n
				i++
				v = f[i]
			}
			switch {
			case n == RTAXCCAlgo:
				metrics.CongCtl = v
			case n == RTAXFeatures && v == "ecn":
				metrics.Values[n] = featureECN
			default:
				err = parseUint(v, 32, &metrics.Values[n])
			}
		}
		if err != nil {
			return Route{}, fmt.Errorf("route %q: %w", s, err)
		}
	}
	r.Metrics = metrics.Ptr()
	if dst == "default" {
		r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if (r.Gw.IsValid() && r.Gw.Is6()) || (r.Src.IsValid() && r.Src.Is6()) || (len(r.MultiPath) > 0 && r.MultiPath[0].Gw.Is6()) {
			r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
	} else {
		p, err := parsePrefixArg(dst)
		if err != nil {
			return Route{}, fmt.Errorf("route %q: %w", s, err)
		}
		r.Dst = p
	}
	if !scoped && r.Family() == V4 {
		switch {
		case r.Type == RouteLocal:
			r.Scope = ScopeHost
		case r.Type == RouteUnicast && !r.Gw.IsValid() && len(r.MultiPath) == 0:
			r.Scope = ScopeLink
		}
	}
	NormalizeRoute(&r)
	return r, nil
}

func parsePrefixArg(v string) (netip.Prefix, error) {
	if v == "all" {
		return netip.Prefix{}, nil
	}
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func parsePorts(v string) (*PortRange, error) {
	if p, m, ok := strings.Cut(v, "/"); ok {
		var s, mask uint32
		if err := parseUint(p, 16, &s); err != nil {
			return nil, err
		}
		if err := parseUint(m, 16, &mask); err != nil {
			return nil, err
		}
		// Mask 0xffff is the plain port, as the kernel reads it.
		return &PortRange{Start: uint16(s), End: uint16(s), Mask: uint16(mask) % 0xffff}, nil
	}
	a, b, ok := strings.Cut(v, "-")
	var s, e uint32
	if err := parseUint(a, 16, &s); err != nil {
		return nil, err
	}
	e = s
	if ok {
		if err := parseUint(b, 16, &e); err != nil {
			return nil, err
		}
	}
	return &PortRange{Start: uint16(s), End: uint16(e)}, nil
}

func parseUint(s string, bits int, out *uint32) error {
	v, err := strconv.ParseUint(s, 0, bits)
	if err != nil {
		return fmt.Errorf("bad number %q", s)
	}
	*out = uint32(v)
	return nil
}
