package netcfg

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// SSHConn is the connection $SSH_CONNECTION describes.
type SSHConn struct {
	Client netip.AddrPort `json:"client"`
	Server netip.AddrPort `json:"server"`
}

// ParseSSHConn reads $SSH_CONNECTION: "client_ip client_port server_ip
// server_port". IPv4-mapped IPv6 addresses are read as IPv4; a link-local
// client keeps its zone (fe80::1%eth0), which names the NIC it is on.
func ParseSSHConn(s string) (SSHConn, bool) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return SSHConn{}, false
	}
	var c SSHConn
	for i, ap := range []*netip.AddrPort{&c.Client, &c.Server} {
		a, err := netip.ParseAddr(f[2*i])
		if err != nil {
			return SSHConn{}, false
		}
		if a.Is4In6() {
			a = a.Unmap()
		}
		p, err := strconv.ParseUint(f[2*i+1], 10, 16)
		if err != nil || p == 0 {
			return SSHConn{}, false
		}
		*ap = netip.AddrPortFrom(a, uint16(p))
	}
	if FamilyOf(c.Client.Addr()) != FamilyOf(c.Server.Addr()) {
		return SSHConn{}, false
	}
	return c, true
}

// ParseSSHConnection reads the addresses of $SSH_CONNECTION.
func ParseSSHConnection(s string) (client, server netip.Addr, ok bool) {
	c, ok := ParseSSHConn(s)
	return c.Client.Addr(), c.Server.Addr(), ok
}

// GuardStatus says what a change does to the path of an SSH session.
type GuardStatus uint8

const (
	// GuardSafe: the replies leave as they do now.
	GuardSafe GuardStatus = iota + 1
	// GuardMoved: the replies still leave, but through another NIC,
	// gateway or source address; the session hangs unless the client is
	// reachable that way too.
	GuardMoved
	// GuardBroken: the replies have no route after the change.
	GuardBroken
	// GuardUnknown: the simulator cannot judge the change.
	GuardUnknown
	// GuardUndetermined: a rule on the path selects on what the guard
	// cannot know of the session's packets (their DSCP, flow label) or
	// nictab cannot simulate; treated as a danger.
	GuardUndetermined
)

var guardStatuses = enum[GuardStatus]{what: "guard status", prefix: "guard", names: map[GuardStatus]string{
	GuardSafe: "safe", GuardMoved: "moved", GuardBroken: "broken", GuardUnknown: "unknown", GuardUndetermined: "undetermined",
}}

func (g GuardStatus) String() string { return guardStatuses.text(g) }

func (g GuardStatus) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

func (g *GuardStatus) UnmarshalText(b []byte) error { return guardStatuses.unmarshal(g, b) }

// Guard is the SSH guard's verdict on a change: the path of the replies
// to the SSH client before and after it.
type Guard struct {
	Conn   SSHConn     `json:"connection"`
	Status GuardStatus `json:"status"`
	Before Path        `json:"before"`
	After  Path        `json:"after"`
	// Cause names what moves or breaks the path: the rule that now
	// decides, or the route that now wins.
	Cause      string `json:"cause,omitempty"`
	CauseRule  *Rule  `json:"cause_rule,omitempty"`
	CauseRoute *Route `json:"cause_route,omitempty"`
	// Message is the verdict in a sentence or two.
	Message string `json:"message"`
}

// Dangerous reports whether the change moves or breaks the session's
// path.
func (g *Guard) Dangerous() bool {
	return g.Status == GuardMoved || g.Status == GuardBroken || g.Status == GuardUndetermined
}

// GuardSSH traces the replies of an SSH session — from server to client,
// the packet this host sends back — in the state before a change and in
// the state after it, and says whether they would leave another way.
// Ports are not known here; GuardConn uses them when $SSH_CONNECTION gives
// them.
func GuardSSH(before, after State, client, server netip.Addr) Guard {
	return GuardConn(before, after, SSHConn{Client: netip.AddrPortFrom(client, 0), Server: netip.AddrPortFrom(server, 0)})
}

// GuardConn is GuardSSH for a whole connection: the replies are TCP from
// the server's port to the client's, so rules that select SSH by port
// (`sport 22 lookup main`) count.
func GuardConn(before, after State, c SSHConn) Guard {
	g := Guard{Conn: c}
	pkt := Packet{Dst: c.Client.Addr(), Src: c.Server.Addr(), IPProto: ProtoTCP, SPort: c.Server.Port(), DPort: c.Client.Port(),
		// sshd sets the DS field as IPQoS says, and an IPv6 flow label is
		// the kernel's hash: neither is known here.
		Unknown: FieldTos | FieldFlowLabel}
	if c.Server.Port() == 0 {
		pkt.Unknown |= FieldSPort
	}
	if c.Client.Port() == 0 {
		pkt.Unknown |= FieldDPort
	}
	// A link-local client is reached through the NIC its zone names.
	if z := pkt.Dst.Zone(); z != "" && pkt.Dst.IsLinkLocalUnicast() {
		pkt.OIF = z
	}
	var errB, errA error
	g.Before, errB = Trace(before, pkt)
	g.After, errA = Trace(after, pkt)
	client := c.Client.Addr().WithZone("")
	switch {
	case errB != nil || errA != nil:
		g.Status = GuardUnknown
		g.Message = fmt.Sprintf("the path to the SSH client %s cannot be traced: %v", client, firstErr(errB, errA))
		return g
	case g.After.Verdict == VerdictUndetermined || g.Before.Verdict == VerdictUndetermined:
		g.Status = GuardUndetermined
		p := &g.After
		if p.Verdict != VerdictUndetermined {
			p = &g.Before
		}
		g.CauseRule = p.Rule
		g.Cause = p.Reason
		g.Message = fmt.Sprintf("the path of replies to the SSH client %s cannot be determined, so this change may cut the session: %s", client, p.Reason)
		return g
	case !g.Before.Verdict.Delivered():
		g.Status = GuardUnknown
		g.Message = fmt.Sprintf("the simulator finds no path to the SSH client %s even now (%s), so it cannot judge this change", client, g.Before.Reason)
		return g
	case !g.After.Verdict.Delivered():
		g.Status = GuardBroken
	case g.After.Dev != g.Before.Dev || g.After.Gateway != g.Before.Gateway || g.After.Src != g.Before.Src:
		g.Status = GuardMoved
	default:
		g.Status = GuardSafe
		g.Message = fmt.Sprintf("replies to the SSH client %s keep leaving %s", client, hopText(&g.After, false))
		g.addIncomplete()
		return g
	}
	g.Cause, g.CauseRule, g.CauseRoute = guardCause(&g.Before, &g.After, &after.Names)
	src := g.Before.Src != g.After.Src
	if g.Status == GuardBroken {
		g.Message = fmt.Sprintf("this change cuts the SSH session: replies to %s, which now leave %s, would have no way out (%s): %s", client, hopText(&g.Before, src), g.After.Verdict, g.Cause)
	} else {
		g.Message = fmt.Sprintf("this change moves the SSH session: replies to %s would leave %s instead of %s: %s", client, hopText(&g.After, src), hopText(&g.Before, src), g.Cause)
	}
	g.addIncomplete()
	return g
}

func (g *Guard) addIncomplete() {
	missing := append(append([]uint32(nil), g.Before.Missing...), g.After.Missing...)
	if len(missing) > 0 {
		g.Message += fmt.Sprintf(" (tables %v were not read in full, so this may be wrong)", missing)
	}
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// hopText is where a delivered path leaves: "through eno1 via
// 192.168.10.1", with the source when it matters.
func hopText(p *Path, src bool) string {
	s := "through " + SafeText(p.Dev)
	if p.Gateway.IsValid() {
		s += " via " + p.Gateway.String()
	}
	if src && p.Src.IsValid() {
		s += " from " + p.Src.String()
	}
	return s
}

// guardCause names the rule or route responsible for the difference
// between two paths; names gives the tables their names.
func guardCause(b, a *Path, names *Names) (string, *Rule, *Route) {
	switch {
	case a.Rule != nil && (b.Rule == nil || !RuleEqual(a.Rule, b.Rule)):
		was := "no rule matched before"
		if b.Rule != nil {
			was = "before: rule " + ruleText(b.Rule)
		}
		return fmt.Sprintf("rule %s now matches and %s (%s)", ruleText(a.Rule), pathDeed(a, names), was), a.Rule, a.Route
	case a.Route != nil && (b.Route == nil || !RouteEqual(a.Route, b.Route)):
		was := ""
		if b.Route != nil {
			was = fmt.Sprintf(" (before: %s)", shortRoute(b.Route))
		}
		return fmt.Sprintf("route %s now wins in table %s%s", shortRoute(a.Route), names.TableLabel(a.Table), was), a.Rule, a.Route
	case a.Rule == nil && b.Rule != nil:
		return fmt.Sprintf("no rule leads to a route any more; before, rule %s sent them to %s", ruleText(b.Rule), routeOrNothing(b.Route)), nil, nil
	}
	return a.Reason, a.Rule, a.Route
}

// pathDeed says what the deciding rule of a path does with the packets.
func pathDeed(p *Path, names *Names) string {
	switch {
	case p.Route != nil && p.Verdict.Delivered():
		return fmt.Sprintf("sends them to table %s (%s)", names.TableLabel(p.Table), shortRoute(p.Route))
	case p.Route != nil:
		return fmt.Sprintf("sends them to table %s, where %s refuses them", names.TableLabel(p.Table), shortRoute(p.Route))
	case p.Verdict == VerdictBlackhole:
		return "drops them"
	}
	return "refuses them"
}

// ruleText is a rule on one line as a person reads it: "1000: from
// 192.168.10.2 lookup 13", without its protocol.
func ruleText(r *Rule) string {
	c := *r
	c.Proto = ProtoUnspec
	return strings.Replace(RuleString(&c), ":\t", ": ", 1)
}

// shortRoute is a route as it reads inside its table: without the table,
// the protocol, and the scope and metric it has by default.
func shortRoute(r *Route) string {
	args := RouteArgs(r)
	out := args[:0:0]
	for i := 0; i < len(args); i++ {
		if i+1 < len(args) {
			switch v := args[i+1]; args[i] {
			case "table", "proto":
				i++
				continue
			case "scope":
				if (v == "global" && r.Gw.IsValid()) || (v == "link" && !r.Gw.IsValid()) || r.Type != RouteUnicast {
					i++
					continue
				}
			case "metric":
				if v == "0" || (r.Family() == V6 && v == "1024") {
					i++
					continue
				}
			}
		}
		out = append(out, args[i])
	}
	return SafeText(strings.Join(out, " "))
}

func routeOrNothing(r *Route) string {
	if r == nil {
		return "no route"
	}
	return shortRoute(r)
}
