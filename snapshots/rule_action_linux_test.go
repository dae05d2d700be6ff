//go:build linux

package snapshots_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
)

// TestRuleActionApplied: an explicit prohibit rule reaches the kernel as
// written and reads back identical; a hand-made unreachable rule is
// adopted through the entry that says it, and the next plan keeps both.
func TestRuleActionApplied(t *testing.T) {
	r := newRig(t)
	r.ns.IP("rule", "add", "pref", "810", "to", "198.51.100.0/24", "unreachable", "proto", "static")
	in := netcfg.Intent{Rules: []netcfg.RuleIntent{{Priority: 800, To: pfx("203.0.113.0/24"), Action: netcfg.ActionProhibit}}}
	r.apply(in, "prohibit", 0)
	mustHave := func(what string, ws ...string) {
		t.Helper()
		got := r.ns.IP("rule", "show")
		for _, w := range ws {
			if !strings.Contains(got, w) {
				t.Fatalf("%s: ip rule lacks %q:\n%s", what, w, got)
			}
		}
	}
	mustHave("after apply", "800:\tfrom all to 203.0.113.0/24 prohibit proto nictab")
	live, err := r.e.Live()
	if err != nil {
		t.Fatal(err)
	}
	hand := live.Rules[slices.IndexFunc(live.Rules, func(x netcfg.Rule) bool { return x.Priority == 810 })]
	x, ok := netcfg.RuleIntentOf(&hand)
	if !ok || x.Action != netcfg.ActionUnreachable || x.Table != (netcfg.TableRef{}) {
		t.Fatalf("entry for %s: %+v %v", netcfg.RuleString(&hand), x, ok)
	}
	in.Rules = append(in.Rules, x)
	p, err := r.e.ProposeAdopting(in, "adopt", []netcfg.Object{{Rule: &hand}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Plan.Changes) != 1 || p.Plan.Changes[0].Reason != "adopted" {
		t.Fatalf("adoption plans %+v", p.Plan.Changes)
	}
	if _, err := r.e.Apply(p, snapshots.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	mustHave("after adoption", "800:\tfrom all to 203.0.113.0/24 prohibit proto nictab", "810:\tfrom all to 198.51.100.0/24 unreachable proto nictab")
	again, err := r.e.Propose(in, "")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Plan.Empty() {
		t.Fatalf("planned again: %+v", again.Plan.Changes)
	}
}
