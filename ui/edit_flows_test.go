package ui

import (
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// toRules focuses the rules pane.
var toRules = []step{wait("enp2s0"), press(tea.KeyTab), press(tea.KeyTab), wait("[Rules]")}

// toTables focuses the tables pane.
var toTables = []step{wait("enp2s0"), press(tea.KeyTab), wait("[Tables]")}

// newFwmarkRule types a rule "fwmark 0x13 lookup 13" at priority 1100.
var newFwmarkRule = with(toRules, []step{keys("n"), wait("New rule"), press(tea.KeyUp), keys("1100"),
	press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab), keys("0x13"),
	press(tea.KeyTab), keys("13"), wait("adds the rule")})

// managedSetup makes a fake what managed does, for the screen cases.
func managedSetup(f *fakeBackend) { *f = *managedFake() }

// managed is a fake whose base intent holds eno1 in table 13 and one
// explicit rule and route, all applied.
func managed(t *testing.T) *fakeBackend {
	t.Helper()
	return managedFake()
}

func managedFake() *fakeBackend {
	f := newFake()
	mark := netcfg.FwMark{Value: 0x13, Mask: 0xffffffff}
	f.base = netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}},
		NICs:   []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}},
		Rules:  []netcfg.RuleIntent{{Priority: 1100, From: pfx("10.30.0.0/16"), FwMark: &mark, Table: netcfg.TableRef{ID: 13}}},
		Routes: []netcfg.RouteIntent{{Table: netcfg.TableRef{ID: 13}, To: pfx("10.20.0.0/16"), Via: addr("192.168.10.1"), Metric: 50}},
	}
	p, err := f.Propose(f.base, nil)
	if err != nil {
		panic(err)
	}
	f.state = withTarget(f.state, p.Plan.Target)
	f.state.Complete = append(f.state.Complete, 13)
	slices.Sort(f.state.Complete)
	return f
}

// TestFlowRuleAdd: n on the rules pane, the fields typed, enter, p: the
// intent holds the rule and the plan adds it for both families.
func TestFlowRuleAdd(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, with(newFwmarkRule, []step{press(tea.KeyEnter), wait("unapplied edit"), keys("p"), wait("+2 to add")})...))
	want := netcfg.RuleIntent{Priority: 1100, FwMark: &netcfg.FwMark{Value: 0x13, Mask: 0xffffffff}, Table: netcfg.TableRef{ID: 13}}
	if got := m.preview.intent.Rules; len(got) != 1 || !ruleIntentEqual(&got[0], &want) {
		t.Fatalf("intent rules %+v, want %+v", got, want)
	}
	var marks []string
	for _, c := range m.preview.proposal.Plan.Changes {
		if r := c.After.Rule; r != nil && c.Action == netcfg.ChangeAdd {
			marks = append(marks, famLabel(r.Family)+" "+netcfg.RuleString(r))
		}
	}
	if len(marks) != 2 || !strings.Contains(marks[0], "fwmark 0x13") || !strings.Contains(marks[0], "1100") {
		t.Fatalf("plan adds %q", marks)
	}
}

// TestFlowRuleChecksAsTyped: each field says what is wrong while it is
// typed, and enter on a wrong form saves nothing.
func TestFlowRuleChecksAsTyped(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, with(toRules, []step{keys("n"), wait("New rule"),
		press(tea.KeyUp), keys("32766"), wait("kernel's own rules"), ctrl('u'), keys("500"), wait("taken by a rule nictab does not own"), ctrl('u'),
		press(tea.KeyTab), keys("10.0.0.1/8"), wait("host bits set"), ctrl('u'), keys("10.0.0.0/8"),
		press(tea.KeyTab), keys("2001:db8::/32"), wait("different families"), ctrl('u'),
		press(tea.KeyTab), keys("wg0"), wait("no NIC wg0 here now"),
		press(tea.KeyTab), press(tea.KeyTab), keys("0xzz"), wait("not a 32-bit number"), ctrl('u'),
		press(tea.KeyTab), keys("nosuch"), wait(`no table is named "nosuch"`),
		press(tea.KeyEnter), wait("Fix the fields")})...))
	if m.screen != screenForm || m.edits.len() != 0 {
		t.Fatalf("screen %v with %d edits", m.screen, m.edits.len())
	}
}

// TestFlowRuleEditDeleteUndo: an explicit rule of nictab's is edited in
// place, the edit undone, then it is deleted.
func TestFlowRuleEditDeleteUndo(t *testing.T) {
	f := managed(t)
	// Rules sort by priority, then family: 0, 0, 500, 1000, 1000, 1100.
	m := finish(t, run(t, f, 120, 40, false, with(toRules, []step{keys("jjjjj"), keys("e"), wait("Edit rule 1100"), ctrl('u'), keys("1200"), wait("changes the rule"), press(tea.KeyEnter), wait("→change"), wait("13 vpn            3+1-1"),
		keys("p"), wait("to change"), press(tea.KeyEscape), wait("[Rules]")})...))
	in := m.intent()
	if len(in.Rules) != 1 || in.Rules[0].Priority != 1200 {
		t.Fatalf("rules after edit %+v", in.Rules)
	}
	f2 := managed(t)
	m = finish(t, run(t, f2, 120, 40, false, with(toRules, []step{keys("jjjjj"), keys("e"), wait("Edit rule"), press(tea.KeyEnter),
		wait("noted"), keys("u"), wait("undid"), keys("d"), wait("will be deleted"), wait("13 vpn            3-1"), keys("p"), wait("-1 to delete")})...))
	if in := m.intent(); len(in.Rules) != 0 || len(in.NICs) != 1 {
		t.Fatalf("intent after delete %+v", in)
	}
}

// TestFlowRuleOfNICAndKernel: rules a NIC's assignment makes, and the
// kernel's, are not edited as rules; each says why.
func TestFlowRuleOfNICAndKernel(t *testing.T) {
	f := managed(t)
	finish(t, run(t, f, 120, 40, false, with(toRules, []step{keys("d"), wait("kernel's own"), keys("jjj"), keys("e"), wait("made by eno1's assignment")})...))
}

// TestFlowAdoptRule: A on a rule of someone else's marks it; the preview
// plans it replaced in place with nictab's protocol, and says no packet
// moves; the intent carries it as an explicit rule.
func TestFlowAdoptRule(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 120, 40, false, with(toRules, []step{keys("jd"), wait("not nictab's: A adopts"), keys("A"), wait("moving no packet"), wait("→adopt"),
		keys("p"), wait("~1 to change"), wait("adoption moves no")})...))
	pl := m.preview.proposal.Plan
	if len(pl.Changes) != 1 || pl.Changes[0].Action != netcfg.ChangeReplace || pl.Changes[0].After.Rule.Proto != netcfg.ProtoNictab || pl.Changes[0].Before.Rule.Proto != netcfg.ProtoBoot {
		t.Fatalf("plan %+v", pl.Changes)
	}
	if in := m.preview.intent; len(in.Rules) != 1 || in.Rules[0].Priority != 500 || in.Rules[0].Table.ID != 100 {
		t.Fatalf("intent %+v", in)
	}
}

// TestFlowRouteAdd: enter on a table opens its routes; n, the fields,
// enter, p: the plan adds the route with its metric.
func TestFlowRouteAdd(t *testing.T) {
	f := managed(t)
	m := finish(t, run(t, f, 80, 24, false, with(toTables, []step{press(tea.KeyEnter), wait("Routes of table 13 vpn"), keys("n"), wait("New route"),
		keys("10.40.0.0/16"), press(tea.KeyTab), keys("192.168.10.1"), press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab),
		keys("70"), wait("adds the route"), press(tea.KeyEnter), wait("noted"), keys("p"), wait("+1 to add")})...))
	var added []string
	for _, c := range m.preview.proposal.Plan.Changes {
		if c.Action == netcfg.ChangeAdd && c.After.Route != nil {
			added = append(added, netcfg.RouteString(c.After.Route))
		}
	}
	if len(added) != 1 || !strings.Contains(added[0], "10.40.0.0/16 via 192.168.10.1") || !strings.Contains(added[0], "metric 70") {
		t.Fatalf("plan adds %q", added)
	}
	if m.previewFrom != screenRoutes {
		t.Fatalf("the preview goes back to %v", m.previewFrom)
	}
}

// TestFlowRouteChecks: the route form's checks as typed.
func TestFlowRouteChecks(t *testing.T) {
	f := managed(t)
	finish(t, run(t, f, 80, 24, false, with(toTables, []step{press(tea.KeyEnter), wait("Routes of table 13"), keys("n"), wait("New route"),
		keys("10.50.0.0/16"), press(tea.KeyEnter), wait("needs via or dev"), keys("2001:db8::1"), press(tea.KeyTab), keys("nosuch0"), wait("no NIC named nosuch0"), ctrl('u'),
		press(tea.KeyTab), press(tea.KeyTab), keys("far"), wait("unknown scope"), ctrl('u'), press(tea.KeyTab), keys("-1"), wait("not a number"), ctrl('u'),
		press(tea.KeyTab), keys("bogus"), wait("not a route type")})...))
}

// TestFlowRouteEditDelete: an explicit route is edited, then deleted;
// a route eno1's assignment makes says where it comes from.
func TestFlowRouteEditDelete(t *testing.T) {
	f := managed(t)
	open := with(toTables, []step{press(tea.KeyEnter), wait("Routes of table 13"), keys("/10.20"), wait("1 of 5"), press(tea.KeyEnter)})
	m := finish(t, run(t, f, 120, 40, false, with(open, []step{keys("e"), wait("Edit route"), press(tea.KeyDown), press(tea.KeyDown), press(tea.KeyDown),
		press(tea.KeyDown), press(tea.KeyDown), ctrl('u'), keys("60"), press(tea.KeyEnter), wait("noted"), wait("change"), keys("p"), wait("+1 to add")})...))
	if in := m.intent(); len(in.Routes) != 1 || in.Routes[0].Metric != 60 {
		t.Fatalf("routes after edit %+v", in.Routes)
	}
	f = managed(t)
	m = finish(t, run(t, f, 120, 40, false, with(open, []step{keys("d"), wait("will be deleted"), press(tea.KeyEscape), keys("e"), wait("deleted already"), keys("k"), keys("e"), wait("eno1's assignment")})...))
	if in := m.intent(); len(in.Routes) != 0 {
		t.Fatalf("routes after delete %+v", in.Routes)
	}
}

// TestFlowTableDelete: d on a table of nictab's takes its NIC, rule and
// route with it; the preview deletes all of them.
func TestFlowTableDelete(t *testing.T) {
	f := managed(t)
	m := finish(t, run(t, f, 80, 24, false, with(toTables, []step{keys("d"), wait("goes when applied"), keys("p"), wait("to delete")})...))
	in := m.preview.intent
	if len(in.NICs)+len(in.Rules)+len(in.Routes)+len(in.Tables) != 0 {
		t.Fatalf("intent after deleting table 13: %+v", in)
	}
	add, del, _ := m.preview.proposal.Plan.Counts()
	owned := 0
	for _, r := range f.state.Rules {
		if r.Owned() {
			owned++
		}
	}
	for _, r := range f.state.Routes {
		if r.Owned() {
			owned++
		}
	}
	// Every rule and route of nictab's goes, and the name with them.
	if add != 0 || del != owned+1 {
		t.Fatalf("plan adds %d, deletes %d; want 0 and %d", add, del, owned+1)
	}
}

// TestFlowTableCreateRename: n on the tables pane creates a table the
// assign form then offers; e renames one.
func TestFlowTableCreateRename(t *testing.T) {
	f := managed(t)
	m := finish(t, run(t, f, 80, 24, false, with(toTables, []step{keys("n"), wait("New table"), keys("14"), press(tea.KeyTab), keys("lan"), wait("creates table 14 lan"),
		press(tea.KeyEnter), wait("noted"), keys("e"), wait("Rename table 13 vpn"), ctrl('u'), keys("tunnel"), wait("renames table"), press(tea.KeyEnter), wait("noted")})...))
	in := m.intent()
	if !slices.Equal(in.Tables, []netcfg.TableDef{{ID: 13, Name: "tunnel"}, {ID: 14, Name: "lan"}}) {
		t.Fatalf("tables %+v", in.Tables)
	}
	if !slices.ContainsFunc(knownTables(m.show, &m.state.Names, m.base, m.edits), func(c tableChoice) bool { return c.ID == 14 && c.Name == "lan" }) {
		t.Fatal("the assign form does not offer the new table")
	}
}

// TestFlowUndoEverything: u takes back edits one by one, last first.
func TestFlowUndoEverything(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, with(assignEno1, newFwmarkRule, []step{press(tea.KeyEnter), wait("2 unapplied edits"),
		keys("u"), wait("undid the new rule"), keys("u"), wait("undid the edit of eno1"), keys("u"), wait("no edit to undo")})...))
	if m.edits.len() != 0 || len(m.intent().NICs) != 0 {
		t.Fatalf("edits %d, intent %+v", m.edits.len(), m.intent())
	}
}

// TestFlowAssignPriorityAndSelect: the assign form takes oif as a second
// selector and an explicit priority, each checked as typed.
func TestFlowAssignPriorityAndSelect(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("a"), wait("new table"), keys("13"), press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab),
		keys("l"), keys(" "), wait("[x] oif"), press(tea.KeyTab), keys("500"), wait("taken by a rule nictab does not own: 500:"), ctrl('u'),
		keys("1500"), wait("at priority 1500"), press(tea.KeyEnter), wait("unapplied edit"), keys("p"), wait("to add")))
	ed, ok := m.edits.get("eno1")
	if !ok || ed.nic.Priority != 1500 || !slices.Equal(ed.nic.Select, []netcfg.Selector{netcfg.SelectFrom, netcfg.SelectOIF}) {
		t.Fatalf("edit %+v", ed.nic)
	}
	for _, c := range m.preview.proposal.Plan.Changes {
		if r := c.After.Rule; r != nil && r.Priority != 1500 {
			t.Fatalf("plan puts a rule at %d: %s", r.Priority, netcfg.RuleString(r))
		}
	}
}

// TestFlowGatewayChangeAndUnassign: a NIC's gateway is changed through
// the assign form, and d unassigns it; both are edits of one intent.
func TestFlowGatewayChangeAndUnassign(t *testing.T) {
	f := managed(t)
	m := finish(t, run(t, f, 80, 24, false, wait("13 vpn (nictab)"), keys("a"), wait("assign eno1"), press(tea.KeyTab), keys("192.168.10.254"), press(tea.KeyEnter),
		wait("→ 192.168.10.2…"), keys("p"), wait("to change"), press(tea.KeyEscape), wait("[NICs]"), keys("d"), wait("back to main"), keys("p"), wait("to delete")))
	if in := m.preview.intent; len(in.NICs) != 0 {
		t.Fatalf("eno1 is still assigned: %+v", in.NICs)
	}
	if m.edits.len() != 2 {
		t.Fatalf("edits %d, want the gateway change and the unassign", m.edits.len())
	}
}

// TestFlowRoutesLive: a route someone adds to the table on screen shows
// within a live update, and a foreign route is adopted from there.
func TestFlowRoutesLive(t *testing.T) {
	f := managed(t)
	m := finish(t, run(t, f, 120, 40, false, with(toTables, []step{press(tea.KeyEnter), wait("5 routes"), do(func() {
		f.change(func(s *netcfg.State) {
			s.Routes = append(s.Routes, netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: pfx("10.77.0.0/16"), Dev: "eno1", Scope: netcfg.ScopeLink, Proto: netcfg.ProtoStatic})
		})
	}), wait("6 routes"), keys("/10.77"), press(tea.KeyEnter), wait("1 of 6"), keys("e"), wait("not nictab's: A adopts"), keys("A"), wait("adopt"),
		keys("p"), wait("~1 to change")})...))
	if in := m.preview.intent; len(in.Routes) != 2 || in.Routes[1].To != pfx("10.77.0.0/16") {
		t.Fatalf("intent routes %+v", in.Routes)
	}
}

// TestFlowPendingRuleRows: a rule added shows on the rules pane at once,
// marked new, a row per family; it is edited and deleted there like one
// the kernel holds.
func TestFlowPendingRuleRows(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 120, 40, false, with(newFwmarkRule, []step{press(tea.KeyEnter), wait("→new"), keys("G"), keys("e"), wait("Edit rule 1100: from all fwmark 0x13 lookup 13"),
		ctrl('u'), keys("1300"), press(tea.KeyEnter), wait("1300    IPv6"), keys("G"), keys("d"), wait("will be deleted"), wait("3 unapplied edits")})...))
	if in := m.intent(); len(in.Rules) != 0 {
		t.Fatalf("rules after deleting the new one %+v", in.Rules)
	}
	if slices.ContainsFunc(m.show.Rules, func(r RuleView) bool { return r.Pending }) {
		t.Fatal("a deleted new rule is still listed")
	}
}

// TestFlowPendingRouteRows: a route added shows on the routes screen at
// once, marked new, with the cursor on it; it is edited and deleted there.
func TestFlowPendingRouteRows(t *testing.T) {
	f := managed(t)
	m := finish(t, run(t, f, 120, 40, false, with(toTables, []step{press(tea.KeyEnter), wait("5 routes"), keys("n"), wait("New route"),
		keys("10.40.0.0/16"), press(tea.KeyTab), keys("192.168.10.1"), press(tea.KeyEnter), wait("+1 new"), keys("e"), wait("Edit route 10.40.0.0/16 via 192.168.10.1 table 13"),
		press(tea.KeyDown), press(tea.KeyDown), press(tea.KeyDown), press(tea.KeyDown), press(tea.KeyDown), ctrl('u'), keys("9"), press(tea.KeyEnter), wait("metric 9"), keys("G"), keys("d"), wait("will be deleted")})...))
	if in := m.intent(); len(in.Routes) != 1 || in.Routes[0].To != pfx("10.20.0.0/16") {
		t.Fatalf("routes after deleting the new one %+v", in.Routes)
	}
	if len(m.routes.pending) != 0 {
		t.Fatalf("a deleted new route is still listed: %+v", m.routes.pending)
	}
}

// TestFlowRuleAction: a rule that ends the lookup takes no table; one
// typed beside the action is refused; the plan makes it for both
// families.
func TestFlowRuleAction(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, with(toRules, []step{keys("n"), wait("New rule"), press(tea.KeyTab), keys("203.0.113.0/24"),
		press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab), keys("13"), press(tea.KeyTab), keys("nat"), wait("not an action here"), ctrl('u'),
		keys("prohibit"), press(tea.KeyEnter), wait("looks up no table"), ctrl('u'), wait("prohibit."), press(tea.KeyEnter),
		wait("→new"), keys("p"), wait("+1 to add")})...))
	in := m.preview.intent
	if len(in.Rules) != 1 || in.Rules[0].Action != netcfg.ActionProhibit || in.Rules[0].Table != (netcfg.TableRef{}) {
		t.Fatalf("intent %+v", in.Rules)
	}
	c := m.preview.proposal.Plan.Changes[0]
	if c.After.Rule == nil || c.After.Rule.Action != netcfg.ActionProhibit || !strings.Contains(netcfg.RuleString(c.After.Rule), "to 203.0.113.0/24 prohibit") {
		t.Fatalf("plan %+v", c)
	}
}

// TestFlowRuleSelectors: ipproto by name, ports and a uid range, each
// checked as typed, carried into the intent and the planned rule.
func TestFlowRuleSelectors(t *testing.T) {
	f := newFake()
	tabs := func(n int) step {
		var s step
		for range n {
			s.keys = append(s.keys, tea.KeyPressMsg{Code: tea.KeyTab})
		}
		return s
	}
	m := finish(t, run(t, f, 80, 24, false, with(toRules, []step{keys("n"), wait("New rule"), tabs(5), keys("13"), tabs(2),
		keys("tcpx"), wait("not an IP protocol"), ctrl('u'), keys("tcp"), press(tea.KeyTab), keys("1024-65535"), wait("not a port range"), ctrl('u'), keys("1024-65000"),
		press(tea.KeyTab), keys("443"), press(tea.KeyTab), keys("2000-1000"), wait("not a uid range"), ctrl('u'), keys("1000-1999"),
		wait("uidrange 1000-1999 ipproto tcp sport 1024-65000"), press(tea.KeyEnter), wait("→new"), keys("p"), wait("+2 to add")})...))
	r := m.preview.intent.Rules[0]
	if r.IPProto != 6 || *r.SPort != (netcfg.PortRange{Start: 1024, End: 65000}) || *r.DPort != (netcfg.PortRange{Start: 443, End: 443}) || *r.UIDRange != (netcfg.UIDRange{Start: 1000, End: 1999}) {
		t.Fatalf("intent rule %+v", r)
	}
	for _, c := range m.preview.proposal.Plan.Changes {
		if got := netcfg.RuleString(c.After.Rule); !strings.Contains(got, "uidrange 1000-1999 ipproto 6 sport 1024-65000 dport 443 lookup 13") {
			t.Fatalf("plan adds %s", got)
		}
	}
}

// TestFlowEditTypedBeforeTheIntent: keys typed before the newest
// snapshot's intent is read wait for it: e on an explicit rule of
// nictab's opens its form, as it does once the intent is in.
func TestFlowEditTypedBeforeTheIntent(t *testing.T) {
	f := managed(t)
	f.intentGate = make(chan struct{})
	m := finish(t, run(t, f, 120, 40, false, wait("enp2s0"), press(tea.KeyTab), press(tea.KeyTab), keys("jjjjje"),
		do(func() { close(f.intentGate) }), wait("Edit rule 1100")))
	if m.screen != screenForm {
		t.Fatalf("screen %v, want the rule's form", m.screen)
	}
}
