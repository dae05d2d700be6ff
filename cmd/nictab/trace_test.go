package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
	"github.com/nictab/nictab/ui"
)

// TestTraceCLI is the sandbox check of `nictab trace`: a rule and a route
// added by hand, and the trace names them, as ip route get agrees.
func TestTraceCLI(t *testing.T) {
	c := newCLI(t)
	c.ns.IP("rule", "add", "from", "192.168.10.2", "lookup", "13", "pref", "1000")
	c.ns.IP("route", "add", "default", "via", "192.168.10.1", "dev", "eno1", "table", "13")

	r := c.run("trace", "8.8.8.8", "--from", "192.168.10.2")
	if r.code != 0 {
		t.Fatalf("trace: %v", r)
	}
	for _, want := range []string{"1000: from 192.168.10.2 lookup 13", "table   13", "default via 192.168.10.1 dev eno1", "leaves  eno1 via 192.168.10.1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("trace does not say %q:\n%s", want, r.stdout)
		}
	}

	r = c.run("trace", "8.8.8.8", "--from", "192.168.10.2", "--json")
	var p lookup.Path
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || r.code != 0 {
		t.Fatalf("trace --json: %v\n%v", err, r)
	}
	var got []struct{ Dev, Gateway string }
	c.ns.JSON(&got, "route", "get", "8.8.8.8", "from", "192.168.10.2")
	if len(got) != 1 || p.Verdict != lookup.VerdictRouted || p.Table != 13 || p.Rule == nil || p.Rule.Priority != 1000 ||
		got[0].Dev != p.Dev || got[0].Gateway != p.Gateway.String() {
		t.Errorf("trace --json says %s table %d dev %s via %s; ip route get says %+v", p.Verdict, p.Table, p.Dev, p.Gateway, got)
	}
}

// TestTraceCLIPlanned traces a packet now and after SPEC.md's example,
// without changing anything.
func TestTraceCLIPlanned(t *testing.T) {
	c := newCLI(t)
	file := writeFile(t, "spec.yaml", specFile)
	before := c.ns.Routing()

	r := c.run("trace", "8.8.8.8", "--from", "192.168.10.2", "--planned", file, "--json")
	var cmp ui.TraceCompare
	if err := json.Unmarshal([]byte(r.stdout), &cmp); err != nil || r.code != 0 {
		t.Fatalf("trace --planned --json: %v\n%v", err, r)
	}
	if !cmp.Changed || cmp.Now.Dev != "enp2s0" || cmp.Planned.Dev != "eno1" || cmp.Planned.Table != 13 {
		t.Errorf("now %s via %s, planned table %d %s via %s, changed %v", cmp.Now.Dev, cmp.Now.Gateway, cmp.Planned.Table, cmp.Planned.Dev, cmp.Planned.Gateway, cmp.Changed)
	}
	r = c.run("trace", "8.8.8.8", "--from", "192.168.10.2", "--planned", file)
	if r.code != 0 || !strings.Contains(r.stdout, "The path changes") || !strings.Contains(r.stdout, "Rules tried after the plan") {
		t.Errorf("trace --planned:\n%v", r)
	}
	if after := c.ns.Routing(); after != before {
		t.Errorf("trace --planned changed the namespace:\n%s\nwas:\n%s", after, before)
	}
}

// TestTraceCLIPlannedPriorities traces after a plan made with priorities
// other than the default ones: the planned path goes through the rule at
// the priority apply would give it.
func TestTraceCLIPlannedPriorities(t *testing.T) {
	c := newCLI(t)
	file := writeFile(t, "spec.yaml", specFile)
	var out bytes.Buffer
	a := &app{out: &out, errOut: io.Discard, netns: c.ns.Name, stateDir: c.state,
		priorities: netcfg.PriorityRange{Min: 5000, Max: 5999, Step: 100}}
	if err := a.runTrace("8.8.8.8", traceFlags{from: "192.168.10.2", planned: file, asJSON: true}); err != nil {
		t.Fatalf("trace --planned: %v", err)
	}
	var cmp ui.TraceCompare
	if err := json.Unmarshal(out.Bytes(), &cmp); err != nil {
		t.Fatalf("trace --planned --json: %v\n%s", err, out.String())
	}
	if cmp.Planned.Rule == nil || cmp.Planned.Rule.Priority < 5000 || cmp.Planned.Rule.Priority > 5999 || cmp.Planned.Table != 13 {
		t.Errorf("planned path: table %d, rule %+v; want table 13 through a rule in 5000-5999", cmp.Planned.Table, cmp.Planned.Rule)
	}
}

func TestTraceCLIBadInput(t *testing.T) {
	c := newCLI(t)
	bad := writeFile(t, "bad.yaml", "version: 1\nnics: [{name: eno1, tabel: 13}]\n")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"trace", "8.8.8"}, `"8.8.8" is not an IP address`},
		{[]string{"trace", "8.8.8.8", "--from", "192.168.10"}, `--from "192.168.10" is not an IP address`},
		{[]string{"trace", "8.8.8.8", "--oif", "eth7"}, `--oif: no device named "eth7"`},
		{[]string{"trace", "8.8.8.8", "--from", "10.0.0.9", "--iif", "eth7"}, `--iif: no device named "eth7"`},
		{[]string{"trace", "8.8.8.8", "--iif", "eno1"}, "--iif needs --from"},
		{[]string{"trace", "8.8.8.8", "--from", "2001:db8::1"}, "different families"},
		{[]string{"trace", "8.8.8.8", "--ipproto", "bogus"}, "unknown IP protocol"},
		{[]string{"trace", "8.8.8.8", "--dport", "70000"}, "--dport"},
		{[]string{"trace", "8.8.8.8", "--planned", bad}, "bad.yaml:2"},
		{[]string{"trace"}, "accepts 1 arg"},
	} {
		r := c.run(tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%v: want exit 2 saying %q, got %v", tc.args, tc.msg, r)
		}
	}
}
