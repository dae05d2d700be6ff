package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// NOTE: the guard at scale. Tracing needs every route of every table a
// packet can reach, and main may hold a full Internet table: a million
// routes, read in a second and held in hundreds of MB, for a plan that
// reads only main's default routes. Yet a plan of nictab's changes no
// route of main unless it adds one there, so the packets the guard traces
// get the same answer from main before and after the change: the route
// the kernel picks for them now. RunGuard traces first with main's
// default routes and nictab's own, notes the packets whose paths reach
// main, asks the kernel for each of them the route that decides it
// (RouteOracle, `ip route get fibmatch`), adds those routes, and traces
// again. Only when the kernel's answer for such a packet does not come
// from main (another rule decided it now, so main's route for it is not
// known), or the plan deletes or replaces a route of main, is main read
// in full — once.

// RouteOracle tells which route decides a packet now.
type RouteOracle interface {
	// RouteGet returns the route that decides p, with its table, or nil
	// when the kernel has none.
	RouteGet(p Packet) (*Route, error)
}

// GuardReport is the whole guard: the SSH session's path and every other
// connection and foreign rule the change moves.
type GuardReport struct {
	SSH   *Guard    `json:"ssh,omitempty"`
	Flows FlowGuard `json:"flows"`
	// Main says how main was read: "full", or "oracle" when only the
	// routes the kernel named for the traced packets were.
	Main string `json:"main_table"`
	// OracleAsked counts the packets the kernel was asked about.
	OracleAsked int `json:"oracle_asked"`
}

// Dangerous reports whether the change moves the SSH session, any other
// live connection, or traffic of another program's rules.
func (r *GuardReport) Dangerous() bool {
	return (r.SSH != nil && r.SSH.Dangerous()) || r.Flows.Dangerous()
}

// GuardRun is what RunGuard works from.
type GuardRun struct {
	// Before is the live state: every table a rule reaches read in full,
	// except main, which may hold only its default routes and nictab's.
	Before State
	Plan   Plan
	// SSH is the session to guard; nil when nictab does not run over SSH.
	SSH *SSHConn
	// Sockets are the namespace's connected sockets; SocketTotal how
	// many it has.
	Sockets     []Socket
	SocketTotal int
	Oracle      RouteOracle
	// ReadMain reads every route of main.
	ReadMain func() ([]Route, error)
	Flows    FlowOptions
}

// packetKey is what identifies a packet to the oracle.
type packetKey struct {
	dst, src     netip.Addr
	oif, iif     string
	mark, uid    uint32
	hasUID       bool
	proto        uint8
	sport, dport uint16
	tos          uint8
}

func keyOf(p *Packet) packetKey {
	k := packetKey{dst: p.Dst.Unmap().WithZone(""), src: p.Src.Unmap().WithZone(""), oif: p.OIF, iif: p.IIF, mark: p.Mark, proto: p.IPProto, sport: p.SPort, dport: p.DPort, tos: p.Tos}
	if p.UID != nil {
		k.uid, k.hasUID = *p.UID, true
	}
	return k
}

// reachesMain reports whether a path looked main up.
func reachesMain(p *Path) bool {
	return slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Table == TableMain })
}

// touchesMain reports whether the plan deletes or replaces a route of
// main: the kernel's answer for a packet may then be the route that goes.
func touchesMain(p *Plan) bool {
	for i := range p.Changes {
		c := &p.Changes[i]
		if r := c.Subject().Route; r != nil && r.Table == TableMain && c.Action != ChangeAdd {
			return true
		}
	}
	return false
}

func withTable(complete []uint32, id uint32) []uint32 {
	out := slices.Clone(complete)
	if i, ok := slices.BinarySearch(out, id); !ok {
		out = slices.Insert(out, i, id)
	}
	return out
}

// RunGuard traces the SSH session and every live connection and foreign
// rule before and after the plan, reading main only as far as it must.
func RunGuard(in GuardRun) (GuardReport, error) {
	before := in.Before
	before.Routes = slices.Clone(in.Before.Routes)
	full := before.HasTable(TableMain)
	readFull := func() error {
		if in.ReadMain == nil {
			return errors.New("main was not read in full and cannot be")
		}
		main, err := in.ReadMain()
		if err != nil {
			return fmt.Errorf("read the main table to trace through it: %w", err)
		}
		before.Routes = slices.DeleteFunc(before.Routes, func(r Route) bool { return r.Table == TableMain })
		before.Routes = append(before.Routes, main...)
		before.Complete = withTable(before.Complete, TableMain)
		full = true
		return nil
	}
	if !full && (in.Oracle == nil || touchesMain(&in.Plan)) {
		if err := readFull(); err != nil {
			return GuardReport{}, err
		}
	}
	known := map[packetKey]bool{}
	have := map[RouteKey]bool{}
	for i := range before.Routes {
		if before.Routes[i].Table == TableMain {
			have[before.Routes[i].Key()] = true
		}
	}
	asked := 0
	for round := 0; ; round++ {
		b := before
		if !full {
			// Exact for every packet whose route in main the oracle gave;
			// the others are found below and answered, or main is read.
			b.Complete = withTable(before.Complete, TableMain)
		}
		after := ProjectPlan(b, in.Plan)
		var unknown []Packet
		seen := map[packetKey]bool{}
		o := in.Flows
		o.Observe = func(p Packet, pb, pa *Path) {
			k := keyOf(&p)
			if !full && !known[k] && !seen[k] && (reachesMain(pb) || reachesMain(pa)) {
				seen[k] = true
				unknown = append(unknown, p)
			}
		}
		rep := GuardReport{Main: "oracle", OracleAsked: asked}
		if full {
			rep.Main = "full"
		}
		if in.SSH != nil {
			g := guardSession(b, after, *in.SSH, o.Observe)
			rep.SSH = &g
		}
		rep.Flows = GuardFlows(b, after, in.Sockets, in.SocketTotal, sessionOf(rep.SSH), o)
		if len(unknown) == 0 {
			return rep, nil
		}
		needFull := round >= 2
		for _, p := range unknown {
			if needFull {
				break
			}
			known[keyOf(&p)] = true
			if p.IIF != "" {
				needFull = true
				break
			}
			asked++
			r, err := in.Oracle.RouteGet(p)
			if err != nil {
				return GuardReport{}, err
			}
			if r == nil || r.Table != TableMain {
				// Another rule decides it now: what main would give it
				// after the change is not known.
				needFull = true
				break
			}
			if !have[r.Key()] {
				have[r.Key()] = true
				before.Routes = append(before.Routes, *r)
			}
		}
		if needFull {
			if err := readFull(); err != nil {
				return GuardReport{}, err
			}
		}
	}
}

func sessionOf(g *Guard) SSHConn {
	if g == nil {
		return SSHConn{}
	}
	return g.Conn
}

// guardSession is GuardConn, with the server's address filled in when
// only the client is known: the session's replies come from the address
// the host would pick for it now.
func guardSession(before, after State, c SSHConn, observe func(Packet, *Path, *Path)) Guard {
	if !c.Server.Addr().IsValid() {
		p := Packet{Dst: c.Client.Addr(), IPProto: ProtoTCP}
		if path, err := Trace(before, p); err == nil {
			if observe != nil {
				observe(p, &path, &path)
			}
			if path.Src.IsValid() {
				c.Server = netip.AddrPortFrom(path.Src, c.Server.Port())
			}
		}
	}
	g := GuardConn(before, after, c)
	if observe != nil {
		observe(g.Before.Packet, &g.Before, &g.After)
	}
	return g
}

// ReadTable reads every route of table id into s, in place of the routes
// of it s had, and marks it read in full.
func ReadTable(r Reader, s *State, id uint32) error {
	s.Routes = slices.DeleteFunc(s.Routes, func(rt Route) bool { return rt.Table == id })
	if err := readRoutesFiltered(r, s, RouteQuery{Table: id}, func(*Route) bool { return true }); err != nil {
		return err
	}
	s.Complete = withTable(s.Complete, id)
	return nil
}
