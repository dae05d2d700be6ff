package ui

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

func movedFlow(remote string, session, same bool, count int) netcfg.MovedFlow {
	prio := uint32(1000)
	local := "192.168.10.2:40000"
	if session {
		local = "192.168.10.2:22"
	}
	rule := netcfg.NewRule()
	rule.Family, rule.Priority, rule.From, rule.Table = netcfg.V4, prio, netip.MustParsePrefix("192.168.10.2/32"), 13
	return netcfg.MovedFlow{IPProto: netcfg.ProtoTCP, Local: netip.MustParseAddrPort(local), Remote: netip.MustParseAddrPort(remote),
		Count: count, Session: session, SameWay: same,
		Before: netcfg.Hop{Verdict: netcfg.VerdictRouted, Dev: "ts0", Table: 52},
		After:  netcfg.Hop{Verdict: netcfg.VerdictRouted, Dev: "eno1", Gateway: netip.MustParseAddr("192.168.10.1"), Table: 13, Rule: &prio},
		Why:    netcfg.PathCause{Kind: netcfg.CauseRule, Rule: &rule, Table: 13, Verdict: netcfg.VerdictRouted}}
}

// TestFlowLines: the session leads in the loudest style, groups show
// their count, detail stops at its cap with "and N more", and flows that
// only change table are summed up apart.
func TestFlowLines(t *testing.T) {
	f := &netcfg.FlowGuard{Moved: []netcfg.MovedFlow{movedFlow("192.168.30.5:51000", true, false, 1)}, MovedSockets: 1}
	for i := range 5 {
		f.Moved = append(f.Moved, movedFlow(fmt.Sprintf("100.88.1.%d:443", i+1), false, false, 3))
		f.MovedSockets += 3
	}
	f.Moved = append(f.Moved, movedFlow("192.168.10.1:50080", false, true, 1))
	foreign, by := netcfg.NewRule(), netcfg.NewRule()
	foreign.Family, foreign.Priority, foreign.Table = netcfg.V4, 5270, 52
	by.Family, by.Priority, by.Table = netcfg.V4, 1000, 13
	f.Shadowed = []netcfg.ShadowedRule{{Rule: foreign, By: by, Packet: netcfg.Packet{Src: netip.MustParseAddr("192.168.10.2"), Dst: netip.MustParseAddr("100.64.0.1")},
		Before: netcfg.Hop{Verdict: netcfg.VerdictRouted, Dev: "ts0", Table: 52}, After: netcfg.Hop{Verdict: netcfg.VerdictRouted, Dev: "eno1", Table: 13}}}
	names := netcfg.Names{}
	st := PlainStyles()
	lines := FlowLines(f, &names, 200, 2, st)
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		"MOVES 16 CONNECTIONS, THIS SSH SESSION FIRST",
		"16 established connections: 192.168.30.5:22 (this session), 100.88.1.1:443 (×3), 100.88.1.2:443 (×3), 100.88.1.3:443 (×3), … (2 more)",
		"tcp 192.168.30.5:22 (this session): ts0 (table 52) → eno1 via 192.168.10.1 (table 13), rule 1000: from 192.168.10.2 lookup 13",
		"and 4 more",
		"1 connection keeps its NIC and gateway, through another table: 192.168.10.1:40000",
		"takes traffic from 1 rule of other programs:",
		"rule 1000 now precedes rule 5270 (table 52)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if !strings.HasPrefix(lines[0], st.Danger.Render(" MOVES")) {
		t.Errorf("the session's line is not the first and loudest: %q", lines[0])
	}
	if got := FlowLines(&netcfg.FlowGuard{}, &names, 80, 2, st); len(got) != 0 {
		t.Errorf("nothing moved, yet: %q", got)
	}
}

// TestPreviewHeaderShowsFlows: the TUI's preview names the moved
// connections under the plan's counts, two at most, the session first.
func TestPreviewHeaderShowsFlows(t *testing.T) {
	f := &netcfg.FlowGuard{Moved: []netcfg.MovedFlow{movedFlow("192.168.30.5:51000", true, false, 1)}, MovedSockets: 1}
	for i := range 3 {
		f.Moved = append(f.Moved, movedFlow(fmt.Sprintf("100.88.1.%d:443", i+1), false, false, 1))
		f.MovedSockets++
	}
	r := netcfg.NewRule()
	r.Family, r.Priority, r.Table = netcfg.V4, 1000, 13
	p := &previewScreen{proposal: &Proposal{Flows: f, Plan: netcfg.Plan{Changes: []netcfg.Change{{Action: netcfg.ChangeAdd, After: netcfg.Object{Rule: &r}}}}}}
	head := strings.Join(p.header(100, PlainStyles()), "\n")
	for _, want := range []string{"+1 to add", "MOVES 4 CONNECTIONS, THIS SSH SESSION FIRST", "192.168.30.5:22 (this session)", "and 2 more"} {
		if !strings.Contains(head, want) {
			t.Errorf("the preview's header lacks %q:\n%s", want, head)
		}
	}
	if i, j := strings.Index(head, "tcp 192.168.30.5:22"), strings.Index(head, "tcp 100.88.1.1:443"); i < 0 || j < i {
		t.Errorf("the session is not the first flow shown:\n%s", head)
	}
}

// TestGuardTextEscapedOnce: device names holding an escape sequence reach
// the guard's views escaped exactly once, whether they come through a hop,
// a route, a rule's selector or the path's reason; its JSON sentences
// carry them as they are.
func TestGuardTextEscapedOnce(t *testing.T) {
	const evil = "e\x1b[2J"
	m := movedFlow("192.168.30.5:51000", true, false, 1)
	m.After.Dev = evil
	m.Why.Rule.IIF = evil
	route := netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("0.0.0.0/0"), Dev: evil}
	shadow := netcfg.ShadowedRule{Rule: *m.Why.Rule, By: *m.Why.Rule,
		Packet: netcfg.Packet{Src: netip.MustParseAddr("192.168.10.2"), Dst: netip.MustParseAddr("100.64.0.1"), OIF: evil},
		Before: netcfg.Hop{Verdict: netcfg.VerdictRouted, Dev: "ts0", Table: 52}, After: netcfg.Hop{Verdict: netcfg.VerdictRouted, Dev: evil, Table: 13}}
	f := &netcfg.FlowGuard{Moved: []netcfg.MovedFlow{m}, MovedSockets: 1, Shadowed: []netcfg.ShadowedRule{shadow}}
	routeFlow := movedFlow("100.88.1.1:443", false, false, 1)
	routeFlow.Why = netcfg.PathCause{Kind: netcfg.CauseRoute, Route: &route, Table: 13, Verdict: netcfg.VerdictRouted}
	f.Moved = append(f.Moved, routeFlow)
	names := netcfg.Names{}
	st := PlainStyles()

	conn, _ := netcfg.ParseSSHConn("203.0.113.5 51234 192.168.10.2 22")
	g := netcfg.Guard{Conn: conn, Status: netcfg.GuardMoved,
		Before: netcfg.Path{Verdict: netcfg.VerdictRouted, Dev: "eno1"},
		After:  netcfg.Path{Verdict: netcfg.VerdictRouted, Dev: evil, Table: 13, Route: &route, Reason: "whose route takes it out of " + evil}}
	undetermined := netcfg.Guard{Conn: conn, Status: netcfg.GuardUndetermined, Before: g.Before,
		After: netcfg.Path{Verdict: netcfg.VerdictUndetermined, Reason: "rule iif " + evil + " cannot be decided"}}

	views := map[string]string{
		"flows":        strings.Join(FlowLines(f, &names, 400, 10, st), "\n"),
		"guard":        RenderGuard(g, 400, st),
		"undetermined": RenderGuard(undetermined, 400, st),
	}
	for what, v := range views {
		if strings.Contains(v, "\x1b") {
			t.Errorf("%s: an escape character reached the view:\n%q", what, v)
		}
		if strings.Contains(v, `\\x1b`) {
			t.Errorf("%s: a name is escaped twice:\n%s", what, v)
		}
		if !strings.Contains(v, `e\x1b[2J`) {
			t.Errorf("%s: the name is not shown escaped:\n%s", what, v)
		}
	}
	if msg := GuardMessage(&g); !strings.Contains(msg, evil) {
		t.Errorf("the guard's sentence, which JSON carries, does not hold the name as it is: %q", msg)
	}
}
