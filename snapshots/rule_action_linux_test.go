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
	// The kernel refuses port 65535; the plan does so before it.
	in.Rules[0].DPort = &netcfg.PortRange{Start: 443, End: 65535}
	if _, err := r.e.Propose(in, ""); err == nil || !strings.Contains(err.Error(), "rules[0].dport: port range 443-65535: the kernel takes ports 1-65534") {
		t.Fatalf("port 65535 planned: %v", err)
	}
}

// TestRuleSelectorsApplied: an explicit rule with uidrange, ipproto and
// ports reaches the kernel as written, and a second plan changes nothing.
func TestRuleSelectorsApplied(t *testing.T) {
	r := newRig(t)
	in := netcfg.Intent{Rules: []netcfg.RuleIntent{{Priority: 820, From: pfx("10.9.0.0/24"), UIDRange: &netcfg.UIDRange{Start: 1000, End: 1999},
		IPProto: 6, SPort: &netcfg.PortRange{Start: 1024, End: 65000}, DPort: &netcfg.PortRange{Start: 443, End: 443}, Table: netcfg.TableRef{ID: 13}}}}
	r.apply(in, "selectors", 0)
	got := r.ns.IP("rule", "show")
	if !strings.Contains(got, "820:\tfrom 10.9.0.0/24 uidrange 1000-1999 ipproto tcp sport 1024-65000 dport 443 lookup 13 proto nictab") {
		t.Fatalf("ip rule:\n%s", got)
	}
	again, err := r.e.Propose(in, "")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Plan.Empty() {
		t.Fatalf("planned again: %+v", again.Plan.Changes)
	}
	// The kernel refuses port 65535; the plan does so before it.
	in.Rules[0].DPort = &netcfg.PortRange{Start: 443, End: 65535}
	if _, err := r.e.Propose(in, ""); err == nil || !strings.Contains(err.Error(), "rules[0].dport: port range 443-65535: the kernel takes ports 1-65534") {
		t.Fatalf("port 65535 planned: %v", err)
	}
}

// TestRouteMTUApplied: an explicit route's mtu and advmss reach the
// kernel; a hand-made route with an mtu is adopted through its entry, and
// one with a locked mtu is not said by one.
func TestRouteMTUApplied(t *testing.T) {
	r := newRig(t)
	in := netcfg.Intent{Routes: []netcfg.RouteIntent{{Table: netcfg.TableRef{ID: 13}, To: pfx("10.40.0.0/16"), Via: addr("192.168.10.1"), Dev: "eno1", MTU: 1400, AdvMSS: 1360}}}
	r.apply(in, "mtu", 0)
	if got := r.ns.IP("route", "show", "table", "13"); !strings.Contains(got, "10.40.0.0/16 via 192.168.10.1 dev eno1 proto nictab mtu 1400 advmss 1360") {
		t.Fatalf("ip route:\n%s", got)
	}
	again, err := r.e.Propose(in, "")
	if err != nil || !again.Plan.Empty() {
		t.Fatalf("planned again (%v): %+v", err, again.Plan.Changes)
	}
	r.ns.IP("route", "add", "10.41.0.0/16", "via", "192.168.10.1", "dev", "eno1", "table", "13", "proto", "static", "mtu", "1300")
	r.ns.IP("route", "add", "10.42.0.0/16", "via", "192.168.10.1", "dev", "eno1", "table", "13", "proto", "static", "mtu", "lock", "1300")
	live, err := r.e.Live()
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range live.Routes {
		_, ok := netcfg.RouteIntentOf(&rt)
		switch rt.Dst {
		case pfx("10.41.0.0/16"):
			if !ok {
				t.Errorf("no entry says %s", netcfg.RouteString(&rt))
			}
		case pfx("10.42.0.0/16"):
			if ok {
				t.Errorf("an entry says the locked %s", netcfg.RouteString(&rt))
			}
		}
	}
}
