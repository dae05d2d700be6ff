package lookup_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
)

func vpnIntent() netcfg.Intent {
	return netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}},
		NICs:   []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}},
	}
}

func planFor(t *testing.T, live netcfg.State, in netcfg.Intent) netcfg.Plan {
	t.Helper()
	d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		t.Fatal(err)
	}
	return netcfg.PlanChanges(live, d)
}

func ruleLines(s netcfg.State) []string {
	var out []string
	for i := range s.Rules {
		out = append(out, s.Rules[i].Family.String()+" "+netcfg.RuleString(&s.Rules[i]))
	}
	return out
}

func routeLines(s netcfg.State) []string {
	var out []string
	for i := range s.Routes {
		out = append(out, netcfg.RouteString(&s.Routes[i]))
	}
	slices.Sort(out)
	return out
}

func TestProjectPlan(t *testing.T) {
	live := traceState(t, homeServer, "complete 13")
	live.AllOwned = true
	before := ruleLines(live)
	plan := planFor(t, live, vpnIntent())
	after := lookup.ProjectPlan(live, plan)

	if !slices.Equal(ruleLines(live), before) {
		t.Fatalf("ProjectPlan changed the live state it was given")
	}
	want := []string{
		"inet 0:\tfrom all lookup 255",
		"inet 1000:\tfrom 192.168.10.2 lookup 13 proto 201",
		"inet 32766:\tfrom all lookup 254",
		"inet 32767:\tfrom all lookup 253",
		"inet6 0:\tfrom all lookup 255",
		"inet6 1000:\tfrom 2001:db8:10::2 lookup 13 proto 201",
		"inet6 32766:\tfrom all lookup 254",
	}
	if got := ruleLines(after); !slices.Equal(got, want) {
		t.Errorf("rules after the plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range []string{
		"default via 192.168.10.1 dev eno1 table 13 proto 201 scope global",
		"192.168.10.0/24 dev eno1 table 13 proto 201 scope link src 192.168.10.2",
		"default via 2001:db8:10::1 dev eno1 table 13 proto 201 metric 1024",
	} {
		if !slices.Contains(routeLines(after), r) {
			t.Errorf("route %q is missing after the plan:\n%s", r, strings.Join(routeLines(after), "\n"))
		}
	}
	if got := after.Names.TableName(13); got != "vpn" {
		t.Errorf("table 13 is named %q after the plan, want vpn", got)
	}
	p := mustTrace(t, after, netcfg.Packet{Dst: ip("8.8.8.8"), Src: ip("192.168.10.2")})
	if p.Table != 13 || p.Dev != "eno1" || len(p.Missing) > 0 {
		t.Errorf("after the plan the VPN NIC's traffic uses table %d dev %s (missing %v)", p.Table, p.Dev, p.Missing)
	}

	// Planning back to nothing from the projected state projects back
	// to live.
	back := lookup.ProjectPlan(after, netcfg.PlanChanges(after, netcfg.Desired{}))
	if !slices.Equal(ruleLines(back), ruleLines(live)) || !slices.Equal(routeLines(back), routeLines(live)) {
		t.Errorf("undoing the plan gives\n%s\n%s\nwant\n%s\n%s", strings.Join(ruleLines(back), "\n"), strings.Join(routeLines(back), "\n"),
			strings.Join(ruleLines(live), "\n"), strings.Join(routeLines(live), "\n"))
	}
	if back.Names.TableName(13) != "" {
		t.Errorf("table 13 keeps the name %q after its name is removed", back.Names.TableName(13))
	}
}

// TestProjectPlanReplace moves the NIC to another table: the rule is
// replaced in place and the routes follow.
func TestProjectPlanReplace(t *testing.T) {
	live := traceState(t, homeServer, "complete 13 14")
	live.AllOwned = true
	live = lookup.ProjectPlan(live, planFor(t, live, vpnIntent()))
	in := vpnIntent()
	in.Tables[0].ID = 14
	in.NICs[0].Table.ID = 14
	plan := planFor(t, live, in)
	if !slices.ContainsFunc(plan.Changes, func(c netcfg.Change) bool { return c.Action == netcfg.ChangeReplace && c.After.Rule != nil }) {
		t.Fatalf("the plan has no rule replace: %+v", plan.Changes)
	}
	after := lookup.ProjectPlan(live, plan)
	got := strings.Join(ruleLines(after), "\n")
	if !strings.Contains(got, "inet 1000:\tfrom 192.168.10.2 lookup 14 proto 201") || strings.Contains(got, "lookup 13") {
		t.Errorf("rules after the move:\n%s", got)
	}
	for _, r := range routeLines(after) {
		if strings.Contains(r, "table 13") {
			t.Errorf("route %q stays in table 13", r)
		}
	}
	if after.Names.TableName(14) != "vpn" || after.Names.TableName(13) != "" {
		t.Errorf("names after the move: 13 %q, 14 %q", after.Names.TableName(13), after.Names.TableName(14))
	}
}

// TestProjectPlanRuleOrder: a new rule goes after the rules of its family
// with a priority not above its own, as the kernel inserts it, so among
// rules of one priority the newest is tried last.
func TestProjectPlanRuleOrder(t *testing.T) {
	live := traceState(t, `
		rule pref 0 lookup 255
		rule pref 1000 to 10.0.0.0/8 lookup 20
		rule pref 32766 lookup 254
		rule -6 pref 0 lookup 255
		rule -6 pref 32766 lookup 254`)
	r := netcfg.NewRule()
	r.Family, r.Priority, r.Table, r.From = netcfg.V4, 1000, 13, netip.MustParsePrefix("192.168.10.2/32")
	r6 := netcfg.NewRule()
	r6.Family, r6.Priority, r6.Table = netcfg.V6, 5, 13
	r6first := netcfg.NewRule()
	r6first.Family, r6first.Priority, r6first.Table = netcfg.V6, 0, 14
	plan := netcfg.Plan{Changes: []netcfg.Change{
		{Action: netcfg.ChangeAdd, After: netcfg.Object{Rule: &r}},
		{Action: netcfg.ChangeAdd, After: netcfg.Object{Rule: &r6}},
		{Action: netcfg.ChangeAdd, After: netcfg.Object{Rule: &r6first}},
	}}
	got := ruleLines(lookup.ProjectPlan(live, plan))
	want := []string{
		"inet 0:\tfrom all lookup 255",
		"inet 1000:\tfrom all to 10.0.0.0/8 lookup 20",
		"inet 1000:\tfrom 192.168.10.2 lookup 13",
		"inet 32766:\tfrom all lookup 254",
		"inet6 0:\tfrom all lookup 255",
		"inet6 0:\tfrom all lookup 14",
		"inet6 5:\tfrom all lookup 13",
		"inet6 32766:\tfrom all lookup 254",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
