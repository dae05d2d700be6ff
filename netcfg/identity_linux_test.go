package netcfg_test

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/nictab/nictab/internal/enginetest"
	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
)

// identityNS is a sandbox whose tables 13 know the NICs' subnets, so that
// gateways in them resolve.
func identityNS(t *testing.T) (*nstest.NS, netcfg.Kernel) {
	ns := nstest.Sandbox(t)
	ns.IP("route", "add", "192.168.20.0/24", "dev", "enp2s0", "table", "13", "proto", "kernel", "scope", "link")
	ns.IP("-6", "route", "add", "2001:db8:20::/64", "dev", "enp2s0", "table", "13", "proto", "kernel")
	return ns, enginetest.Open(t, ns)
}

func exec1(k netcfg.Kernel, kind netcfg.OpKind, r *netcfg.Route) error {
	res := k.Exec([]netcfg.Op{{Kind: kind, Route: r}})
	if res.Failed != nil {
		return res.Failed.Err
	}
	return nil
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func detect13(t *testing.T, k netcfg.Kernel) netcfg.State {
	t.Helper()
	s, err := netcfg.Detect(k, netcfg.Names{}, netcfg.DetectOptions{Tables: []uint32{13}, Owned: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	ours4    = "10.9.0.0/16 via 192.168.20.1 dev enp2s0 table 13 proto 201 scope global"
	ours4New = "10.9.0.0/16 via 192.168.20.7 dev enp2s0 table 13 proto 201 scope global"
	ours6    = "2001:db8:99::/64 via 2001:db8:20::1 dev enp2s0 table 13 proto 201 metric 1024"
	ours6New = "2001:db8:99::/64 via 2001:db8:20::7 dev enp2s0 table 13 proto 201 metric 1024"
)

// TestIdentityIPv4 checks each IPv4 row of identity.go against the kernel,
// and the plan that follows from it.
func TestIdentityIPv4(t *testing.T) {
	t.Run("add is refused when a foreign route shares the identity", func(t *testing.T) {
		ns, k := identityNS(t)
		ns.IP("route", "add", "10.9.0.0/16", "via", "192.168.20.5", "dev", "enp2s0", "table", "13", "proto", "static")
		before := ns.IP("route", "show", "table", "13")
		if err := exec1(k, netcfg.OpAddRoute, routeP(t, ours4)); !errors.Is(err, syscall.EEXIST) {
			t.Fatalf("add beside a foreign route of the same identity: %v, want EEXIST", err)
		}
		if got := ns.IP("route", "show", "table", "13"); got != before {
			t.Errorf("table 13 changed:\n%s", got)
		}
		p := netcfg.PlanChanges(detect13(t, k), netcfg.Desired{Owned: netcfg.Owned{Routes: []netcfg.Route{*routeP(t, ours4)}}, Tables: []uint32{13}})
		if len(p.Conflicts) != 1 || !strings.Contains(p.Conflicts[0].Text, "10.9.0.0/16 via 192.168.20.5") || len(p.Changes) != 0 {
			t.Errorf("plan: conflicts %v, changes %d; want one conflict naming the foreign route", p.Conflicts, len(p.Changes))
		}
	})
	t.Run("prepend shares the identity and replace rewrites the first route, a foreign one", func(t *testing.T) {
		ns, k := identityNS(t)
		if err := exec1(k, netcfg.OpAddRoute, routeP(t, ours4)); err != nil {
			t.Fatal(err)
		}
		ns.IP("route", "prepend", "10.9.0.0/16", "via", "192.168.20.5", "dev", "enp2s0", "table", "13", "proto", "static")
		if n := len(lines(ns.IP("route", "show", "table", "13", "10.9.0.0/16"))); n != 2 {
			t.Fatalf("after prepend table 13 has %d routes to 10.9.0.0/16, want 2", n)
		}
		live := detect13(t, k)
		p := netcfg.PlanChanges(live, netcfg.Desired{Owned: netcfg.Owned{Routes: []netcfg.Route{*routeP(t, ours4New)}}, Tables: []uint32{13}})
		if len(p.Conflicts) != 1 || !strings.Contains(p.Conflicts[0].Text, "192.168.20.5") {
			t.Errorf("plan over a prepended foreign route: conflicts %v, want one naming it", p.Conflicts)
		}
		for _, c := range p.Changes {
			if c.Action == netcfg.ChangeReplace {
				t.Errorf("plan replaces %s while a foreign route shares its identity", c.Before)
			}
		}
		// What the plan avoids: the kernel replaces the foreign route.
		if err := exec1(k, netcfg.OpReplaceRoute, routeP(t, ours4New)); err != nil {
			t.Fatal(err)
		}
		if got := ns.IP("route", "show", "table", "13", "10.9.0.0/16"); strings.Contains(got, "192.168.20.5") || !strings.Contains(got, "192.168.20.1") {
			t.Errorf("kernel row changed: REPLACE no longer rewrites the first route of the identity:\n%s", got)
		}
	})
	t.Run("delete naming every attribute removes only nictab's route", func(t *testing.T) {
		ns, k := identityNS(t)
		if err := exec1(k, netcfg.OpAddRoute, routeP(t, ours4)); err != nil {
			t.Fatal(err)
		}
		ns.IP("route", "prepend", "10.9.0.0/16", "via", "192.168.20.1", "dev", "enp2s0", "table", "13", "proto", "static")
		if err := exec1(k, netcfg.OpDelRoute, routeP(t, ours4)); err != nil {
			t.Fatal(err)
		}
		got := lines(ns.IP("route", "show", "table", "13", "10.9.0.0/16"))
		if len(got) != 1 || got[0] != "10.9.0.0/16 via 192.168.20.1 dev enp2s0 proto static" {
			t.Errorf("after deleting nictab's route: %q, want only the foreign one (the first of the identity)", got)
		}
	})
}

// TestIdentityIPv6 checks each IPv6 row of identity.go against the kernel.
func TestIdentityIPv6(t *testing.T) {
	t.Run("add is refused when a route shares the identity", func(t *testing.T) {
		ns, k := identityNS(t)
		if err := exec1(k, netcfg.OpAddRoute, routeP(t, ours6)); err != nil {
			t.Fatal(err)
		}
		if _, err := ns.IPErr("-6", "route", "add", "2001:db8:99::/64", "via", "2001:db8:20::5", "dev", "enp2s0", "table", "13", "proto", "static", "metric", "1024"); err == nil || !strings.Contains(err.Error(), "File exists") {
			t.Errorf("ip -6 route add of a second route of one identity: %v, want File exists", err)
		}
	})
	t.Run("append merges siblings into one route under the first's protocol", func(t *testing.T) {
		ns, k := identityNS(t)
		if err := exec1(k, netcfg.OpAddRoute, routeP(t, ours6)); err != nil {
			t.Fatal(err)
		}
		ns.IP("-6", "route", "append", "2001:db8:99::/64", "via", "2001:db8:20::5", "dev", "enp2s0", "table", "13", "proto", "static", "metric", "1024")
		live := detect13(t, k)
		var merged *netcfg.Route
		for i := range live.Routes {
			if live.Routes[i].Dst.String() == "2001:db8:99::/64" {
				if merged != nil {
					t.Fatal("the kernel dumped the siblings as two routes")
				}
				merged = &live.Routes[i]
			}
		}
		if merged == nil || !merged.Owned() || len(merged.MultiPath) != 2 {
			t.Fatalf("kernel row changed: want one route of protocol 201 with two next hops, got %+v", merged)
		}
		for _, want := range []string{ours6New, ours6} {
			p := netcfg.PlanChanges(live, netcfg.Desired{Owned: netcfg.Owned{Routes: []netcfg.Route{*routeP(t, want)}}, Tables: []uint32{13}})
			if len(p.Conflicts) != 1 || !strings.Contains(p.Conflicts[0].Text, "multipath") {
				t.Errorf("plan to %q over merged siblings: conflicts %v, want one", want, p.Conflicts)
			}
			for _, c := range p.Changes {
				if c.Subject().Route != nil && c.Subject().Route.Family() == netcfg.V6 && c.Subject().Route.Dst.String() == "2001:db8:99::/64" {
					t.Errorf("plan touches the merged route: %s %s", c.Action, c.Subject())
				}
			}
		}
	})
	t.Run("delete with a gateway and protocol removes only that sibling", func(t *testing.T) {
		ns, k := identityNS(t)
		if err := exec1(k, netcfg.OpAddRoute, routeP(t, ours6)); err != nil {
			t.Fatal(err)
		}
		ns.IP("-6", "route", "append", "2001:db8:99::/64", "via", "2001:db8:20::5", "dev", "enp2s0", "table", "13", "proto", "static", "metric", "1024")
		// nictab's protocol on the foreign hop: the kernel refuses.
		if err := exec1(k, netcfg.OpDelRoute, routeP(t, strings.Replace(ours6, "20::1", "20::5", 1))); !netcfg.IsNotFoundErr(err) {
			t.Errorf("delete of the foreign sibling with nictab's protocol: %v, want ESRCH", err)
		}
		if err := exec1(k, netcfg.OpDelRoute, routeP(t, ours6)); err != nil {
			t.Fatal(err)
		}
		got := lines(ns.IP("-6", "route", "show", "table", "13", "2001:db8:99::/64"))
		if len(got) != 1 || !strings.Contains(got[0], "via 2001:db8:20::5") || !strings.Contains(got[0], "proto static") {
			t.Errorf("after deleting nictab's sibling: %q, want the foreign one alone", got)
		}
	})
}

// TestIdentityRules checks the rule row against the kernel: only an exact
// duplicate is refused, and a delete with nictab's protocol leaves a
// foreign rule with the same selector alone.
func TestIdentityRules(t *testing.T) {
	ns := nstest.Sandbox(t)
	k := enginetest.Open(t, ns)
	r := netcfg.NewRule()
	r.Family, r.Priority, r.Table, r.Proto = netcfg.V4, 1500, 13, netcfg.ProtoNictab
	ns.IP("rule", "add", "pref", "1500", "lookup", "13", "proto", "static")
	if res := k.Exec([]netcfg.Op{{Kind: netcfg.OpAddRule, Rule: &r}}); res.Failed != nil {
		t.Fatalf("a rule that differs only in protocol: %v", res.Failed.Err)
	}
	if res := k.Exec([]netcfg.Op{{Kind: netcfg.OpAddRule, Rule: &r}}); res.Failed == nil || !errors.Is(res.Failed.Err, syscall.EEXIST) {
		t.Errorf("an exact duplicate rule: %+v, want EEXIST", res.Failed)
	}
	if res := k.Exec([]netcfg.Op{{Kind: netcfg.OpDelRule, Rule: &r}}); res.Failed != nil {
		t.Fatal(res.Failed.Err)
	}
	got := lines(ns.IP("rule", "show", "pref", "1500"))
	if len(got) != 1 || !strings.Contains(got[0], "proto static") {
		t.Errorf("after deleting nictab's rule: %q, want the foreign one alone", got)
	}
}

func routeP(t *testing.T, s string) *netcfg.Route {
	r := mustRoute(t, s)
	return &r
}
