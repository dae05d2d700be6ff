package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/ui"
)

// TestShowAndTraceNewAttributes: show, show --json and show --json --all
// name the attributes of newer kernels in ip's words (dscp written with
// nictab's codec, which iproute2 6.1 cannot), and trace decides the dscp
// rule with --dscp, is undetermined without it, and agrees with ip route
// get when given it.
func TestShowAndTraceNewAttributes(t *testing.T) {
	c := newCLI(t)
	k, err := kernel.Open(c.ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	rule, _ := netcfg.ParseRule("pref 180 from all dscp 46 lookup 180")
	routes := []string{
		"192.168.10.0/24 dev eno1 table 180 scope link",
		"default via 192.168.10.1 dev eno1 table 180 scope global mtu 1400 advmss 1360",
	}
	ops := []netcfg.Op{{Kind: netcfg.OpAddRule, Rule: &rule}}
	for _, s := range routes {
		r, err := netcfg.ParseRoute(s)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, netcfg.Op{Kind: netcfg.OpAddRoute, Route: &r})
	}
	if _, err := k.Links(); err != nil {
		t.Fatal(err)
	}
	if res := k.Exec(ops); res.Failed != nil {
		t.Fatal(res.Failed)
	}
	k.Close()

	r := c.run("show")
	if r.code != 0 || !strings.Contains(r.stdout, "from all dscp 46 lookup 180") {
		t.Errorf("show lacks the dscp rule:\n%s", r)
	}
	r = c.run("show", "--json")
	var v ui.ShowView
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("show --json: %v\n%s", err, r.stdout)
	}
	found := false
	for _, rv := range v.Rules {
		if rv.Priority == 180 && rv.DSCP != nil && rv.DSCP.Value == 46 && strings.Contains(rv.Text, "dscp 46") {
			found = true
		}
	}
	if !found {
		t.Errorf("show --json lacks the dscp rule:\n%s", r.stdout)
	}
	r = c.run("show", "--json", "--all")
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("show --json --all is not the documented object: %v\n%s", err, r.stdout)
	}
	found = false
	for _, rv := range v.Routes {
		if rv.Table == 180 && rv.Metrics.Get(netcfg.RTAXMTU) == 1400 && strings.Contains(rv.Text, "mtu 1400 advmss 1360") {
			found = true
		}
	}
	if !found || len(v.NICs) == 0 || len(v.Rules) == 0 {
		t.Errorf("show --json --all: %d NICs, %d rules, mtu route found %v:\n%s", len(v.NICs), len(v.Rules), found, r.stdout)
	}
	if !strings.Contains(r.stdout, `"metrics":{"mtu":1400,"advmss":1360}`) {
		t.Errorf("metrics are not in the documented form:\n%s", r.stdout)
	}

	r = c.run("trace", "198.51.100.7")
	if !strings.Contains(r.stdout, "undetermined: rule 180: from all dscp 46 lookup 180") || !strings.Contains(r.stdout, "--dscp") {
		t.Errorf("trace without --dscp:\n%s", r)
	}
	r = c.run("trace", "198.51.100.7", "--dscp", "46")
	if r.code != 0 || !strings.Contains(r.stdout, "180") || !strings.Contains(r.stdout, "eno1") {
		t.Errorf("trace --dscp 46:\n%s", r)
	}
	if got := c.ns.IP("route", "get", "198.51.100.7", "tos", "0xb8"); !strings.Contains(got, "dev eno1 table 180") {
		t.Errorf("ip route get tos 0xb8: %s", got)
	}
	r = c.run("trace", "198.51.100.7", "--dscp", "45")
	if r.code != 0 || strings.Contains(r.stdout, "table   180") {
		t.Errorf("trace --dscp 45 reaches table 180:\n%s", r)
	}
	if got := c.ns.IP("route", "get", "198.51.100.7", "tos", "0xb4"); strings.Contains(got, "table 180") {
		t.Errorf("ip route get tos 0xb4: %s", got)
	}
	if r := c.run("trace", "198.51.100.7", "--dscp", "46", "--tos", "0xb8"); r.code != 2 {
		t.Errorf("--dscp with --tos: exit %d, want 2", r.code)
	}
}

// TestSSHGuardUndetermined is the guard reproduction: a plan that
// adds a rule after which a dscp 46 rule decides the replies' path (sshd's
// DS field is not known) is a danger, naming the rule, and --confirm 0
// needs --force; a tun_id rule, which never matches what this host sends,
// does not trouble the guard.
func TestSSHGuardUndetermined(t *testing.T) {
	c := newCLI(t)
	c.env = []string{"SSH_CONNECTION=198.51.100.7 51000 192.168.20.2 22"}
	k, err := kernel.Open(c.ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	rule, _ := netcfg.ParseRule("pref 180 from all dscp 46 lookup 180")
	if res := k.Exec([]netcfg.Op{{Kind: netcfg.OpAddRule, Rule: &rule}}); res.Failed != nil {
		t.Fatal(res.Failed)
	}
	k.Close()
	r := c.run("plan", "-f", writeFile(t, "s.yaml", specFile))
	mustContain(t, "plan", r.stdout, "DANGER: THIS CHANGE MAY CUT YOUR SSH SESSION", "rule 180: from all dscp 46 lookup 180", "undetermined")
	before := c.routing()
	if r := c.run("apply", "-f", writeFile(t, "s2.yaml", specFile), "--yes", "--confirm", "0"); r.code != 2 || !strings.Contains(r.stderr, "--force") || c.routing() != before {
		t.Errorf("--confirm 0 with an undetermined path: %s", r)
	}

	c.ns.IP("rule", "del", "pref", "180")
	c.ns.IP("rule", "add", "pref", "2007", "tun_id", "5", "lookup", "13")
	if r := c.run("plan", "-f", writeFile(t, "s3.yaml", specFile)); !strings.Contains(r.stdout, "SSH ok") || strings.Contains(r.stdout, "DANGER") {
		t.Errorf("a tun_id rule troubles the guard: %s", r)
	}
}
