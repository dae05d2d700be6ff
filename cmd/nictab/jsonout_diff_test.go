package main

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
)

// TestPlanDiffText: the before and after texts of plan --json hold what
// nictab owns in the plan's tables, so that a line diff of the two is the
// plan: a gateway that moves, a NIC's route that goes, and a route nictab
// keeps as it is, shown on both sides.
func TestPlanDiffText(t *testing.T) {
	route := func(dst, gw, dev string) netcfg.Route {
		r := netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix(dst), Dev: dev, Proto: netcfg.ProtoNictab, Scope: netcfg.ScopeLink}
		if gw != "" {
			r.Gw, r.Scope = netip.MustParseAddr(gw), netcfg.ScopeUniverse
		}
		return r
	}
	rule := netcfg.NewRule()
	rule.Family, rule.Priority, rule.From, rule.Action, rule.Table, rule.Proto = netcfg.V4, 1000, netip.MustParsePrefix("192.168.10.2/32"), netcfg.ActionLookup, 13, netcfg.ProtoNictab
	kept := route("192.168.10.0/24", "", "eno1")
	gone := route("192.168.30.0/24", "", "eth9")
	live := netcfg.State{
		Rules:    []netcfg.Rule{rule},
		Routes:   []netcfg.Route{kept, gone, route("0.0.0.0/0", "192.168.10.1", "eno1")},
		Complete: []uint32{13}, AllOwned: true,
	}
	want := netcfg.Desired{Owned: netcfg.Owned{Rules: []netcfg.Rule{rule}, Routes: []netcfg.Route{kept, route("0.0.0.0/0", "192.168.10.254", "eno1")}}, Tables: []uint32{13}}
	p := &snapshots.Proposal{Live: live, Desired: want, Plan: netcfg.PlanChanges(live, want)}
	out := newPlanOut(p)
	if out.Summary.Delete+out.Summary.Change == 0 || len(out.Lines) != len(p.Plan.Changes) {
		t.Fatalf("plan %+v, lines %+v", out.Summary, out.Lines)
	}
	before, after := out.Diff.Before, out.Diff.After
	for _, c := range []struct {
		line          string
		before, after bool
	}{
		{"  route 192.168.10.0/24 dev eno1\n", true, true},
		{"  rule  1000: from 192.168.10.2 lookup 13\n", true, true},
		{"  route 192.168.30.0/24 dev eth9\n", true, false},
		{"  route default via 192.168.10.1 dev eno1\n", true, false},
		{"  route default via 192.168.10.254 dev eno1\n", false, true},
	} {
		if strings.Contains(before, c.line) != c.before || strings.Contains(after, c.line) != c.after {
			t.Errorf("%q: in before %v (want %v), in after %v (want %v)\nbefore:\n%s\nafter:\n%s", c.line, strings.Contains(before, c.line), c.before, strings.Contains(after, c.line), c.after, before, after)
		}
	}
	if !strings.HasPrefix(before, "table 13\n") || !strings.HasPrefix(after, "table 13\n") {
		t.Errorf("no table header:\n%s\n%s", before, after)
	}
	// Routes before rules, as the plan shows a table.
	if strings.Index(after, "rule ") < strings.Index(after, "route default") {
		t.Errorf("rules before routes:\n%s", after)
	}
}
