package snapshots_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/format"
)

// foreignObjects is every rule and route of the namespace that nictab does
// not own, as `ip -d -j` prints it, sorted: what nictab must leave byte for
// byte as it found it. A multipath IPv6 route counts as foreign whatever
// its protocol, since merged siblings of another owner hide in it.
func foreignObjects(t testing.TB, ns *nstest.NS) []string {
	t.Helper()
	var out []string
	for _, args := range [][]string{
		{"-4", "-d", "rule", "show"}, {"-6", "-d", "rule", "show"},
		{"-4", "-d", "route", "show", "table", "all"}, {"-6", "-d", "route", "show", "table", "all"},
	} {
		var objs []map[string]any
		ns.JSON(&objs, args...)
		for _, o := range objs {
			p, _ := o["protocol"].(string)
			_, multi := o["nexthops"]
			if (p == "nictab" || p == "201") && !multi {
				continue
			}
			if tb, _ := o["table"].(string); tb == "local" {
				continue // the kernel's, and it churns with addresses
			}
			b, _ := json.Marshal(o)
			out = append(out, args[0]+" "+args[2]+" "+string(b))
		}
	}
	slices.Sort(out)
	return out
}

func sameForeign(t *testing.T, what string, before, after []string) {
	t.Helper()
	if !slices.Equal(before, after) {
		t.Errorf("%s: objects nictab does not own changed:\nbefore:\n%s\nafter:\n%s", what, strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func routeIntent(table int, to, via, dev string) netcfg.RouteIntent {
	return netcfg.RouteIntent{Table: netcfg.TableRef{ID: uint32(table)}, To: pfx(to), Via: addr(via), Dev: dev}
}

// TestReproReplaceForeignRoute is point 1: a foreign route prepended with
// the identity of nictab's must not be replaced; the plan refuses, naming
// it, and nothing is changed or claimed undone.
func TestReproReplaceForeignRoute(t *testing.T) {
	r := newRig(t)
	in := nicIntent("eno1", 13)
	in.Routes = []netcfg.RouteIntent{routeIntent(13, "10.9.0.0/16", "192.168.20.1", "enp2s0")}
	r.apply(in, "A", 0)
	r.ns.IP("route", "prepend", "10.9.0.0/16", "via", "192.168.10.1", "dev", "eno1", "table", "13", "proto", "static")
	foreign, routing := foreignObjects(t, r.ns), r.ns.Routing()
	in.Routes[0].Via = addr("192.168.20.7")
	p, err := r.e.Propose(in, "B")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Plan.Conflicts) != 1 || !strings.Contains(p.Plan.Conflicts[0].Text, "10.9.0.0/16 via 192.168.10.1 dev eno1") {
		t.Fatalf("conflicts = %v; want one naming the foreign route", p.Plan.Conflicts)
	}
	_, err = r.e.Apply(p, snapshots.ApplyOptions{})
	var ce *netcfg.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("apply: %v; want refused as a conflict", err)
	}
	if strings.Contains(err.Error(), "undone") {
		t.Errorf("nothing was done, yet: %v", err)
	}
	sameForeign(t, "after the refused apply", foreign, foreignObjects(t, r.ns))
	if got := r.ns.Routing(); got != routing {
		t.Errorf("the refused apply changed the namespace:\n%s", got)
	}
}

// TestReproIPv6Siblings is point 2: a foreign next hop appended to
// nictab's IPv6 route merges with it; neither re-applying nor removing
// nictab's routes may touch the merged route.
func TestReproIPv6Siblings(t *testing.T) {
	r := newRig(t)
	in := nicIntent("eno1", 13)
	in.Routes = []netcfg.RouteIntent{routeIntent(13, "2001:db8:99::/64", "2001:db8:10::1", "eno1")}
	r.apply(in, "A", 0)
	r.ns.IP("-6", "route", "append", "2001:db8:99::/64", "via", "2001:db8:10::5", "dev", "eno1", "table", "13", "proto", "static", "metric", "1024")
	foreign, routing := foreignObjects(t, r.ns), r.ns.Routing()
	if !strings.Contains(strings.Join(foreign, "\n"), "2001:db8:10::5") {
		t.Fatalf("the merged route is not among the foreign objects:\n%s", strings.Join(foreign, "\n"))
	}
	for _, want := range []netcfg.Intent{in, {}} {
		p, err := r.e.Propose(want, "again")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(p.Plan.Conflicts, func(c netcfg.Conflict) bool { return strings.Contains(c.Text, "multipath") }) {
			t.Errorf("plan to %d NICs: conflicts %v; want the merged route refused", len(want.NICs), p.Plan.Conflicts)
		}
		if _, err := r.e.Apply(p, snapshots.ApplyOptions{}); err == nil || strings.Contains(err.Error(), "undone") {
			t.Errorf("apply over merged siblings: %v; want a conflict and no claim", err)
		}
		sameForeign(t, "after the refused apply", foreign, foreignObjects(t, r.ns))
		if got := r.ns.Routing(); got != routing {
			t.Errorf("the refused apply changed the namespace:\n%s", got)
		}
	}
}

// TestReproRevertConflict is point 3: a foreign route that takes the place
// of one of nictab's during a confirm window does not stop the revert of
// everything else; the revert says what it could not restore, keeps the
// journal, and recover finishes once the route is gone.
func TestReproRevertConflict(t *testing.T) {
	r := newRig(t)
	r.apply(nicIntent("eno1", 13), "A", 0)
	stateA := r.ns.Routing()
	out := r.apply(nicIntent("eno1", 14), "B", time.Second)
	r.ns.IP("route", "add", "192.168.10.0/24", "dev", "eno1", "table", "13", "proto", "static", "scope", "link")
	foreign := foreignObjects(t, r.ns)
	res, err := r.e.Wait(context.Background(), out.Pending)
	if err == nil {
		err = errors.New(res.Result + ": " + res.Detail)
	}
	if !strings.Contains(err.Error(), "revert-incomplete") || !strings.Contains(err.Error(), "192.168.10.0/24") {
		t.Fatalf("revert outcome: %v; want incomplete, naming the route it could not restore", err)
	}
	sameForeign(t, "after the revert", foreign, foreignObjects(t, r.ns))
	rules := r.ns.IP("rule", "show")
	if !strings.Contains(rules, "lookup 13") || strings.Contains(rules, "lookup 14") {
		t.Errorf("the rules were not moved back though nothing blocked them:\n%s", rules)
	}
	if routes := r.ns.IP("route", "show", "table", "14"); routes != "" {
		t.Errorf("table 14 keeps B's routes:\n%s", routes)
	}
	if msg, err := r.e.CheckWindow("show", true); err != nil || !strings.Contains(msg, "did not finish") {
		t.Errorf("show after an incomplete revert: %q, %v; want a warning", msg, err)
	}
	if _, err := r.e.Recover(); !snapshots.IsRevertIncomplete(err) {
		t.Errorf("recover while the foreign route is there: %v; want the same incomplete revert", err)
	}
	r.ns.IP("route", "del", "192.168.10.0/24", "dev", "eno1", "table", "13", "proto", "static", "scope", "link")
	what, err := r.e.Recover()
	if err != nil || !strings.Contains(what, "is as it was before") {
		t.Fatalf("recover once the route is gone: %q, %v", what, err)
	}
	if got := r.ns.Routing(); got != stateA {
		t.Errorf("after recover:\n%s\nwant A:\n%s", got, stateA)
	}
}

// TestReproRecoverTellsTheTruth is point 4: recover of an interrupted
// apply says "as before" only when the kernel shows it, and otherwise
// names each difference: nictab's routes it could not put back, and
// foreign objects that are gone.
func TestReproRecoverTellsTheTruth(t *testing.T) {
	r := newRig(t)
	r.apply(nicIntent("eno1", 13), "A", 0)
	r.ns.IP("-6", "route", "add", "default", "via", "2001:db8:10::9", "dev", "eno1", "table", "13", "proto", "static", "metric", "2048")
	k, err := kernel.Open(r.ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	before, err := netcfg.Detect(k, netcfg.LoadNames(netcfg.DefaultNamePaths(r.ns.Name)), netcfg.DetectOptions{Tables: []uint32{13, 14}, Owned: true})
	if err != nil {
		t.Fatal(err)
	}
	stateA := r.ns.Routing()
	r.apply(nicIntent("eno1", 14), "B", 0)
	// B was cut short, as far as the journal knows: recover must undo it.
	j := &snapshots.Journal{TxID: "interrupted", Started: time.Now(), Phase: snapshots.PhaseApplying,
		Before: netcfg.OwnedAsDesired(before), Tables: before.Complete, Foreign: netcfg.ForeignObjects(before)}
	if err := snapshots.WriteJournalForTest(r.e, j); err != nil {
		t.Fatal(err)
	}
	r.ns.IP("route", "add", "192.168.10.0/24", "dev", "eno1", "table", "13", "proto", "static", "scope", "link")
	r.ns.IP("-6", "route", "del", "default", "via", "2001:db8:10::9", "dev", "eno1", "table", "13", "metric", "2048")
	_, err = r.e.Recover()
	if !snapshots.IsRevertIncomplete(err) || !strings.Contains(err.Error(), "192.168.10.0/24") || !strings.Contains(err.Error(), "2001:db8:10::9") || strings.Contains(err.Error(), "as it was before it") {
		t.Fatalf("recover with a route in the way: %v; want both differences named, and no 'as before'", err)
	}
	r.ns.IP("route", "del", "192.168.10.0/24", "dev", "eno1", "table", "13", "proto", "static", "scope", "link")
	what, err := r.e.Recover()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(what, "is as it was before") || !strings.Contains(what, "2001:db8:10::9") {
		t.Errorf("recover said %q; the foreign IPv6 default is gone, so not as before", what)
	}
	r.ns.IP("-6", "route", "add", "default", "via", "2001:db8:10::9", "dev", "eno1", "table", "13", "proto", "static", "metric", "2048")
	if got := r.ns.Routing(); got != stateA {
		t.Errorf("nictab's part is not A's:\n%s\nwant:\n%s", got, stateA)
	}
}

// TestBaselineRollback is point 6: the first change records the state
// before it; one step back reaches it and removes every rule and route
// nictab owns, and nothing else.
func TestBaselineRollback(t *testing.T) {
	r := newRig(t)
	before := r.ns.Routing()
	out := r.apply(nicIntent("eno1", 13, "enp2s0", 14), "first", 0)
	if out.Baseline == nil || out.Baseline.Meta.Kind != format.KindBaseline || out.Baseline.Comment != snapshots.BaselineComment {
		t.Fatalf("the first change recorded no baseline: %+v", out.Baseline)
	}
	if again := r.apply(nicIntent("eno1", 15), "second", 0); again.Baseline != nil {
		t.Error("a second change recorded another baseline")
	}
	r.ns.IP("route", "add", "10.77.0.0/16", "via", "192.168.10.254", "dev", "eno1", "table", "15")
	r.ns.IP("rule", "add", "pref", "1500", "from", "10.77.0.0/16", "lookup", "15")
	foreign := foreignObjects(t, r.ns)
	for _, ref := range []string{"steps", "id"} {
		var target *format.Snapshot
		var err error
		if ref == "steps" {
			target, err = r.e.Store().Back(2)
		} else {
			target, err = r.e.Store().Get(out.Baseline.Meta.ID)
		}
		if err != nil || target.Meta.ID != out.Baseline.Meta.ID {
			t.Fatalf("rollback by %s reaches %v, %v; want the baseline", ref, target, err)
		}
		p, err := r.e.ProposeRollback(target)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.e.Apply(p, snapshots.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		sameForeign(t, "after the rollback to the baseline", foreign, foreignObjects(t, r.ns))
		var kept []string
		for _, l := range strings.SplitAfter(r.ns.Routing(), "\n") {
			if !strings.Contains(l, "10.77.0.0/16") {
				kept = append(kept, l)
			}
		}
		if got := strings.Join(kept, ""); got != before {
			t.Errorf("by %s: after rollback to the baseline, less the hand-made rule and route:\n%s\nwant the start:\n%s", ref, got, before)
		}
		r.apply(nicIntent("eno1", 15), "again", 0)
	}
}

// TestNHIDRouteDeleted is point 7's first item: a route of nictab's that
// uses a nexthop object is deleted by naming that object, and does not
// block the applies after it.
func TestNHIDRouteDeleted(t *testing.T) {
	r := newRig(t)
	r.apply(nicIntent("eno1", 13), "A", 0)
	r.ns.IP("nexthop", "add", "id", "7", "via", "192.168.10.1", "dev", "eno1")
	r.ns.IP("route", "add", "10.50.0.0/16", "nhid", "7", "table", "13", "proto", "201")
	// Taken over, so it is nictab's by record too.
	if _, n, err := r.e.AdoptUnrecorded("with the nhid route"); err != nil || n != 1 {
		t.Fatalf("adopt: %d, %v", n, err)
	}
	r.apply(nicIntent("eno1", 14), "B", 0)
	if got := r.ns.IP("route", "show", "table", "13"); got != "" {
		t.Errorf("table 13 keeps:\n%s", got)
	}
	if got := r.ns.IP("nexthop", "show", "id", "7"); !strings.Contains(got, "id 7 via 192.168.10.1 dev eno1") {
		t.Errorf("the nexthop object, which is not nictab's, changed: %q", got)
	}
	r.apply(nicIntent("eno1", 13), "C", 0)
}
