package lookup_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
	"github.com/nictab/nictab/ui"
)

// fullOracle answers RouteGet as the kernel would for the full state: the
// route that decides the packet, with its table.
type fullOracle struct {
	s     netcfg.State
	asked int
}

func (o *fullOracle) RouteGet(p netcfg.Packet) (*netcfg.Route, error) {
	o.asked++
	path, err := lookup.Trace(o.s, p)
	if err != nil || path.Route == nil || !path.Verdict.Delivered() {
		return nil, nil
	}
	r := *path.Route
	return &r, nil
}

// partialOf is s as GuardPlan starts from it: main holds only its default
// routes and nictab's, local nothing; neither is read in full.
func partialOf(s netcfg.State) netcfg.State {
	p := s
	p.Routes = slices.DeleteFunc(slices.Clone(s.Routes), func(r netcfg.Route) bool {
		return (r.Table == netcfg.TableMain && r.Dst.Bits() != 0 && r.Proto != netcfg.ProtoNictab) || r.Table == netcfg.TableLocal
	})
	p.Complete = slices.DeleteFunc(slices.Clone(s.Complete), func(t uint32) bool { return t == netcfg.TableMain || t == netcfg.TableLocal })
	return p
}

// guardWorld is the home server with a big main (a more specific route
// for the SSH client through eno1 among many through enp2s0), a
// tailscale-like table 52 and a few live connections.
func guardWorld(t *testing.T) (netcfg.State, []netcfg.Socket, sshsession.Conn) {
	extra := "route 198.51.100.0/24 via 192.168.10.1 dev eno1\nroute 100.64.0.0/10 dev eno1 table 52\nrule pref 5270 lookup 52\ncomplete 52\n"
	for i := range 500 {
		extra += fmt.Sprintf("route 10.%d.%d.0/24 via 192.168.20.1 dev enp2s0\n", i>>8, i&0xff)
	}
	s := traceState(t, homeServer, extra)
	s.AllOwned = true
	ssh := sshsession.Conn{Client: netip.MustParseAddrPort("198.51.100.7:50000"), Server: netip.MustParseAddrPort("192.168.10.2:22")}
	socks := []netcfg.Socket{
		{IPProto: netcfg.ProtoTCP, Local: ssh.Server, Remote: ssh.Client},
		{IPProto: netcfg.ProtoTCP, Local: netip.MustParseAddrPort("192.168.10.2:40000"), Remote: netip.MustParseAddrPort("100.88.1.7:443")},
		{IPProto: netcfg.ProtoTCP, Local: netip.MustParseAddrPort("192.168.10.2:40001"), Remote: netip.MustParseAddrPort("10.0.7.9:80")},
		{IPProto: netcfg.ProtoUDP, Local: netip.MustParseAddrPort("192.168.20.2:5353"), Remote: netip.MustParseAddrPort("10.1.0.9:53")},
	}
	return s, socks, ssh
}

func reportJSON(t *testing.T, r lookup.GuardReport) string {
	t.Helper()
	r.Main, r.OracleAsked = "", 0
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRunGuardOracleAgrees: the guard from main's default routes and the
// oracle's answers gives the same report as from the full table, reads
// nothing in full for a plan that adds nictab's rules, and reads main
// once when a packet's route in main after the change cannot be known.
func TestRunGuardOracleAgrees(t *testing.T) {
	full, socks, ssh := guardWorld(t)
	vpnRule := netcfg.NewRule()
	vpnRule.Family, vpnRule.Priority, vpnRule.Table, vpnRule.Proto = netcfg.V4, 900, 14, netcfg.ProtoNictab
	vpnRule.From = netip.MustParsePrefix("192.168.10.2/32")
	withRule := full
	withRule.Rules = append(slices.Clone(full.Rules), vpnRule)
	withRule.Routes = append(slices.Clone(full.Routes), netcfg.Route{Table: 14, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("0.0.0.0/0"),
		Gw: netip.MustParseAddr("192.168.20.1"), Dev: "enp2s0", Proto: netcfg.ProtoNictab})
	withRule.Complete = append(slices.Clone(full.Complete), 14)
	slices.Sort(withRule.Complete)

	for _, tc := range []struct {
		name     string
		live     netcfg.State
		plan     func(netcfg.State) netcfg.Plan
		wantRead []uint32
	}{
		{"nictab's rule added", full, func(s netcfg.State) netcfg.Plan { return planFor(t, s, vpnIntent()) }, nil},
		{"nictab's rule removed: main read", withRule, func(netcfg.State) netcfg.Plan {
			r := vpnRule
			return netcfg.Plan{Changes: []netcfg.Change{{Action: netcfg.ChangeDelete, Before: netcfg.Object{Rule: &r}}}}
		}, []uint32{netcfg.TableMain}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := tc.plan(tc.live)
			want, err := lookup.RunGuard(lookup.GuardRun{Before: tc.live, Plan: plan, SSH: &ssh, Sockets: socks, SocketTotal: len(socks)})
			if err != nil {
				t.Fatal(err)
			}
			if want.SSH.Status == lookup.GuardSafe && len(want.Flows.Moved) == 0 {
				t.Fatalf("the world moves nothing, so it tests nothing: %s", reportJSON(t, want))
			}
			o := &fullOracle{s: tc.live}
			var read []uint32
			got, err := lookup.RunGuard(lookup.GuardRun{Before: partialOf(tc.live), Plan: plan, SSH: &ssh, Sockets: socks, SocketTotal: len(socks), Oracle: o,
				ReadTable: func(id uint32) ([]netcfg.Route, error) {
					read = append(read, id)
					return slices.DeleteFunc(slices.Clone(tc.live.Routes), func(r netcfg.Route) bool { return r.Table != id }), nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			if g, w := reportJSON(t, got), reportJSON(t, want); g != w {
				t.Errorf("from the oracle:\n%s\nfrom the full tables:\n%s", g, w)
			}
			if !slices.Equal(read, tc.wantRead) {
				t.Errorf("tables read in full: %v, want %v (oracle asked %d times)", read, tc.wantRead, o.asked)
			}
			if o.asked == 0 || o.asked > 2*len(socks)+4 {
				t.Errorf("the oracle was asked %d times for %d sockets", o.asked, len(socks))
			}
		})
	}
}

// TestGuardFlowsBudget: when the time runs out, the flows left are
// counted, the session is traced all the same (its table changes), and
// the note says so.
func TestGuardFlowsBudget(t *testing.T) {
	full, socks, ssh := guardWorld(t)
	plan := planFor(t, full, vpnIntent())
	tick := 0
	clock := func() time.Time { tick++; return time.Unix(0, 0).Add(time.Duration(tick) * time.Second) }
	// The session last in the list: it is still traced first.
	socks = append(socks[1:], socks[0])
	g := lookup.GuardFlows(full, lookup.ProjectPlan(full, plan), socks, 10, ssh, lookup.FlowOptions{Budget: 2 * time.Second, Now: clock})
	if g.Flows != 4 || g.Traced >= g.Flows || g.Sockets != 10 || g.Read != 4 || ui.FlowNote(&g) == "" {
		t.Fatalf("flows %d traced %d sockets %d read %d note %q", g.Flows, g.Traced, g.Sockets, g.Read, ui.FlowNote(&g))
	}
	if !slices.ContainsFunc(g.Moved, func(m lookup.MovedFlow) bool { return m.Session }) {
		t.Errorf("the session was not traced: %+v", g.Moved)
	}
}
