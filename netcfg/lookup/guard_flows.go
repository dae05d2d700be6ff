package lookup

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/netcfg"
)

// SocketReader lists the connected sockets of a namespace.
type SocketReader interface {
	// Sockets returns at most limit established TCP and connected UDP
	// sockets, IPv4 and IPv6, and how many there were in all.
	Sockets(limit int) ([]netcfg.Socket, int, error)
}

// Hop is where a traced packet goes: enough to say that it moved.
type Hop struct {
	Verdict Verdict    `json:"verdict"`
	Dev     string     `json:"dev,omitempty"`
	Gateway netip.Addr `json:"gateway,omitzero"`
	Table   uint32     `json:"table,omitempty"`
	// Rule is the priority of the rule that decided; nil when none did.
	Rule *uint32 `json:"rule,omitempty"`
}

func hopOf(p *Path) Hop {
	h := Hop{Verdict: p.Verdict, Dev: p.Dev, Gateway: p.Gateway, Table: p.Table}
	if p.Rule != nil {
		prio := p.Rule.Priority
		h.Rule = &prio
	}
	return h
}

// moved reports whether a flow leaves another way: another NIC, gateway
// or table, or not at all.
func (h Hop) moved(o Hop) bool {
	return h.Verdict != o.Verdict || h.Dev != o.Dev || h.Gateway != o.Gateway || h.Table != o.Table
}

// MovedFlow is a group of live connections whose replies a change moves.
type MovedFlow struct {
	IPProto uint8          `json:"ipproto"`
	Local   netip.AddrPort `json:"local"`
	Remote  netip.AddrPort `json:"remote"`
	// Count is how many sockets the group holds: sockets between the same
	// two addresses go the same way unless a rule selects on ports.
	Count int `json:"count"`
	// Session marks the SSH session nictab runs in.
	Session bool `json:"session,omitempty"`
	// SSH marks another SSH login to this host (TCP from its port 22, or
	// from the port of the session found): when the session itself could
	// not be found, it may well be the one running nictab.
	SSH bool `json:"ssh,omitempty"`
	// SameWay is set when only the table changes: the replies leave
	// through the same NIC and gateway, from another table.
	SameWay bool `json:"same_way,omitempty"`
	Before  Hop  `json:"before"`
	After   Hop  `json:"after"`
	// Why is the rule or route that now decides.
	Why PathCause `json:"why"`
}

// ShadowedRule is a rule of another program that one of the plan's new
// rules now precedes for some of the traffic it selected.
type ShadowedRule struct {
	Rule netcfg.Rule `json:"rule"`
	// By is the rule that takes the traffic from it.
	By     netcfg.Rule   `json:"by"`
	Packet netcfg.Packet `json:"packet"`
	Before Hop           `json:"before"`
	After  Hop           `json:"after"`
}

// FlowGuard is the guard's verdict on every live connection and every
// foreign rule: what a change takes elsewhere. It carries no wording: the
// views in ui say it (ui.FlowLines).
type FlowGuard struct {
	// Sockets is how many connected sockets the namespace has; Read how
	// many of them were read.
	Sockets int `json:"sockets"`
	Read    int `json:"read"`
	// Flows is how many distinct flows they make, Traced how many of
	// them were traced before the time ran out.
	Flows  int `json:"flows"`
	Traced int `json:"traced"`
	// Moved lists the flows whose replies leave another way, the SSH
	// session first.
	Moved []MovedFlow `json:"moved"`
	// MovedSockets counts the sockets of Moved that leave another way
	// (not SameWay).
	MovedSockets int            `json:"moved_sockets"`
	Shadowed     []ShadowedRule `json:"shadowed"`
	// Error is why the connections could not be traced at all.
	Error string `json:"error,omitempty"`
	// NamesBefore and Names are the table names before and after the
	// change, which the hops' tables are called by.
	NamesBefore netcfg.Names `json:"-"`
	Names       netcfg.Names `json:"-"`
}

// Partial reports whether some sockets were left unread or some flows
// untraced.
func (f *FlowGuard) Partial() bool { return f.Read < f.Sockets || f.Traced < f.Flows }

// Dangerous reports whether the change moves a live connection or takes
// traffic from another program's rules.
func (f *FlowGuard) Dangerous() bool { return f.MovedSockets > 0 || len(f.Shadowed) > 0 }

// MovesSSHLogin reports whether the change sends an SSH login's replies
// out another NIC or gateway.
func (f *FlowGuard) MovesSSHLogin() bool {
	return slices.ContainsFunc(f.Moved, func(m MovedFlow) bool { return (m.SSH || m.Session) && !m.SameWay })
}

// FlowOptions bound the work of GuardFlows.
type FlowOptions struct {
	// Budget is the time the tracing may take; what is left when it runs
	// out is counted, not traced.
	Budget time.Duration
	// MaxFlows caps the flows traced.
	MaxFlows int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Observe, when set, sees every packet traced and its two paths.
	Observe func(p netcfg.Packet, before, after *Path)
}

// DefaultFlowOptions keep the guard well under a second on a host with
// tens of thousands of connections.
var DefaultFlowOptions = FlowOptions{Budget: 300 * time.Millisecond, MaxFlows: 2000}

// sockFlow is one group of sockets with the packet its replies are.
type sockFlow struct {
	sock    netcfg.Socket
	count   int
	session bool
	ssh     bool
	pkt     netcfg.Packet
}

// ReplyPacket is the packet a socket sends back: from its local address
// and port to its peer, bound to its device, with its mark and owner.
func ReplyPacket(s *netcfg.Socket) netcfg.Packet {
	uid := s.UID
	p := netcfg.Packet{Dst: s.Remote.Addr(), Src: s.Local.Addr(), OIF: s.Dev, Mark: s.Mark, UID: &uid,
		IPProto: s.IPProto, SPort: s.Local.Port(), DPort: s.Remote.Port(), Tos: s.Tos,
		// The kernel hashes an IPv6 flow label per connection.
		Unknown: netcfg.FieldFlowLabel}
	if !s.HasTos {
		p.Unknown |= netcfg.FieldTos
	}
	return p
}

// groupFlows folds sockets into flows: those between the same two
// addresses, of one protocol, device, mark and owner, take the same path
// unless a rule selects on ports, so they are traced once.
func groupFlows(socks []netcfg.Socket, session sshsession.Conn, ports bool) []sockFlow {
	type key struct {
		proto  uint8
		local  netip.AddrPort
		remote netip.AddrPort
		dev    string
		mark   uint32
		uid    uint32
		tos    uint8
	}
	at := map[key]int{}
	var out []sockFlow
	for i := range socks {
		s := socks[i]
		s.Local = netip.AddrPortFrom(s.Local.Addr().Unmap(), s.Local.Port())
		s.Remote = netip.AddrPortFrom(s.Remote.Addr().Unmap(), s.Remote.Port())
		if !s.Remote.Addr().IsValid() || s.Remote.Addr().IsUnspecified() || s.Remote.Addr().IsLoopback() {
			continue
		}
		isSession := s.IPProto == netcfg.ProtoTCP && session.Client.IsValid() && s.Remote == session.Client &&
			(!session.Server.Addr().IsValid() || s.Local == session.Server)
		// SSH logins are listed one by one: each may be a person's.
		isSSH := !isSession && s.IPProto == netcfg.ProtoTCP &&
			(s.Local.Port() == 22 || (session.Server.Port() != 0 && s.Local.Port() == session.Server.Port()))
		k := key{s.IPProto, s.Local, s.Remote, s.Dev, s.Mark, s.UID, s.Tos}
		if !ports && !isSession && !isSSH {
			k.local = netip.AddrPortFrom(k.local.Addr(), 0)
			k.remote = netip.AddrPortFrom(k.remote.Addr(), 0)
		}
		if j, ok := at[k]; ok {
			out[j].count++
			continue
		}
		at[k] = len(out)
		out = append(out, sockFlow{sock: s, count: 1, session: isSession, ssh: isSSH, pkt: ReplyPacket(&s)})
	}
	// The session first, then the groups with the most sockets.
	slices.SortStableFunc(out, func(a, b sockFlow) int {
		if a.session != b.session {
			if a.session {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.count, a.count)
	})
	return out
}

// portRules reports whether some rule of s selects on the protocol or the
// ports.
func portRules(s *netcfg.State) bool {
	return slices.ContainsFunc(s.Rules, func(r netcfg.Rule) bool { return r.IPProto != 0 || r.SPort != nil || r.DPort != nil })
}

// GuardFlows traces, before and after a change, the replies of every
// connected socket and the traffic each foreign rule selects, and lists
// what leaves another way. session marks the SSH session among the
// sockets. It stops tracing when the budget runs out and says how much it
// left.
func GuardFlows(before, after netcfg.State, socks []netcfg.Socket, total int, session sshsession.Conn, o FlowOptions) FlowGuard {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	deadline := now().Add(o.Budget)
	tb, ta := NewTracer(before), NewTracer(after)
	flows := groupFlows(socks, session, portRules(&before) || portRules(&after))
	g := FlowGuard{Sockets: max(total, len(socks)), Read: len(socks), Flows: len(flows), Moved: []MovedFlow{}, Shadowed: []ShadowedRule{},
		NamesBefore: before.Names, Names: after.Names}
	for i := range flows {
		if (o.MaxFlows > 0 && i >= o.MaxFlows) || (o.Budget > 0 && now().After(deadline) && !flows[i].session) {
			break
		}
		g.Traced++
		f := &flows[i]
		pb, errB := tb.Trace(f.pkt)
		pa, errA := ta.Trace(f.pkt)
		if errB == nil && errA == nil && o.Observe != nil {
			o.Observe(f.pkt, &pb, &pa)
		}
		if errB != nil || errA != nil || !pb.Verdict.Delivered() {
			// A reply with no way out even now is not the change's doing.
			continue
		}
		hb, ha := hopOf(&pb), hopOf(&pa)
		if !hb.moved(ha) {
			continue
		}
		same := hb.Verdict == ha.Verdict && hb.Dev == ha.Dev && hb.Gateway == ha.Gateway
		g.Moved = append(g.Moved, MovedFlow{IPProto: f.sock.IPProto, Local: f.sock.Local, Remote: f.sock.Remote, Count: f.count,
			Session: f.session, SSH: f.ssh, SameWay: same, Before: hb, After: ha, Why: CauseOf(&pb, &pa)})
		if !same {
			g.MovedSockets += f.count
		}
	}
	// Those that leave another way first, the session at their head.
	slices.SortStableFunc(g.Moved, func(a, b MovedFlow) int {
		switch {
		case a.SameWay == b.SameWay:
			return 0
		case b.SameWay:
			return -1
		}
		return 1
	})
	g.Shadowed = shadowedRules(tb, ta, &before, &after, deadline, now, o.Observe)
	return g
}
