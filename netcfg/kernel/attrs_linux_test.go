//go:build linux

package kernel_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/enginetest"
	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
)

// attrNS is a namespace with one veth end (a0, 10.9.0.1/24 and
// 2001:db8:9::1/64) and rules and routes carrying every attribute nictab
// models, written with nictab's own codec: iproute2 6.1 cannot make dscp,
// flowlabel or port-mask rules.
func attrNS(t *testing.T) (*nstest.NS, netcfg.Kernel, []netcfg.Rule, []netcfg.Route) {
	t.Helper()
	ns := nstest.New(t)
	ns.Veth("a0", "a1", "10.9.0.1/24", "2001:db8:9::1/64")
	ns.IP("nexthop", "add", "id", "7", "via", "10.9.0.2", "dev", "a0")
	k := enginetest.Open(t, ns)
	rule := func(s string) netcfg.Rule {
		t.Helper()
		r, err := netcfg.ParseRule(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	route := func(s string) netcfg.Route {
		t.Helper()
		r, err := netcfg.ParseRoute(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rules := []netcfg.Rule{
		rule("pref 180 from all dscp 46 lookup 180"),
		rule("pref 181 from all dscp 8/0x38 lookup 181"),
		rule("-6 pref 182 from all flowlabel 0x12345 lookup 182"),
		rule("-6 pref 183 from all flowlabel 0x100/0xff00 lookup 183"),
		rule("pref 184 from all ipproto 6 sport 0x1000/0xf000 lookup 184"),
		rule("pref 185 from all ipproto 17 dport 53/0xffff lookup 185"),
		rule("pref 2007 from all tun_id 5 lookup 13"),
		rule("pref 186 from 10.9.0.0/24 lookup 186 realms 3/4"),
		rule("pref 187 from all nat 0.0.0.0"),
	}
	routes := []netcfg.Route{
		route("10.9.0.0/24 dev a0 table 13 proto 4 scope link"),
		route("10.20.0.0/16 via 10.9.0.2 dev a0 table 13 proto 4 scope global mtu 1400 advmss 1360"),
		route("10.21.0.0/16 via 10.9.0.2 dev a0 table 13 proto 4 scope global mtu lock 1300 window 65535 rtt 10 rttvar 5 ssthresh 9 cwnd 11 reordering 4 hoplimit 60 initcwnd 20 features ecn rto_min 50 initrwnd 30 quickack 1 congctl reno fastopen_no_cookie 1"),
		route("10.22.0.0/16 via 10.9.0.2 dev a0 table 13 proto 4 scope global realms 2/5"),
		route("10.23.0.0/16 via 10.9.0.2 dev a0 table 13 proto 4 scope global nhid 7"),
		route("2001:db8:50::/48 via 2001:db8:9::2 dev a0 table 13 proto 4 metric 1024 pref high"),
		route("2001:db8:51::/48 via 2001:db8:9::2 dev a0 table 13 proto 4 metric 1024 from 2001:db8:9::/64"),
		route("10.24.0.0/16 table 13 proto 4 scope global nexthop via 10.9.0.2 dev a0 weight 3 realms 7 nexthop via 10.9.0.3 dev a0 weight 1"),
	}
	var ops []netcfg.Op
	for i := range rules {
		ops = append(ops, netcfg.Op{Kind: netcfg.OpAddRule, Rule: &rules[i]})
	}
	for i := range routes {
		ops = append(ops, netcfg.Op{Kind: netcfg.OpAddRoute, Route: &routes[i]})
	}
	if res := k.Exec(ops); res.Failed != nil {
		t.Fatalf("write attributes: %v", res.Failed)
	}
	return ns, k, rules, routes
}

// TestAttributesRoundTrip writes every modelled attribute with nictab's
// codec and reads the kernel back: each rule and route must come back
// equal in every attribute, with nothing left unmodelled.
func TestAttributesRoundTrip(t *testing.T) {
	_, k, rules, routes := attrNS(t)
	got, err := k.Rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range rules {
		i := slices.IndexFunc(got, func(g netcfg.Rule) bool { return g.Priority == w.Priority })
		if i < 0 {
			t.Errorf("rule %s: not in the kernel", netcfg.RuleString(&w))
			continue
		}
		g := got[i]
		if w.Action == netcfg.ActionNAT {
			w.Table = 0
		}
		if !netcfg.RuleEqual(&g, &w) || len(g.Unmodelled) > 0 {
			t.Errorf("rule read back as\n  %s\nwant\n  %s", netcfg.RuleString(&g), netcfg.RuleString(&w))
		}
	}
	var live []netcfg.Route
	if err := k.Routes(netcfg.RouteQuery{Table: 13}, func(r *netcfg.Route) error {
		c := *r
		c.MultiPath = slices.Clone(r.MultiPath)
		live = append(live, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, w := range routes {
		i := slices.IndexFunc(live, func(g netcfg.Route) bool { return g.Key() == w.Key() })
		if i < 0 {
			t.Errorf("route %s: not in the kernel", netcfg.RouteString(&w))
			continue
		}
		g := live[i]
		if !netcfg.RouteEqual(&g, &w) {
			t.Errorf("route read back as\n  %s\nwant\n  %s", netcfg.RouteString(&g), netcfg.RouteString(&w))
		}
	}
}

// TestAttributesAsIPSeesThem checks the attribute numbers against the
// kernel's behaviour and iproute2's reading: `ip route get` with a dsfield
// and ports selects the dscp and port-mask rules, and `ip` prints the
// metrics, realms, nhid and preference nictab wrote.
func TestAttributesAsIPSeesThem(t *testing.T) {
	ns, _, _, _ := attrNS(t)
	for _, tc := range []struct{ args, want string }{
		{"route get 10.50.0.1 tos 0xb8", "table 180"},
		{"route get 10.50.0.1 tos 0x20", "table 181"},
		{"route get 10.50.0.1 ipproto tcp sport 4100 dport 80", "table 184"},
		{"route get 10.50.0.1 ipproto udp sport 999 dport 53", "table 185"},
	} {
		// The tables are empty, so a selected rule shows as the lookup
		// failing there; add a route to each table the probe should reach.
		tbl := strings.Fields(tc.want)[1]
		ns.IP("route", "replace", "10.50.0.0/16", "via", "10.9.0.2", "dev", "a0", "onlink", "table", tbl)
		out, _ := ns.IPErr(strings.Fields(tc.args)...)
		if !strings.Contains(out, tc.want) {
			t.Errorf("ip %s: %q, want %q", tc.args, out, tc.want)
		}
		ns.IP("route", "del", "10.50.0.0/16", "table", tbl)
	}
	routes := ns.IP("route", "show", "table", "13")
	for _, w := range []string{"mtu 1400 advmss 1360", "mtu lock 1300", "congctl reno", "realms 2/5", "nhid 7", "nexthop via 10.9.0.2 realm 7 dev a0 weight 3"} {
		if !strings.Contains(routes, w) {
			t.Errorf("ip route show table 13 lacks %q:\n%s", w, routes)
		}
	}
	r6 := ns.IP("-6", "route", "show", "table", "13")
	for _, w := range []string{"2001:db8:50::/48 via 2001:db8:9::2 dev a0 proto static metric 1024 pref high", "2001:db8:51::/48 from 2001:db8:9::/64"} {
		if !strings.Contains(r6, w) {
			t.Errorf("ip -6 route show table 13 lacks %q:\n%s", w, r6)
		}
	}
	rules := ns.IP("rule", "show")
	for _, w := range []string{"2007:\tfrom all tun_id 5 lookup 13", "186:\tfrom 10.9.0.0/24 lookup 186 realms 3/4", "187:\tfrom all lookup main masquerade"} {
		if !strings.Contains(rules, w) {
			t.Errorf("ip rule show lacks %q:\n%s", w, rules)
		}
	}
	_ = netip.Addr{}
}
