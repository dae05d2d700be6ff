package netcfg_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// sandboxLive is the sandbox's state as detection reads it.
func sandboxLive(t *testing.T) netcfg.State {
	t.Helper()
	s, _ := readTextState(t, "testdata/plan/fresh-two-nics/live.txt")
	s.Routes = append(s.Routes,
		mustRoute(t, "default via 2001:db8:20::1 dev enp2s0 proto 9 metric 100"),
		mustRoute(t, "default via 2001:db8:10::1 dev eno1 proto 9 metric 200"))
	s.Links[0].Addrs = append(s.Links[0].Addrs, netcfg.Addr{Prefix: netip.MustParsePrefix("fe80::1/64"), Scope: netcfg.ScopeLink})
	return s
}

func mustRoute(t *testing.T, s string) netcfg.Route {
	t.Helper()
	r, err := netcfg.ParseRoute(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRule(t *testing.T, s string) netcfg.Rule {
	t.Helper()
	r, err := netcfg.ParseRule(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolveSandbox(t *testing.T) {
	live := sandboxLive(t)
	in := netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14, Name: "lan"}},
		NICs: []netcfg.NICIntent{
			{Name: "eno1", Table: netcfg.TableRef{ID: 13}, Gateways: []netip.Addr{netip.MustParseAddr("192.168.10.1")}},
			{Name: "enp2s0", Table: netcfg.TableRef{Name: "lan"}},
		},
	}
	d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range d.Rules {
		got = append(got, "rule "+netcfg.RuleString(&r))
	}
	for _, r := range d.Routes {
		got = append(got, "route "+netcfg.RouteString(&r))
	}
	want := []string{
		"rule 1000:\tfrom 192.168.10.2 lookup 13 proto 201",
		"rule 1000:\tfrom 2001:db8:10::2 lookup 13 proto 201",
		"rule 1010:\tfrom 192.168.20.2 lookup 14 proto 201",
		"rule 1010:\tfrom 2001:db8:20::2 lookup 14 proto 201",
		"route default via 192.168.10.1 dev eno1 table 13 proto 201 scope global",
		"route 192.168.10.0/24 dev eno1 table 13 proto 201 scope link src 192.168.10.2",
		"route default via 2001:db8:10::1 dev eno1 table 13 proto 201 metric 1024",
		"route 2001:db8:10::/64 dev eno1 table 13 proto 201 src 2001:db8:10::2 metric 1024",
		"route default via 192.168.20.1 dev enp2s0 table 14 proto 201 scope global",
		"route 192.168.20.0/24 dev enp2s0 table 14 proto 201 scope link src 192.168.20.2",
		"route default via 2001:db8:20::1 dev enp2s0 table 14 proto 201 metric 1024",
		"route 2001:db8:20::/64 dev enp2s0 table 14 proto 201 src 2001:db8:20::2 metric 1024",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("resolved:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(d.Names) != 2 || d.Names[0] != (netcfg.TableName{ID: 13, Name: "vpn"}) {
		t.Errorf("names = %v", d.Names)
	}
	if len(d.Notes) != 0 {
		t.Errorf("unexpected notes: %v", d.Notes)
	}
}

func TestResolvePriorities(t *testing.T) {
	live := sandboxLive(t)
	// A hand-made rule sits at 1000: nictab must skip it.
	live.Rules = append(live.Rules, mustRule(t, "pref 1000 from 10.0.0.0/8 lookup 50"))
	in := netcfg.Intent{NICs: []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}, {Name: "enp2s0", Table: netcfg.TableRef{ID: 14}}}}
	d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		t.Fatal(err)
	}
	prios := map[uint32]bool{}
	for _, r := range d.Rules {
		prios[r.Priority] = true
	}
	if prios[1000] || !prios[1010] || !prios[1020] {
		t.Errorf("priorities = %v, want 1010 and 1020 (1000 is taken)", prios)
	}
	// An owned rule already at 1500 for eno1's table keeps its priority.
	live.Rules = append(live.Rules, mustRule(t, "pref 1500 from 192.168.10.2 lookup 13 proto 201"))
	d, err = netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		t.Fatal(err)
	}
	if d.NICs[0].Priority != 1500 {
		t.Errorf("eno1 priority = %d, want the 1500 it already has", d.NICs[0].Priority)
	}
	// Asking for a taken priority is refused.
	in.NICs[0].Priority = 1000
	if _, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("taken priority: err = %v", err)
	}
	// A full range is refused, not wrapped around.
	tiny := netcfg.PriorityRange{Min: 1000, Max: 1000, Step: 10}
	in.NICs[0].Priority = 0
	if _, err := netcfg.Resolve(in, live, tiny); err == nil || !strings.Contains(err.Error(), "no free rule priority") {
		t.Errorf("full range: err = %v", err)
	}
}

func TestResolveErrors(t *testing.T) {
	live := sandboxLive(t)
	nic := func(n netcfg.NICIntent) netcfg.Intent { return netcfg.Intent{NICs: []netcfg.NICIntent{n}} }
	gw := func(s string) []netip.Addr { return []netip.Addr{netip.MustParseAddr(s)} }
	cases := []struct {
		name  string
		in    netcfg.Intent
		field string
		msg   string
	}{
		{"unknown NIC", nic(netcfg.NICIntent{Name: "eth9", Table: netcfg.TableRef{ID: 13}}), "nics[0].name", "no NIC named"},
		{"reserved table", nic(netcfg.NICIntent{Name: "eno1", Table: netcfg.TableRef{ID: 254}}), "nics[0].table", "reserved"},
		{"unknown table name", nic(netcfg.NICIntent{Name: "eno1", Table: netcfg.TableRef{Name: "vpn"}}), "nics[0].table", "no table is named"},
		{"gateway off-link", nic(netcfg.NICIntent{Name: "eno1", Table: netcfg.TableRef{ID: 13}, Gateways: gw("192.168.99.1")}), "nics[0].gateway", "outside every prefix"},
		{"fwmark without mark", nic(netcfg.NICIntent{Name: "eno1", Table: netcfg.TableRef{ID: 13}, Select: []netcfg.Selector{netcfg.SelectFwmark}}), "nics[0].select", "needs fwmark"},
		{"duplicate NIC", netcfg.Intent{NICs: []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}, {Name: "eno1", Table: netcfg.TableRef{ID: 14}}}}, "nics[1].name", "listed twice"},
		{"two NICs one table", netcfg.Intent{NICs: []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}, {Name: "enp2s0", Table: netcfg.TableRef{ID: 13}}}}, "nics[1].table", "clashes"},
		{"reserved table def", netcfg.Intent{Tables: []netcfg.TableDef{{ID: 255, Name: "x"}}}, "tables[0].id", "reserved"},
		{"route without dev or via", netcfg.Intent{Routes: []netcfg.RouteIntent{{Table: netcfg.TableRef{ID: 13}, To: netip.MustParsePrefix("10.0.0.0/8")}}}, "routes[0]", "needs via"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := netcfg.Resolve(c.in, live, netcfg.DefaultPriorities)
			var fe *netcfg.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
				t.Errorf("got %s: %s; want %s: …%s…", fe.Field, fe.Msg, c.field, c.msg)
			}
		})
	}
}

func TestResolveNeedsGateway(t *testing.T) {
	live := sandboxLive(t)
	live.Routes = nil // no defaults in main: no gateway known
	d, err := netcfg.Resolve(netcfg.Intent{NICs: []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}}}, live, netcfg.DefaultPriorities)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Routes {
		if r.IsDefault() {
			t.Errorf("a default route was planned without a gateway: %s", netcfg.RouteString(&r))
		}
	}
	if len(d.Notes) != 2 || !strings.Contains(d.Notes[0].Text, "needs a gateway") {
		t.Errorf("notes = %v, want one per family saying eno1 needs a gateway", d.Notes)
	}
}

// TestResolveRouteClashesNamedInOrder: routes of one key are refused at
// each later route, against the first of the key, in the intent's order,
// whatever order their keys come in; two NICs that give one table the same
// connected route clash at the second NIC.
func TestResolveRouteClashesNamedInOrder(t *testing.T) {
	live := netcfg.State{Links: []netcfg.Link{
		{Index: 2, Name: "sc0", Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/16")}}},
		{Index: 3, Name: "sc1", Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("10.0.0.2/16")}}},
	}}
	gw := netip.MustParseAddr("10.0.0.9")
	route := func(to string, via netip.Addr) netcfg.RouteIntent {
		return netcfg.RouteIntent{Table: netcfg.TableRef{ID: 100}, To: netip.MustParsePrefix(to), Via: via, Dev: "sc0"}
	}
	in := netcfg.Intent{
		NICs: []netcfg.NICIntent{{Name: "sc0", Table: netcfg.TableRef{ID: 13}, Gateways: []netip.Addr{gw}}, {Name: "sc1", Table: netcfg.TableRef{ID: 13}, Priority: 1500}},
		Routes: []netcfg.RouteIntent{
			route("30.0.0.0/24", gw),
			route("20.0.0.0/24", gw),
			route("30.0.0.0/24", gw),
			route("30.0.0.0/24", netip.Addr{}),
			route("20.0.0.0/24", netip.Addr{}),
			route("25.0.0.0/24", gw),
		},
	}
	_, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err == nil {
		t.Fatal("Resolve accepted routes of one key")
	}
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *netcfg.FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is no FieldError", e)
		}
		got = append(got, fe.Error())
	}
	want := []string{
		"nics[1].table: 10.0.0.0/16 dev sc1 table 13 proto 201 scope link src 10.0.0.2 clashes with 10.0.0.0/16 dev sc0 table 13 proto 201 scope link src 10.0.0.1: a table holds one route per destination and metric; give each NIC its own table, or set a metric",
		"routes[2]: the route 30.0.0.0/24 via 10.0.0.9 dev sc0 table 100 proto 201 scope global is planned twice",
		"routes[3]: 30.0.0.0/24 dev sc0 table 100 proto 201 scope link clashes with 30.0.0.0/24 via 10.0.0.9 dev sc0 table 100 proto 201 scope global: a table holds one route per destination and metric; give each NIC its own table, or set a metric",
		"routes[4]: 20.0.0.0/24 dev sc0 table 100 proto 201 scope link clashes with 20.0.0.0/24 via 10.0.0.9 dev sc0 table 100 proto 201 scope global: a table holds one route per destination and metric; give each NIC its own table, or set a metric",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
