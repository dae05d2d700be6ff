package lookup

import (
	"net/netip"

	"github.com/nictab/nictab/internal/enum"
	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/netcfg"
)

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

var guardStatuses = enum.Table[GuardStatus]{What: "guard status", Prefix: "guard", Names: map[GuardStatus]string{
	GuardSafe: "safe", GuardMoved: "moved", GuardBroken: "broken", GuardUnknown: "unknown", GuardUndetermined: "undetermined",
}}

func (g GuardStatus) String() string { return guardStatuses.Text(g) }

func (g GuardStatus) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

func (g *GuardStatus) UnmarshalText(b []byte) error { return guardStatuses.Unmarshal(g, b) }

// Guard is the SSH guard's verdict on a change: the path of the replies
// to the SSH client before and after it. It carries no wording: the
// views in ui say it (ui.GuardMessage, ui.GuardCause, ui.RenderGuard).
type Guard struct {
	Conn   sshsession.Conn `json:"connection"`
	Status GuardStatus     `json:"status"`
	Before Path            `json:"before"`
	After  Path            `json:"after"`
	// CauseRule and CauseRoute are what moves or breaks the path: the
	// rule that now decides and the route it leads to (see CauseOf); for
	// an undetermined path, the rule that cannot be decided.
	CauseRule  *netcfg.Rule  `json:"cause_rule,omitempty"`
	CauseRoute *netcfg.Route `json:"cause_route,omitempty"`
	// TraceError is why a path could not be traced at all (GuardUnknown).
	TraceError string `json:"trace_error,omitempty"`
	// Names are the table names after the change, which the paths'
	// tables are called by.
	Names netcfg.Names `json:"-"`
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
func GuardSSH(before, after netcfg.State, client, server netip.Addr) Guard {
	return GuardConn(before, after, sshsession.Conn{Client: netip.AddrPortFrom(client, 0), Server: netip.AddrPortFrom(server, 0)})
}

// GuardConn is GuardSSH for a whole connection: the replies are TCP from
// the server's port to the client's, so rules that select SSH by port
// (`sport 22 lookup main`) count.
func GuardConn(before, after netcfg.State, c sshsession.Conn) Guard {
	g := Guard{Conn: c, Names: after.Names}
	pkt := netcfg.Packet{Dst: c.Client.Addr(), Src: c.Server.Addr(), IPProto: netcfg.ProtoTCP, SPort: c.Server.Port(), DPort: c.Client.Port(),
		// sshd sets the DS field as IPQoS says, and an IPv6 flow label is
		// the kernel's hash: neither is known here.
		Unknown: netcfg.FieldTos | netcfg.FieldFlowLabel}
	if c.Server.Port() == 0 {
		pkt.Unknown |= netcfg.FieldSPort
	}
	if c.Client.Port() == 0 {
		pkt.Unknown |= netcfg.FieldDPort
	}
	// A link-local client is reached through the NIC its zone names.
	if z := pkt.Dst.Zone(); z != "" && pkt.Dst.IsLinkLocalUnicast() {
		pkt.OIF = z
	}
	var errB, errA error
	g.Before, errB = Trace(before, pkt)
	g.After, errA = Trace(after, pkt)
	switch {
	case errB != nil || errA != nil:
		g.Status = GuardUnknown
		g.TraceError = firstErr(errB, errA).Error()
		return g
	case g.After.Verdict == VerdictUndetermined || g.Before.Verdict == VerdictUndetermined:
		g.Status = GuardUndetermined
		g.CauseRule = g.Undetermined().Rule
		return g
	case !g.Before.Verdict.Delivered():
		g.Status = GuardUnknown
		return g
	case !g.After.Verdict.Delivered():
		g.Status = GuardBroken
	case g.After.Dev != g.Before.Dev || g.After.Gateway != g.Before.Gateway || g.After.Src != g.Before.Src:
		g.Status = GuardMoved
	default:
		g.Status = GuardSafe
		return g
	}
	if why := CauseOf(&g.Before, &g.After); why.Kind != CauseNoRule {
		g.CauseRule, g.CauseRoute = why.Rule, why.Route
	}
	return g
}

// Undetermined is the path of an undetermined verdict that cannot be
// decided: after the change, else before it.
func (g *Guard) Undetermined() *Path {
	if g.After.Verdict != VerdictUndetermined {
		return &g.Before
	}
	return &g.After
}

// Missing lists the tables either path needed and did not have in full.
func (g *Guard) Missing() []uint32 {
	return append(append([]uint32(nil), g.Before.Missing...), g.After.Missing...)
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// CauseKind says which difference between a packet's path before a
// change and after it sends the packet elsewhere.
type CauseKind uint8

const (
	// CauseReason: neither the deciding rule nor the route differ; the
	// later path's Reason says why it does.
	CauseReason CauseKind = iota
	// CauseRule: another rule decides now.
	CauseRule
	// CauseRoute: the same rule decides, and another route wins.
	CauseRoute
	// CauseNoRule: no rule leads to a route any more.
	CauseNoRule
)

var causeKinds = enum.Table[CauseKind]{What: "cause", Prefix: "cause", Names: map[CauseKind]string{
	CauseReason: "reason", CauseRule: "rule", CauseRoute: "route", CauseNoRule: "no-rule",
}}

func (k CauseKind) String() string { return causeKinds.Text(k) }

func (k CauseKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func (k *CauseKind) UnmarshalText(b []byte) error { return causeKinds.Unmarshal(k, b) }

// PathCause is what sends a packet elsewhere: the rules and routes that
// decide its path after a change and before it, and what the later path
// does with it.
type PathCause struct {
	Kind CauseKind `json:"kind"`
	// Rule and Route decide the path after the change, in Table; WasRule
	// and WasRoute decided it before.
	Rule     *netcfg.Rule  `json:"rule,omitempty"`
	WasRule  *netcfg.Rule  `json:"was_rule,omitempty"`
	Route    *netcfg.Route `json:"route,omitempty"`
	WasRoute *netcfg.Route `json:"was_route,omitempty"`
	Table    uint32        `json:"table,omitempty"`
	// Verdict and Reason are the later path's.
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
}

// CauseOf names the rule or route responsible for the difference between
// two paths of a packet, b before a change and a after it.
func CauseOf(b, a *Path) PathCause {
	c := PathCause{Rule: a.Rule, WasRule: b.Rule, Route: a.Route, WasRoute: b.Route, Table: a.Table, Verdict: a.Verdict, Reason: a.Reason}
	switch {
	case a.Rule != nil && (b.Rule == nil || !netcfg.RuleEqual(a.Rule, b.Rule)):
		c.Kind = CauseRule
	case a.Route != nil && (b.Route == nil || !netcfg.RouteEqual(a.Route, b.Route)):
		c.Kind = CauseRoute
	case a.Rule == nil && b.Rule != nil:
		c.Kind = CauseNoRule
	}
	return c
}
