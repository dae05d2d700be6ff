package ui

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// The guard's wording. netcfg's Guard and FlowGuard carry what was found
// (the paths, the rules and routes that move them, the counts); these
// functions say it, for the CLI's plan (text and --json) and the TUI's
// warnings alike, so each sentence exists once.

// The sentences here carry the kernel's text (device and table names) as
// it is: they go into JSON as data, and each view that puts one on a
// terminal escapes it there, once.

// GuardMessage is the SSH guard's verdict in a sentence or two.
func GuardMessage(g *netcfg.Guard) string {
	client := g.Conn.Client.Addr().WithZone("")
	switch g.Status {
	case netcfg.GuardUnknown:
		if g.TraceError != "" {
			return fmt.Sprintf("the path to the SSH client %s cannot be traced: %s", client, g.TraceError)
		}
		return fmt.Sprintf("the simulator finds no path to the SSH client %s even now (%s), so it cannot judge this change", client, g.Before.Reason)
	case netcfg.GuardUndetermined:
		return fmt.Sprintf("the path of replies to the SSH client %s cannot be determined, so this change may cut the session: %s", client, g.Undetermined().Reason)
	case netcfg.GuardSafe:
		return fmt.Sprintf("replies to the SSH client %s keep leaving %s", client, replyHop(&g.After, false)) + incomplete(g)
	}
	src := g.Before.Src != g.After.Src
	if g.Status == netcfg.GuardBroken {
		return fmt.Sprintf("this change cuts the SSH session: replies to %s, which now leave %s, would have no way out (%s): %s", client, replyHop(&g.Before, src), g.After.Verdict, GuardCause(g)) + incomplete(g)
	}
	return fmt.Sprintf("this change moves the SSH session: replies to %s would leave %s instead of %s: %s", client, replyHop(&g.After, src), replyHop(&g.Before, src), GuardCause(g)) + incomplete(g)
}

// GuardCause names what moves or breaks the session's path: the rule that
// now decides, or the route that now wins; for an undetermined path, why
// it cannot be decided. "" when the path neither moves nor breaks.
func GuardCause(g *netcfg.Guard) string {
	switch g.Status {
	case netcfg.GuardUndetermined:
		return g.Undetermined().Reason
	case netcfg.GuardMoved, netcfg.GuardBroken:
	default:
		return ""
	}
	c := netcfg.CauseOf(&g.Before, &g.After)
	names := &g.Names
	switch c.Kind {
	case netcfg.CauseRule:
		was := "no rule matched before"
		if c.WasRule != nil {
			was = "before: rule " + ruleText(c.WasRule)
		}
		return fmt.Sprintf("rule %s now matches and %s (%s)", ruleText(c.Rule), causeDeed(&c, names), was)
	case netcfg.CauseRoute:
		was := ""
		if c.WasRoute != nil {
			was = fmt.Sprintf(" (before: %s)", shortRoute(c.WasRoute))
		}
		return fmt.Sprintf("route %s now wins in table %s%s", shortRoute(c.Route), names.TableLabel(c.Table), was)
	case netcfg.CauseNoRule:
		return fmt.Sprintf("no rule leads to a route any more; before, rule %s sent them to %s", ruleText(c.WasRule), routeOrNothing(c.WasRoute))
	}
	return c.Reason
}

// incomplete warns that a verdict rests on tables not read in full.
func incomplete(g *netcfg.Guard) string {
	if missing := g.Missing(); len(missing) > 0 {
		return fmt.Sprintf(" (tables %v were not read in full, so this may be wrong)", missing)
	}
	return ""
}

// replyHop is where a delivered path leaves: "through eno1 via
// 192.168.10.1", with the source when it matters.
func replyHop(p *netcfg.Path, src bool) string {
	s := "through " + p.Dev
	if p.Gateway.IsValid() {
		s += " via " + p.Gateway.String()
	}
	if src && p.Src.IsValid() {
		s += " from " + p.Src.String()
	}
	return s
}

// causeDeed says what the deciding rule of a path does with the packets.
func causeDeed(c *netcfg.PathCause, names *netcfg.Names) string {
	switch {
	case c.Route != nil && c.Verdict.Delivered():
		return fmt.Sprintf("sends them to table %s (%s)", names.TableLabel(c.Table), shortRoute(c.Route))
	case c.Route != nil:
		return fmt.Sprintf("sends them to table %s, where %s refuses them", names.TableLabel(c.Table), shortRoute(c.Route))
	case c.Verdict == netcfg.VerdictBlackhole:
		return "drops them"
	}
	return "refuses them"
}

// ruleText is a rule on one line as a person reads it: "1000: from
// 192.168.10.2 lookup 13", without its protocol.
func ruleText(r *netcfg.Rule) string {
	c := *r
	c.Proto = netcfg.ProtoUnspec
	return strings.Replace(netcfg.RuleString(&c), ":\t", ": ", 1)
}

// shortRoute is a route as it reads inside its table: without the table,
// the protocol, and the scope and metric it has by default.
func shortRoute(r *netcfg.Route) string {
	args := netcfg.RouteArgs(r)
	out := args[:0:0]
	for i := 0; i < len(args); i++ {
		if i+1 < len(args) {
			switch v := args[i+1]; args[i] {
			case "table", "proto":
				i++
				continue
			case "scope":
				if (v == "global" && r.Gw.IsValid()) || (v == "link" && !r.Gw.IsValid()) || r.Type != netcfg.RouteUnicast {
					i++
					continue
				}
			case "metric":
				if v == "0" || (r.Family() == netcfg.V6 && v == "1024") {
					i++
					continue
				}
			}
		}
		out = append(out, args[i])
	}
	return strings.Join(out, " ")
}

func routeOrNothing(r *netcfg.Route) string {
	if r == nil {
		return "no route"
	}
	return shortRoute(r)
}

// FlowCause names, shortly, what sends a flow elsewhere: the rule that
// now decides, or the route that now wins; names are the tables' names
// after the change.
func FlowCause(m *netcfg.MovedFlow, names *netcfg.Names) string {
	c := &m.Why
	switch c.Kind {
	case netcfg.CauseRule:
		return "rule " + ruleText(c.Rule)
	case netcfg.CauseRoute:
		return fmt.Sprintf("route %s in table %s", shortRoute(c.Route), names.TableLabel(c.Table))
	case netcfg.CauseNoRule:
		return "no rule leads to a route"
	}
	return c.Reason
}

// ShadowedText says which traffic of a foreign rule a new rule takes:
// "rule 1000 now precedes rule 5270 (table 52) for from 192.168.10.2 to
// 100.64.0.1: it leaves …"; before and after are the tables' names before
// and after the change.
func ShadowedText(s *netcfg.ShadowedRule, before, after *netcfg.Names) string {
	return fmt.Sprintf("rule %d now precedes rule %d (%s) for %s: it leaves %s instead of %s",
		s.By.Priority, s.Rule.Priority, ruleDeed(&s.Rule, after), probeText(&s.Packet), HopText(s.After, after), HopText(s.Before, before))
}

// FlowNote says what the flow guard left out, or why it could trace
// nothing; "" when it traced everything.
func FlowNote(f *netcfg.FlowGuard) string {
	var left []string
	if f.Error != "" {
		left = append(left, "the live connections cannot be traced: "+f.Error)
	}
	if f.Read < f.Sockets {
		left = append(left, fmt.Sprintf("%d of %d sockets were read", f.Read, f.Sockets))
	}
	if f.Traced < f.Flows {
		left = append(left, fmt.Sprintf("%d of %d flows were traced in the time given", f.Traced, f.Flows))
	}
	return strings.Join(left, "; ")
}

// ruleDeed is what a rule does, in the words of the report: "table 52",
// "unreachable".
func ruleDeed(r *netcfg.Rule, names *netcfg.Names) string {
	if r.Action == netcfg.ActionLookup {
		return "table " + names.TableLabel(r.Table)
	}
	return r.Action.String()
}

// probeText is the part of the traffic a probe stands for, as `ip rule`
// selectors: "from 192.168.10.2 to 100.64.0.1 fwmark 0x80000".
func probeText(p *netcfg.Packet) string {
	var b []string
	if p.Src.IsValid() {
		b = append(b, "from "+p.Src.String())
	}
	b = append(b, "to "+p.Dst.String())
	if p.IIF != "" {
		b = append(b, "iif "+p.IIF)
	}
	if p.OIF != "" {
		b = append(b, "oif "+p.OIF)
	}
	if p.Mark != 0 {
		b = append(b, fmt.Sprintf("fwmark %#x", p.Mark))
	}
	if p.UID != nil {
		b = append(b, fmt.Sprintf("uid %d", *p.UID))
	}
	if p.IPProto != 0 {
		b = append(b, "ipproto "+ipprotoName(p.IPProto))
	}
	if p.DPort != 0 {
		b = append(b, fmt.Sprintf("dport %d", p.DPort))
	}
	return strings.Join(b, " ")
}

// ipprotoName is a protocol as `ip rule` names it.
func ipprotoName(p uint8) string {
	switch p {
	case 0:
		return "none"
	case netcfg.ProtoICMP:
		return "icmp"
	case netcfg.ProtoTCP:
		return "tcp"
	case netcfg.ProtoUDP:
		return "udp"
	case netcfg.ProtoICMPv6:
		return "ipv6-icmp"
	}
	return strconv.Itoa(int(p))
}

// HopText is where a hop leaves, as a person reads it: "tailscale0
// (table 52)", "eno1 via 192.168.10.1 (table 13)", "unreachable".
func HopText(h netcfg.Hop, names *netcfg.Names) string {
	if !h.Verdict.Delivered() {
		return h.Verdict.String()
	}
	s := h.Dev
	if h.Verdict == netcfg.VerdictLocal {
		s = "this host"
	}
	if h.Gateway.IsValid() {
		s += " via " + h.Gateway.String()
	}
	if h.Table != 0 {
		s += " (table " + names.TableLabel(h.Table) + ")"
	}
	return s
}

// FlowEndpoint is how a moved flow is named in a list: the peer's
// address with the service's port, the lower of the two: "192.168.30.5:22"
// for an SSH login from 192.168.30.5, "100.88.1.7:443" for a connection
// to a web server.
func FlowEndpoint(f *netcfg.MovedFlow) string {
	port := f.Remote.Port()
	if l := f.Local.Port(); l != 0 && (port == 0 || l < port) {
		port = l
	}
	return netip.AddrPortFrom(f.Remote.Addr(), port).String()
}
