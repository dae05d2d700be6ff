package format

import (
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// TestRuleActions: an explicit rule may end the lookup (blackhole,
// unreachable, prohibit) instead of naming a table; it reads, writes and
// reads again the same, and a table beside such an action, an action no
// entry can take, or a lookup without a table, is refused by line.
func TestRuleActions(t *testing.T) {
	text := "version: 1\nrules:\n  - {priority: 800, to: 203.0.113.0/24, action: prohibit}\n  - {priority: 801, from: 10.9.0.0/24, action: lookup, table: 13}\n"
	s, err := Parse("actions.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []netcfg.RuleIntent{
		{Priority: 800, To: prefix("203.0.113.0/24"), Action: netcfg.ActionProhibit},
		{Priority: 801, From: prefix("10.9.0.0/24"), Table: netcfg.TableRef{ID: 13}},
	}
	if len(s.Intent.Rules) != 2 || s.Intent.Rules[0] != want[0] || s.Intent.Rules[1].Table != want[1].Table || s.Intent.Rules[1].Action != 0 {
		t.Fatalf("rules %+v, want %+v", s.Intent.Rules, want)
	}
	out, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "action: prohibit") || strings.Contains(string(out), "action: lookup") {
		t.Fatalf("written:\n%s", out)
	}
	again, err := Parse("again.yaml", out)
	if err != nil || len(again.Intent.Rules) != 2 || again.Intent.Rules[0] != want[0] {
		t.Fatalf("read again: %v %+v\n%s", err, again, out)
	}
	for _, c := range []struct{ file, want string }{
		{"version: 1\nrules:\n  - {to: 203.0.113.0/24, action: blackhole, table: 13}\n", "bad.yaml:3:52: rules[0].table: a rule with action blackhole looks up no table"},
		{"version: 1\nrules:\n  - {to: 203.0.113.0/24, action: goto}\n", `bad.yaml:3:34: rules[0].action: action goto needs goto: PRIORITY`},
		{"version: 1\nrules:\n  - {to: 203.0.113.0/24, action: nat}\n", `bad.yaml:3:34: rules[0].action: unknown action "nat"`},
		{"version: 1\nrules:\n  - {to: 203.0.113.0/24}\n", "bad.yaml:3:5: rules[0].table: missing"},
	} {
		_, err := Parse("bad.yaml", []byte(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to say %q", c.file, err, c.want)
		}
	}
}

// TestRuleSelectors: uidrange, ipproto, sport and dport on an explicit
// rule read, write and read again the same; a bad range is refused by
// line.
func TestRuleSelectors(t *testing.T) {
	text := "version: 1\nrules:\n  - {priority: 820, from: 10.9.0.0/24, uidrange: 1000-1999, ipproto: 6, sport: 1024-65000, dport: 443, table: 13}\n"
	s, err := Parse("selectors.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Intent.Rules[0]
	if *r.UIDRange != (netcfg.UIDRange{Start: 1000, End: 1999}) || r.IPProto != 6 || *r.SPort != (netcfg.PortRange{Start: 1024, End: 65000}) || *r.DPort != (netcfg.PortRange{Start: 443, End: 443}) {
		t.Fatalf("rule %+v", r)
	}
	out, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"uidrange: 1000-1999", "ipproto: 6", "sport: 1024-65000", "dport: 443"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("written without %q:\n%s", w, out)
		}
	}
	again, err := Parse("again.yaml", out)
	if err != nil || ruleIntentKey(&again.Intent.Rules[0]) != ruleIntentKey(&r) {
		t.Fatalf("read again: %v\n%s", err, out)
	}
	if _, err := Parse("bad.yaml", []byte("version: 1\nrules:\n  - {dport: 90-80, table: 13}\n")); err == nil || !strings.Contains(err.Error(), "bad.yaml:3:13: rules[0].dport") {
		t.Errorf("a reversed port range: %v", err)
	}
}

// TestRouteMTU: mtu and advmss on an explicit route read, write and read
// again the same; 0 is refused, as it means none.
func TestRouteMTU(t *testing.T) {
	s, err := Parse("mtu.yaml", []byte("version: 1\nroutes:\n  - {table: 13, to: 10.40.0.0/16, via: 192.168.10.1, mtu: 1400, advmss: 1360}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Intent.Routes[0]; r.MTU != 1400 || r.AdvMSS != 1360 {
		t.Fatalf("route %+v", r)
	}
	out, err := Marshal(s)
	if err != nil || !strings.Contains(string(out), "mtu: 1400") || !strings.Contains(string(out), "advmss: 1360") {
		t.Fatalf("written (%v):\n%s", err, out)
	}
	if again, err := Parse("again.yaml", out); err != nil || again.Intent.Routes[0].MTU != 1400 {
		t.Fatalf("read again: %v", err)
	}
	if _, err := Parse("bad.yaml", []byte("version: 1\nroutes:\n  - {table: 13, to: 10.40.0.0/16, via: 192.168.10.1, mtu: 0}\n")); err == nil || !strings.Contains(err.Error(), "routes[0].mtu: 0 means no mtu") {
		t.Errorf("mtu 0: %v", err)
	}
}
