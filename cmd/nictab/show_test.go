package main

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/ui"
)

// TestShowJSONMatchesIP: `nictab --netns X show --json` in a namespace with
// the sandbox's NICs lists eno1 and enp2s0 with their addresses and
// gateways, and the rules exactly as `ip -j rule` sees them.
func TestShowJSONMatchesIP(t *testing.T) {
	c := newCLI(t)
	c.ns.IP("rule", "add", "from", "192.168.10.2", "lookup", "13", "pref", "1000")
	c.ns.IP("route", "add", "default", "via", "192.168.10.1", "dev", "eno1", "table", "13")
	r := c.run("show", "--json")
	if r.code != 0 {
		t.Fatal(r)
	}
	var v ui.ShowView
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("show --json is not JSON: %v\n%s", err, r.stdout)
	}
	nic := func(name string) ui.NICView {
		for _, n := range v.NICs {
			if n.Name == name {
				return n
			}
		}
		t.Fatalf("show --json lacks NIC %s: %+v", name, v.NICs)
		return ui.NICView{}
	}
	for name, want := range map[string][]string{
		"eno1":   {"192.168.10.2/24", "2001:db8:10::2/64", "192.168.10.1", "2001:db8:10::1"},
		"enp2s0": {"192.168.20.2/24", "2001:db8:20::2/64", "192.168.20.1", "2001:db8:20::1"},
	} {
		n := nic(name)
		if !slices.Contains(n.Addrs, want[0]) || !slices.Contains(n.Addrs, want[1]) {
			t.Errorf("%s addresses = %v", name, n.Addrs)
		}
		if !slices.Equal(n.Gateways, want[2:]) {
			t.Errorf("%s gateways = %v, want %v", name, n.Gateways, want[2:])
		}
	}
	if e := nic("eno1"); len(e.Tables) != 1 || e.Tables[0].ID != 13 || e.Tables[0].Owned {
		t.Errorf("eno1 tables = %+v, want 13, not nictab's", e.Tables)
	}
	var ipRules []struct {
		Priority uint32 `json:"priority"`
	}
	for _, fam := range []string{"-4", "-6"} {
		var rs []struct {
			Priority uint32 `json:"priority"`
		}
		c.ns.JSON(&rs, fam, "rule", "show")
		ipRules = append(ipRules, rs...)
	}
	if len(ipRules) != len(v.Rules) {
		t.Fatalf("show lists %d rules, ip %d", len(v.Rules), len(ipRules))
	}
	for i := range ipRules {
		if ipRules[i].Priority != v.Rules[i].Priority {
			t.Errorf("rule %d: priority %d, ip says %d", i, v.Rules[i].Priority, ipRules[i].Priority)
		}
	}
	var t13 *ui.TableView
	for i := range v.Tables {
		if v.Tables[i].ID == 13 {
			t13 = &v.Tables[i]
		}
	}
	if t13 == nil || t13.Routes == nil || *t13.Routes != 1 || t13.Rules != 1 {
		t.Errorf("table 13 = %+v, want 1 rule and 1 route", t13)
	}

	text := c.run("show")
	mustContain(t, "show", text.stdout, "eno1", "192.168.10.2/24", "192.168.10.1", "13", "enp2s0")
	for _, line := range strings.Split(text.stdout, "\n") {
		if len([]rune(line)) > 80 {
			t.Errorf("show line wider than 80 columns: %q", line)
		}
	}
}

func TestShowBadInput(t *testing.T) {
	nstest.RequireRoot(t)
	for _, args := range [][]string{
		{"--netns", "nictab-no-such-namespace", "show"},
		{"show", "--bogus"},
		{"show", "--table", "no-such-table-name"},
		{"frobnicate"},
	} {
		cmd := exec.Command(nictabBin, args...)
		r := runCmd(t, cmd)
		if r.code != 2 || r.stderr == "" || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%v: %s", args, r)
		}
	}
	cmd := exec.Command(nictabBin, "--netns", "nictab-no-such-namespace", "show")
	r := runCmd(t, cmd)
	mustContain(t, "unknown namespace message", r.stderr, `network namespace "nictab-no-such-namespace" does not exist`)
}

// TestShowEscapesKernelText: an alias holding an escape sequence is shown
// escaped, never sent to the terminal.
func TestShowEscapesKernelText(t *testing.T) {
	c := newCLI(t)
	c.ns.IP("link", "set", "eno1", "alias", "evil\x1b[2Jalias")
	r := c.run("show")
	mustContain(t, "show", r.stdout, `evil\x1b[2Jalias`)
	if strings.Contains(r.stdout+r.stderr, "\x1b") {
		t.Errorf("an escape character reached the output:\n%q", r.stdout)
	}
	r = c.run("show", "--json")
	if !strings.Contains(r.stdout, `evil\u001b[2Jalias`) {
		t.Errorf("JSON does not carry the alias escaped: %s", r.stdout)
	}
}

// TestWithoutNetAdmin runs nictab as root without CAP_NET_ADMIN: reading
// works, a change is refused up front, saying what it needs.
func TestWithoutNetAdmin(t *testing.T) {
	c := newCLI(t)
	f := writeFile(t, "blog.yaml", specFile)
	before := c.routing()
	drop := func(args ...string) result {
		full := append([]string{"--bounding-set", "-net_admin", "--inh-caps", "-net_admin", "--", nictabBin, "--netns", c.ns.Name, "--state-dir", c.state}, args...)
		return runCmd(t, exec.Command("setpriv", full...))
	}
	if r := drop("show"); r.code != 0 || !strings.Contains(r.stdout, "eno1") {
		t.Errorf("show without CAP_NET_ADMIN: %s", r)
	}
	if r := drop("plan", "-f", f); r.code != 0 || !strings.Contains(r.stdout, "Plan: 14 to add") {
		t.Errorf("plan without CAP_NET_ADMIN: %s", r)
	}
	for _, args := range [][]string{{"apply", "-f", f, "--yes"}, {"rollback", "--yes"}, {"recover"}} {
		r := drop(args...)
		if r.code != 1 || !strings.Contains(r.stderr, "needs CAP_NET_ADMIN") {
			t.Errorf("%v without CAP_NET_ADMIN: %s", args, r)
		}
	}
	if c.routing() != before {
		t.Error("the namespace changed")
	}
}
