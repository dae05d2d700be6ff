//go:build linux

package snapshots_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
)

// TestProposeAdoptingWithIntent: a hand-made rule and route adopted
// together with a NIC's assignment, as one plan: the two are replaced in
// place with nictab's protocol and every other attribute as it was, the
// NIC's rules and routes are added, and the next plan of the same intent
// changes nothing.
func TestProposeAdoptingWithIntent(t *testing.T) {
	r := newRig(t)
	r.ns.IP("rule", "add", "pref", "700", "from", "10.9.0.0/24", "fwmark", "0x7/0xff", "lookup", "77", "proto", "static")
	r.ns.IP("route", "add", "10.9.0.0/24", "via", "192.168.10.1", "dev", "eno1", "table", "77", "proto", "static", "metric", "30")
	live, err := r.e.Live()
	if err != nil {
		t.Fatal(err)
	}
	rule := live.Rules[slices.IndexFunc(live.Rules, func(x netcfg.Rule) bool { return x.Priority == 700 })]
	route := live.Routes[slices.IndexFunc(live.Routes, func(x netcfg.Route) bool { return x.Table == 77 })]
	in := nicIntent("enp2s0", 14)
	ri, ok := netcfg.RuleIntentOf(&rule)
	xi, ok2 := netcfg.RouteIntentOf(&route)
	if !ok || !ok2 {
		t.Fatalf("an intent cannot say %s / %s", netcfg.RuleString(&rule), netcfg.RouteString(&route))
	}
	in.Rules, in.Routes = []netcfg.RuleIntent{ri}, []netcfg.RouteIntent{xi}
	p, err := r.e.ProposeAdopting(in, "adopt on screen", []netcfg.Object{{Rule: &rule}, {Route: &route}})
	if err != nil {
		t.Fatal(err)
	}
	adopted := 0
	for _, c := range p.Plan.Changes {
		if c.Reason == "adopted" {
			adopted++
		} else if c.Action != netcfg.ChangeAdd {
			t.Errorf("the plan does more than adopt and add: %s %+v", c.Action, c.Subject())
		}
	}
	if adopted != 2 {
		t.Fatalf("%d changes adopt, want 2: %+v", adopted, p.Plan.Changes)
	}
	if _, err := r.e.Apply(p, snapshots.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	routing := r.ns.Routing()
	for _, w := range []string{"700:\tfrom 10.9.0.0/24 fwmark 0x7/0xff lookup 77 proto nictab",
		"10.9.0.0/24 via 192.168.10.1 dev eno1 table 77 proto nictab metric 30", "from 192.168.20.2 lookup 14 proto nictab"} {
		if !strings.Contains(routing, w) {
			t.Errorf("the kernel lacks %q:\n%s", w, routing)
		}
	}
	again, err := r.e.Propose(in, "")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Plan.Empty() {
		t.Fatalf("the intent planned again after adoption changes %+v", again.Plan.Changes)
	}
}

// TestProposeAdoptingRefuses: the kernel's own rule, a rule of nictab's
// and one that is gone are refused, each named, and nothing is planned.
func TestProposeAdoptingRefuses(t *testing.T) {
	r := newRig(t)
	live, err := r.e.Live()
	if err != nil {
		t.Fatal(err)
	}
	kernel := live.Rules[slices.IndexFunc(live.Rules, func(x netcfg.Rule) bool { return x.Priority == 32766 })]
	gone := netcfg.NewRule()
	gone.Family, gone.Priority, gone.Table, gone.Proto, gone.From = netcfg.V4, 701, 77, netcfg.ProtoStatic, pfx("10.1.0.0/16")
	before := r.ns.Routing()
	_, err = r.e.ProposeAdopting(netcfg.Intent{}, "", []netcfg.Object{{Rule: &kernel}, {Rule: &gone}})
	if err == nil {
		t.Fatal("adopting the kernel's rule and a gone one was planned")
	}
	for _, w := range []string{"nothing was changed", "kernel's own", "no longer there"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the refusal does not say %q: %v", w, err)
		}
	}
	if after := r.ns.Routing(); after != before {
		t.Fatalf("a refused adoption changed the kernel:\n%s", after)
	}
}
