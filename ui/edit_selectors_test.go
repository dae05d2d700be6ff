package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

func tabKeys(n int) step {
	var s step
	for range n {
		s.keys = append(s.keys, tea.KeyPressMsg{Code: tea.KeyTab})
	}
	return s
}

// TestFlowRuleNewSelectors: a rule with not, dscp under a mask and a
// tun_id, and a goto rule that continues at it, typed on the rules pane
// with each field checked as typed, become two intent entries and a plan
// that adds exactly those rules.
func TestFlowRuleNewSelectors(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 120, 40, false, with(toRules, []step{
		keys("n"), wait("New rule"), keys("10.8.0.0/24"), press(tea.KeyUp), keys("1100"), tabKeys(6), keys("13"),
		tabKeys(7), keys("maybe"), wait("yes inverts the selector"), ctrl('u'), keys("yes"),
		tabKeys(1), keys("0x10"), tabKeys(1), keys("8/0x38"), wait("give one"), press(tea.KeyUp), ctrl('u'), tabKeys(1),
		ctrl('u'), keys("64"), wait(`"64" is not a dscp`), ctrl('u'), keys("9/0x38"), wait("outside mask"), ctrl('u'), keys("8/0x38"),
		tabKeys(2), keys("0"), wait("tun_id 0 is no selector"), ctrl('u'), keys("42"),
		wait("1100: not from 10.8.0.0/24 dscp 8/0x38 tun_id 42 lookup 13."), press(tea.KeyEnter), wait("noted"),
		keys("n"), wait("New rule"), keys("10.9.0.0/16"), press(tea.KeyUp), keys("1050"), tabKeys(7), keys("goto"),
		tabKeys(5), keys("1000"), wait("does not go forward"), ctrl('u'), keys("1300"), wait("no rule has priority 1300"), ctrl('u'), keys("1100"),
		wait("1050: from 10.9.0.0/16 goto 1100."), press(tea.KeyEnter), wait("noted"), wait("13                0+1     0          new"),
		keys("p"), wait("+2 to add")})...))
	in := m.preview.intent
	if len(in.Rules) != 2 {
		t.Fatalf("intent rules %+v", in.Rules)
	}
	a, g := in.Rules[0], in.Rules[1]
	if a.Priority != 1100 || !a.Not || a.DSCP == nil || *a.DSCP != (netcfg.DSCPMatch{Value: 8, Mask: 0x38}) || a.TunID != 42 || a.Tos != 0 || a.Table != (netcfg.TableRef{ID: 13}) {
		t.Errorf("first entry %+v", a)
	}
	if g.Priority != 1050 || g.Action != netcfg.ActionGoto || g.Goto != 1100 || g.Table != (netcfg.TableRef{}) {
		t.Errorf("goto entry %+v", g)
	}
	var got []string
	for _, c := range m.preview.proposal.Plan.Changes {
		if c.Action == netcfg.ChangeAdd && c.After.Rule != nil {
			got = append(got, famLabel(c.After.Rule.Family)+" "+netcfg.RuleString(c.After.Rule))
		}
	}
	want := []string{
		"IPv4 1050:\tfrom 10.9.0.0/16 goto 1100 proto 201",
		"IPv4 1100:\tnot from 10.8.0.0/24 dscp 8/0x38 tun_id 42 lookup 13 proto 201",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan adds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
