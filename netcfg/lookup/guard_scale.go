package lookup

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/netcfg"
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
	RouteGet(p netcfg.Packet) (*netcfg.Route, error)
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

// MovesSSH reports whether the change moves or cuts the SSH session — or,
// when no session was found, any SSH login to this host: one of them may
// be the session nictab runs in.
func (r *GuardReport) MovesSSH() bool {
	if r.SSH != nil && r.SSH.Conn.Client.IsValid() {
		return r.SSH.Dangerous()
	}
	return r.Flows.MovesSSHLogin()
}

// Dangerous reports whether the change moves the SSH session, any other
// live connection, or traffic of another program's rules.
func (r *GuardReport) Dangerous() bool {
	return (r.SSH != nil && r.SSH.Dangerous()) || r.Flows.Dangerous()
}

// GuardRun is what RunGuard works from.
type GuardRun struct {
	// Before is the live state: every table a rule reaches read in full,
	// except main and local, which may hold only what Detect read of them
	// (main's default routes and nictab's own).
	Before netcfg.State
	Plan   netcfg.Plan
	// SSH is the session to guard; nil when nictab does not run over SSH.
	SSH *sshsession.Conn
	// Sockets are the namespace's connected sockets; SocketTotal how
	// many it has.
	Sockets     []netcfg.Socket
	SocketTotal int
	Oracle      RouteOracle
	// ReadTable reads every route of a table (main or local).
	ReadTable func(id uint32) ([]netcfg.Route, error)
	Flows     FlowOptions
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

func keyOf(p *netcfg.Packet) packetKey {
	k := packetKey{dst: p.Dst.Unmap().WithZone(""), src: p.Src.Unmap().WithZone(""), oif: p.OIF, iif: p.IIF, mark: p.Mark, proto: p.IPProto, sport: p.SPort, dport: p.DPort, tos: p.Tos}
	if p.UID != nil {
		k.uid, k.hasUID = *p.UID, true
	}
	return k
}

// reaches reports whether a path looked table id up.
func reaches(p *Path, id uint32) bool {
	return slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Table == id })
}

// touchesTable reports whether the plan deletes or replaces a route of
// table id: the kernel's answer for a packet may then be the route that
// goes.
func touchesTable(p *netcfg.Plan, id uint32) bool {
	for i := range p.Changes {
		c := &p.Changes[i]
		if r := c.Subject().Route; r != nil && r.Table == id && c.Action != netcfg.ChangeAdd {
			return true
		}
	}
	return false
}

// localFirst reports whether each family's first rule is the kernel's
// `0: from all lookup local` in s: then every packet is looked up in local
// before anything else, so when the kernel's answer for it comes from
// another table, local has no route for it.
func localFirst(s *netcfg.State) bool {
	for _, fam := range []netcfg.Family{netcfg.V4, netcfg.V6} {
		var first *netcfg.Rule
		for i := range s.Rules {
			r := &s.Rules[i]
			if r.Family == fam && (first == nil || r.Priority < first.Priority) {
				first = r
			}
		}
		if first == nil || first.Priority != 0 || !kernelRule(first) {
			return false
		}
	}
	return true
}

// oracleTables are the tables the guard may take from the oracle instead
// of reading them: main, which can be a full Internet table, and local,
// which the kernel keeps in one trie with main until the first rule is
// added, so reading it walks main too.
var oracleTables = [...]uint32{netcfg.TableMain, netcfg.TableLocal}

// RunGuard traces the SSH session and every live connection and foreign
// rule before and after the plan, reading main and local only as far as
// it must.
func RunGuard(in GuardRun) (GuardReport, error) {
	before := in.Before
	before.Routes = slices.Clone(in.Before.Routes)
	partial := map[uint32]bool{}
	for _, id := range oracleTables {
		partial[id] = !before.HasTable(id)
	}
	readFull := func(id uint32) error {
		if !partial[id] {
			return nil
		}
		if in.ReadTable == nil {
			return fmt.Errorf("table %d was not read in full and cannot be", id)
		}
		routes, err := in.ReadTable(id)
		if err != nil {
			return fmt.Errorf("read table %d to trace through it: %w", id, err)
		}
		before.Routes = slices.DeleteFunc(before.Routes, func(r netcfg.Route) bool { return r.Table == id })
		before.Routes = append(before.Routes, routes...)
		before.MarkComplete(id)
		partial[id] = false
		return nil
	}
	for _, id := range oracleTables {
		if in.Oracle == nil || touchesTable(&in.Plan, id) || (id == netcfg.TableLocal && !localFirst(&before)) {
			if err := readFull(id); err != nil {
				return GuardReport{}, err
			}
		}
	}
	known := map[uint32]map[packetKey]bool{netcfg.TableMain: {}, netcfg.TableLocal: {}}
	have := map[netcfg.RouteKey]bool{}
	for i := range before.Routes {
		have[before.Routes[i].Key()] = true
	}
	asked := 0
	for round := 0; ; round++ {
		b := before
		for _, id := range oracleTables {
			if partial[id] {
				// Exact for every packet the oracle answered; the others
				// are found below and asked about, or the table is read.
				b.MarkComplete(id)
			}
		}
		after := ProjectPlan(b, in.Plan)
		type ask struct {
			p netcfg.Packet
			// main is set when the packet's paths reach main.
			main bool
		}
		var unknown []ask
		seen := map[packetKey]int{}
		o := in.Flows
		o.Observe = func(p netcfg.Packet, pb, pa *Path) {
			k := keyOf(&p)
			for _, id := range oracleTables {
				if !partial[id] || known[id][k] || !(reaches(pb, id) || reaches(pa, id)) {
					continue
				}
				i, ok := seen[k]
				if !ok {
					i = len(unknown)
					seen[k] = i
					unknown = append(unknown, ask{p: p})
				}
				if id == netcfg.TableMain {
					unknown[i].main = true
				}
			}
		}
		rep := GuardReport{Main: "oracle", OracleAsked: asked}
		if !partial[netcfg.TableMain] {
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
		if round >= 2 {
			// The answers keep changing the paths: read both.
			for _, id := range oracleTables {
				if err := readFull(id); err != nil {
					return GuardReport{}, err
				}
			}
			continue
		}
		for _, u := range unknown {
			p := u.p
			k := keyOf(&p)
			if p.IIF != "" {
				// The oracle answers only for packets this host sends.
				for _, id := range oracleTables {
					if err := readFull(id); err != nil {
						return GuardReport{}, err
					}
				}
				break
			}
			asked++
			r, err := in.Oracle.RouteGet(p)
			if err != nil {
				return GuardReport{}, err
			}
			if r != nil && partial[r.Table] && !have[r.Key()] {
				have[r.Key()] = true
				before.Routes = append(before.Routes, *r)
			}
			// Local is looked up first: an answer from elsewhere means
			// it has nothing for the packet.
			known[netcfg.TableLocal][k] = true
			switch {
			case r != nil && r.Table == netcfg.TableMain:
				known[netcfg.TableMain][k] = true
			case r != nil && r.Table == netcfg.TableLocal:
				// Decided in local; whether it reaches main is seen again
				// in the next round.
			case u.main:
				// Another table decides it now: what main would give it
				// after the change is not known.
				if partial[netcfg.TableMain] {
					if err := readFull(netcfg.TableMain); err != nil {
						return GuardReport{}, err
					}
				}
			}
		}
	}
}

func sessionOf(g *Guard) sshsession.Conn {
	if g == nil {
		return sshsession.Conn{}
	}
	return g.Conn
}

// guardSession is GuardConn, with the server's address filled in when
// only the client is known: the session's replies come from the address
// the host would pick for it now.
func guardSession(before, after netcfg.State, c sshsession.Conn, observe func(netcfg.Packet, *Path, *Path)) Guard {
	if !c.Server.Addr().IsValid() {
		p := netcfg.Packet{Dst: c.Client.Addr(), IPProto: netcfg.ProtoTCP}
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
