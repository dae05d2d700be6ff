//go:build linux

package snapshots_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/export"
)

// writeByCodec installs rules and routes with nictab's own codec (iproute2
// 6.1 cannot make a dscp rule), as a person's tool would: protocol static.
func writeByCodec(t *testing.T, ns *nstest.NS, rules, routes []string) {
	t.Helper()
	k, err := kernel.Open(ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.Links(); err != nil {
		t.Fatal(err)
	}
	var ops []netcfg.Op
	for _, s := range rules {
		r, err := netcfg.ParseRule(s)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, netcfg.Op{Kind: netcfg.OpAddRule, Rule: &r})
	}
	for _, s := range routes {
		r, err := netcfg.ParseRoute(s)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, netcfg.Op{Kind: netcfg.OpAddRoute, Route: &r})
	}
	if res := k.Exec(ops); res.Failed != nil {
		t.Fatal(res.Failed)
	}
}

// kernelText is every rule and route of the namespace as nictab's codec
// reads them (which, unlike iproute2 6.1, sees dscp), with the protocol
// left out: adoption changes the protocol and nothing else.
func kernelText(t *testing.T, ns *nstest.NS) string {
	t.Helper()
	k, err := kernel.Open(ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	s, err := netcfg.Detect(k, netcfg.Names{}, netcfg.DetectOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	proto := regexp.MustCompile(` proto \d+`)
	for i := range s.Rules {
		lines = append(lines, "rule "+s.Rules[i].Family.String()+" "+proto.ReplaceAllString(netcfg.RuleKey(&s.Rules[i]), ""))
	}
	for i := range s.Routes {
		lines = append(lines, "route "+proto.ReplaceAllString(netcfg.RouteString(&s.Routes[i]), ""))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestAdoptKeepsEveryAttribute is the reproduction: a dscp 46 rule,
// a tun_id 5 rule and an mtu/advmss route, adopted with snapshot save
// --adopt. Adoption must leave every attribute in the kernel as it was
// (only the protocol changes), the dscp rule must still select only
// dscp 46 (ip route get), and the snapshot must hold each route once and
// give the attributes back on rollback.
func TestAdoptKeepsEveryAttribute(t *testing.T) {
	r := newRig(t)
	writeByCodec(t, r.ns,
		[]string{"pref 180 from all dscp 46 lookup 180 proto 4", "pref 2007 from all tun_id 5 lookup 13 proto 4"},
		[]string{
			"192.168.10.0/24 dev eno1 table 13 proto 4 scope link",
			"10.20.0.0/16 via 192.168.10.1 dev eno1 table 13 proto 4 scope global mtu 1400 advmss 1360",
			"192.168.10.0/24 dev eno1 table 180 proto 4 scope link",
			"10.50.0.0/16 via 192.168.10.1 dev eno1 table 180 proto 4 scope global",
		})
	before := kernelText(t, r.ns)
	p, err := r.e.ProposeAdoption("adopt")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Plan.Notes) > 0 {
		t.Errorf("adoption notes: %v", p.Plan.Notes)
	}
	out, err := r.e.Apply(p, snapshots.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after := kernelText(t, r.ns); after != before {
		t.Errorf("adoption changed the kernel beyond the protocol:\n--- before\n%s\n--- after\n%s", before, after)
	}
	rules := r.ns.IP("rule", "show")
	for _, w := range []string{"180:\tfrom all lookup 180 proto nictab", "2007:\tfrom all tun_id 5 lookup 13 proto nictab"} {
		if !strings.Contains(rules, w) {
			t.Errorf("ip rule show lacks %q:\n%s", w, rules)
		}
	}
	if got := r.ns.IP("route", "show", "table", "13"); !strings.Contains(got, "10.20.0.0/16 via 192.168.10.1 dev eno1 proto nictab mtu 1400 advmss 1360") {
		t.Errorf("table 13 after adoption:\n%s", got)
	}
	assertDSCPSelects(t, r.ns)
	snap := out.Snapshot
	if snap == nil {
		t.Fatal("no snapshot saved")
	}
	seen := map[string]int{}
	for i := range snap.Resolved.Routes {
		seen[netcfg.RouteString(&snap.Resolved.Routes[i])]++
	}
	for s, n := range seen {
		if n != 1 {
			t.Errorf("the snapshot lists %q %d times", s, n)
		}
	}
	if len(snap.Resolved.Routes) != 4 || len(snap.Resolved.Rules) != 2 {
		t.Errorf("snapshot holds %d rules and %d routes, want 2 and 4", len(snap.Resolved.Rules), len(snap.Resolved.Routes))
	}
	saved, err := r.e.Store().Get(snap.Meta.ID)
	if err != nil {
		t.Fatal(err)
	}

	// Rollback re-creates what was removed, every attribute with it.
	r.ns.IP("rule", "del", "pref", "180")
	r.ns.IP("rule", "del", "pref", "2007")
	r.ns.IP("route", "del", "10.20.0.0/16", "table", "13")
	rb, err := r.e.ProposeRollback(saved)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.Apply(rb, snapshots.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if after := kernelText(t, r.ns); after != before {
		t.Errorf("rollback did not restore every attribute:\n--- before\n%s\n--- after\n%s", before, after)
	}
	assertDSCPSelects(t, r.ns)

	// The ip export says the attributes in ip's words; NixOS refuses,
	// naming them.
	script, err := export.IP(saved, export.IPOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"dscp 46 lookup 180", "tun_id 5 lookup 13", "mtu 1400 advmss 1360"} {
		if !strings.Contains(script, w) {
			t.Errorf("the ip export lacks %q:\n%s", w, script)
		}
	}
	if _, err := export.Nix(saved, export.NixOptions{}); err == nil || !strings.Contains(err.Error(), "dscp") {
		t.Errorf("export.Nix = %v, want a refusal naming dscp", err)
	}
}

// assertDSCPSelects checks with the kernel's own lookup that rule 180 still
// matches dscp 46 (dsfield 0xb8) and nothing else.
func assertDSCPSelects(t *testing.T, ns *nstest.NS) {
	t.Helper()
	if got := ns.IP("route", "get", "10.50.0.1", "tos", "0xb8"); !strings.Contains(got, "table 180") {
		t.Errorf("dscp 46 does not reach table 180: %s", got)
	}
	if got, _ := ns.IPErr("route", "get", "10.50.0.1"); strings.Contains(got, "table 180") {
		t.Errorf("a packet without dscp 46 reaches table 180: %s", got)
	}
}

// injecting wraps a kernel and adds an attribute type nictab does not know
// to the rule of priority pref, as a newer kernel would report one.
type injecting struct {
	netcfg.Kernel
	pref uint32
}

func (k injecting) Rules() ([]netcfg.Rule, error) {
	rs, err := k.Kernel.Rules()
	for i := range rs {
		if rs[i].Priority == k.pref {
			rs[i].Unmodelled = append(rs[i].Unmodelled, netcfg.RawAttr{Type: 99, Name: "FRA_99", Data: []byte{1, 0, 0, 0}})
		}
	}
	return rs, err
}

// TestAdoptLeavesOpaqueAlone: a rule with an attribute nictab does not
// model (injected) and a route with a lightweight tunnel (kept only as
// bytes) are named and left exactly as they were; the rest is adopted.
func TestAdoptLeavesOpaqueAlone(t *testing.T) {
	r := newRig(t)
	r.ns.IP("rule", "add", "pref", "2007", "from", "10.1.0.0/16", "lookup", "13")
	r.ns.IP("rule", "add", "pref", "2008", "from", "10.2.0.0/16", "lookup", "14")
	r.ns.IP("route", "add", "10.30.0.0/16", "encap", "ip", "id", "9", "dst", "192.168.20.7", "dev", "enp2s0", "table", "14")
	r.ns.IP("route", "add", "10.31.0.0/16", "dev", "enp2s0", "table", "14")
	e, err := snapshots.NewEngine(snapshots.EngineConfig{
		Netns: r.ns.Name, StateDir: r.dir, NamePaths: netcfg.DefaultNamePaths(r.ns.Name), Host: "testhost", Version: "test",
		Open: func() (netcfg.Kernel, error) {
			k, err := kernel.Open(r.ns.Name)
			return injecting{Kernel: k, pref: 2007}, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	live, err := e.Live()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(live.Rules, func(x netcfg.Rule) bool { return x.Priority == 2007 })
	if s := netcfg.RuleString(&live.Rules[i]); !strings.Contains(s, "+1 attribute nictab does not model: FRA_99") {
		t.Errorf("the rule shows as %q", s)
	}
	before := r.ns.Routing()
	p, err := e.ProposeAdoption("adopt")
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, n := range p.Plan.Notes {
		notes = append(notes, n.Text)
	}
	text := strings.Join(notes, "\n")
	for _, w := range []string{`rule "2007:`, "FRA_99", `route "10.30.0.0/16`, "encap ip (RTA_ENCAP)", "cannot reproduce"} {
		if !strings.Contains(text, w) {
			t.Errorf("adoption notes lack %q:\n%s", w, text)
		}
	}
	for _, c := range p.Plan.Changes {
		if c.Before.Rule != nil && c.Before.Rule.Priority == 2007 || c.Before.Route != nil && c.Before.Route.Encap != nil {
			t.Errorf("adoption plans %v on an opaque object", c.Action)
		}
	}
	if _, err := e.Apply(p, snapshots.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	after := r.ns.Routing()
	lineOf := func(text, prefix string) string {
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		return ""
	}
	for _, w := range []string{"2007:", "10.30.0.0/16 "} {
		if b, a := lineOf(before, w), lineOf(after, w); a != b || a == "" {
			t.Errorf("the opaque object changed:\n  before %q\n  after  %q", b, a)
		}
	}
	if !strings.Contains(after, "2008:\tfrom 10.2.0.0/16 lookup 14 proto nictab") || !strings.Contains(after, "10.31.0.0/16 dev enp2s0 table 14 proto nictab") {
		t.Errorf("the rest was not adopted:\n%s", after)
	}
	if before == after {
		t.Error("adoption changed nothing")
	}
}
