package main

import (
	"strings"
	"testing"
)

// TestProto201NotInHistory: a rule and a route with nictab's protocol that
// no record of nictab's names (another tool using 201) are shown as "proto
// nictab, not in history" and left as they are by plan, apply, rollback
// and save, read back from the kernel; --adopt takes them over.
func TestProto201NotInHistory(t *testing.T) {
	c := newCLI(t)
	if r := c.run("apply", "-f", writeFile(t, "a.yaml", specFile), "--yes"); r.code != 0 {
		t.Fatal(r)
	}
	c.ns.IP("route", "add", "10.77.0.0/16", "via", "192.168.10.1", "dev", "eno1", "table", "13", "proto", "201")
	c.ns.IP("rule", "add", "from", "10.77.0.1", "lookup", "13", "pref", "1500", "proto", "201")
	foreign := func(when string) {
		t.Helper()
		if !strings.Contains(c.ns.IP("route", "show", "table", "13"), "10.77.0.0/16 via 192.168.10.1") {
			t.Fatalf("%s: the foreign route is gone", when)
		}
		if !strings.Contains(c.ns.IP("rule", "show"), "from 10.77.0.1 lookup") {
			t.Fatalf("%s: the foreign rule is gone", when)
		}
	}
	if r := c.run("show"); r.code != 0 || !strings.Contains(r.stdout, `route "10.77.0.0/16 via 192.168.10.1 dev eno1 table 13 proto 201`) || !strings.Contains(r.stdout, "proto nictab, not in history") {
		t.Errorf("show: %s", r)
	}
	if r := c.run("plan", "-f", writeFile(t, "b.yaml", specFile), "--detailed-exitcode"); r.code != 0 || strings.Count(r.stdout, "not in history") != 2 {
		t.Errorf("plan of the live state: %s", r)
	}
	// eno1 leaves table 13: nictab's own rules and routes there go, the
	// foreign ones stay.
	other := "version: 1\ntables: [{id: 14, name: lan}]\nnics:\n  - {name: enp2s0, table: 14}\n"
	r := c.run("apply", "-f", writeFile(t, "c.yaml", other), "--yes")
	if r.code != 0 || strings.Contains(r.stdout, "10.77.0.0/16 via 192.168.10.1 dev eno1\n") {
		t.Fatalf("apply: %s", r)
	}
	foreign("after apply")
	if strings.Contains(c.ns.IP("rule", "show"), "from 192.168.10.2 lookup") {
		t.Error("nictab's own rule for eno1 stayed")
	}
	if r := c.run("rollback", "--steps", "1", "--yes"); r.code != 0 {
		t.Fatal(r)
	}
	foreign("after rollback")
	if r := c.run("snapshot", "save"); r.code != 0 {
		t.Fatal(r)
	}
	list := c.run("snapshot", "show", latestID(t, c))
	if strings.Contains(list.stdout, "10.77.0.0/16") || strings.Contains(list.stdout, "10.77.0.1") {
		t.Errorf("a save recorded the foreign objects:\n%s", list.stdout)
	}
	if r := c.run("snapshot", "save", "--adopt", "--yes"); r.code != 0 || !strings.Contains(r.stdout, "Adopted 2 rules and routes") {
		t.Fatalf("adopt: %s", r)
	}
	if r := c.run("show"); strings.Contains(r.stdout, "not in history") {
		t.Errorf("still not in history after adopting: %s", r)
	}
	// Now nictab's: a plan without them removes them.
	if r := c.run("plan", "-f", writeFile(t, "d.yaml", specFile)); !strings.Contains(r.stdout, "- route 10.77.0.0/16") {
		t.Errorf("adopted objects are not managed: %s", r)
	}
	foreign("after adopting (nothing moved)")
}

// latestID is the id of the newest snapshot.
func latestID(t *testing.T, c *cli) string {
	t.Helper()
	r := c.run("snapshot", "list")
	for _, l := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 && len(f[0]) >= 13 && f[0][6] == '-' {
			return f[0]
		}
	}
	t.Fatalf("no snapshot in:\n%s", r.stdout)
	return ""
}

// TestProto201NotInHistorySameIdentity: a route with nictab's protocol that
// no record names, where the snapshot wants a route of the same identity
// (table 13's IPv4 default) with another next hop, is not replaced: plan
// names it as a conflict, apply refuses with exit 1, and the kernel still
// holds it as it was, with nothing else changed.
func TestProto201NotInHistorySameIdentity(t *testing.T) {
	c := newCLI(t)
	c.ns.IP("route", "add", "default", "via", "192.168.20.1", "dev", "enp2s0", "table", "13", "proto", "201")
	rulesBefore, routesBefore := c.ns.IP("rule", "show"), c.ns.IP("route", "show", "table", "all")
	file := writeFile(t, "a.yaml", specFile)
	if r := c.run("plan", "-f", file); !strings.Contains(r.stdout, `route "default via 192.168.20.1 dev enp2s0 table 13 proto 201`) || !strings.Contains(r.stdout, "not in history, where nictab would put") {
		t.Errorf("plan does not name the conflict: %s", r)
	}
	if r := c.run("apply", "-f", file, "--yes"); r.code != 1 {
		t.Errorf("apply over an unrecorded route of the same identity: %s", r)
	}
	if got := c.ns.IP("route", "show", "table", "all"); got != routesBefore {
		t.Errorf("routes changed:\nbefore:\n%s\nafter:\n%s", routesBefore, got)
	}
	if got := c.ns.IP("rule", "show"); got != rulesBefore {
		t.Errorf("rules changed:\nbefore:\n%s\nafter:\n%s", rulesBefore, got)
	}
}

// TestBaselineHintActsHere: the rollback the first apply suggests names
// the namespace and state directory it was made in; pasted, it returns
// there, not to the host's own history.
func TestBaselineHintActsHere(t *testing.T) {
	c := newCLI(t)
	r := c.run("apply", "-f", writeFile(t, "a.yaml", specFile), "--yes")
	if r.code != 0 {
		t.Fatal(r)
	}
	want := "`nictab --netns " + c.ns.Name + " --state-dir " + c.state + " rollback "
	if !strings.Contains(r.stdout, want) {
		t.Errorf("the first apply's hint lacks %q:\n%s", want, r.stdout)
	}
}
