//go:build linux

package memkernel

import (
	"net/netip"

	"github.com/nictab/nictab/netcfg"
	"golang.org/x/sys/unix"
)

// gatewayDev is the kernel's check that a gateway is reachable, and the
// device it is reached through (filled in when the route names none):
// fib_check_nh_v4_gw and ip6_route_check_nh. The gateway is looked up in
// the route's table, then through the rules, as a packet from nowhere
// (iif lo for IPv4, no source address) out of dev.
func (k *Kernel) gatewayDev(r *netcfg.Route, gw netip.Addr, dev string) (string, error) {
	if netcfg.FamilyOf(gw) == netcfg.V6 {
		return k.gatewayDev6(r, gw, dev)
	}
	unreach := kerr(unix.ENETUNREACH, "Nexthop has invalid gateway")
	if r.Table != netcfg.TableMain && r.Table != netcfg.TableUnspec {
		if c := k.lookup4(r.Table, gw, dev); c != nil {
			return c.Dev, nil
		}
	}
	for _, rule := range k.rules[0] {
		if !gwRuleMatches(&rule, gw, dev, "lo") {
			continue
		}
		switch rule.Action {
		case netcfg.ActionLookup:
			if c := k.lookup4(rule.Table, gw, dev); c != nil {
				if c.Type != netcfg.RouteUnicast && c.Type != netcfg.RouteLocal {
					return "", kerr(unix.EINVAL, "Nexthop has invalid gateway")
				}
				return c.Dev, nil
			}
		case netcfg.ActionUnreachable:
			return "", unreach
		case netcfg.ActionBlackhole:
			return "", kerr(unix.EINVAL, "Nexthop has invalid gateway")
		case netcfg.ActionProhibit:
			return "", kerr(unix.EACCES, "Nexthop has invalid gateway")
		}
	}
	return "", unreach
}

// lookup4 is fib_table_lookup for a gateway: the longest prefix holding
// gw among routes of scope link or narrower, through dev when one is
// given.
func (k *Kernel) lookup4(table uint32, gw netip.Addr, dev string) *netcfg.Route {
	var best *netcfg.Route
	for i := range k.routes {
		c := &k.routes[i]
		// The lookup's tos is 0: a route with a tos of its own does not
		// match it.
		if c.Table != table || c.Family() != netcfg.V4 || !c.Dst.Contains(gw) || c.Scope < netcfg.ScopeLink || c.Tos != 0 ||
			(dev != "" && c.Dev != dev) {
			continue
		}
		if better(c, best) {
			best = c
		}
	}
	return best
}

func (k *Kernel) gatewayDev6(r *netcfg.Route, gw netip.Addr, dev string) (string, error) {
	unreach := kerr(unix.EHOSTUNREACH, "Nexthop has invalid gateway")
	if gw.IsLinkLocalUnicast() {
		if dev == "" {
			return "", kerr(unix.EINVAL, "Egress device not specified")
		}
		return dev, nil
	}
	// A gateway must be on a link: found on a route that has no gateway
	// of its own and does not reject.
	usable := func(c *netcfg.Route) bool {
		return c != nil && !c.Gw.IsValid() && len(c.MultiPath) == 0 &&
			(c.Type == netcfg.RouteUnicast || c.Type == netcfg.RouteLocal)
	}
	if r.Table != netcfg.TableUnspec {
		if c := k.lookup6(r.Table, gw, dev); usable(c) {
			return c.Dev, nil
		}
	}
	for _, rule := range k.rules[1] {
		if !gwRuleMatches(&rule, gw, dev, "") {
			continue
		}
		if rule.Action != netcfg.ActionLookup {
			return "", unreach
		}
		if c := k.lookup6(rule.Table, gw, dev); c != nil {
			if !usable(c) {
				return "", unreach
			}
			return c.Dev, nil
		}
	}
	return "", unreach
}

// lookup6 is the longest prefix holding gw in table, through dev when one
// is given.
func (k *Kernel) lookup6(table uint32, gw netip.Addr, dev string) *netcfg.Route {
	var best *netcfg.Route
	for i := range k.routes {
		c := &k.routes[i]
		if c.Table != table || c.Family() != netcfg.V6 || !c.Dst.Contains(gw) || (dev != "" && c.Dev != dev) {
			continue
		}
		if better(c, best) {
			best = c
		}
	}
	return best
}

// gwRuleMatches is fib_rule_match for the flow a gateway check looks up:
// to gw, from no address, mark 0, out of oif, in through iif.
func gwRuleMatches(r *netcfg.Rule, gw netip.Addr, oif, iif string) bool {
	m := true
	switch {
	case r.IIF != "" && r.IIF != iif,
		r.OIF != "" && r.OIF != oif,
		r.Mark != nil && r.Mark.Value&r.Mark.Mask != 0,
		r.From.IsValid() && r.From.Bits() > 0,
		r.To.IsValid() && r.To.Bits() > 0 && !r.To.Contains(gw),
		r.Tos != 0, r.IPProto != 0, r.SPort != nil, r.DPort != nil:
		m = false
	}
	if r.Not {
		m = !m
	}
	return m
}

// better reports whether c wins a lookup over best: a longer prefix, or
// of one prefix the lower metric, as the kernel keeps them sorted.
func better(c, best *netcfg.Route) bool {
	if best == nil || c.Dst.Bits() != best.Dst.Bits() {
		return best == nil || c.Dst.Bits() > best.Dst.Bits()
	}
	return c.Metric < best.Metric
}
