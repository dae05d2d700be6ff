//go:build linux

package netcfg_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/enginetest"
	"github.com/nictab/nictab/netcfg"
)

// selectorIntent is the spec's intent with explicit rules carrying each
// selector and action an entry can say beyond the classic ones.
func selectorIntent() netcfg.Intent {
	in := enginetest.SpecIntent()
	t13 := netcfg.TableRef{ID: 13}
	in.Rules = []netcfg.RuleIntent{
		{Priority: 1100, Not: true, From: netip.MustParsePrefix("10.8.0.0/24"), DSCP: &netcfg.DSCPMatch{Value: 8, Mask: 0x38}, TunID: 1<<63 + 7, Table: t13},
		{Priority: 1110, To: netip.MustParsePrefix("10.9.0.0/16"), Tos: 0x10, Action: netcfg.ActionGoto, Goto: 1200},
		{Priority: 1120, From: netip.MustParsePrefix("10.7.0.0/16"), IPProto: 6, SPort: &netcfg.PortRange{Start: 4096, End: 4096, Mask: 0xf000},
			DPort: &netcfg.PortRange{Start: 48, End: 48, Mask: 0xfff0}, Action: netcfg.ActionNop},
		{Priority: 1130, FlowLabel: &netcfg.FlowLabel{Value: 0x100, Mask: 0xff00}, DSCP: &netcfg.DSCPMatch{Value: 46, Mask: 0x3f}, Table: t13},
		{Priority: 1200, From: netip.MustParsePrefix("10.9.0.0/16"), TunID: 5, Table: t13},
	}
	return in
}

// TestSelectorRulesApplied: explicit rules with not, tos, dscp, flowlabel,
// port masks, tun_id, goto and nop go through resolve, plan and apply into
// a namespace, and the kernel gives back every attribute, read with
// nictab's decoder and, for what iproute2 6.1 knows, with `ip -j rule`.
func TestSelectorRulesApplied(t *testing.T) {
	e := enginetest.New(t)
	p := e.Plan(selectorIntent())
	if _, err := e.Apply(e.K, p); err != nil {
		t.Fatal(err)
	}
	live, err := e.K.Rules()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range live {
		if r := &live[i]; r.Priority >= 1100 && r.Priority <= 1200 {
			got = append(got, r.Family.String()+" "+netcfg.RuleString(r))
			if len(r.Unmodelled) > 0 || r.Unresolved {
				t.Errorf("rule %s: unmodelled %v, unresolved %v", netcfg.RuleString(r), r.Unmodelled, r.Unresolved)
			}
		}
	}
	want := []string{
		"inet 1100:\tnot from 10.8.0.0/24 dscp 8/0x38 tun_id 9223372036854775815 lookup 13 proto 201",
		"inet 1110:\tfrom all to 10.9.0.0/16 tos 0x10 goto 1200 proto 201",
		"inet 1120:\tfrom 10.7.0.0/16 ipproto 6 sport 4096/0xf000 dport 48/0xfff0 nop proto 201",
		"inet 1200:\tfrom 10.9.0.0/16 tun_id 5 lookup 13 proto 201",
		"inet6 1130:\tfrom all dscp 46 flowlabel 0x100/0xff00 lookup 13 proto 201",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("kernel rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// iproute2 6.1 reads not, tos, tun_id, goto and nop (not dscp,
	// flowlabel or port masks).
	var ipRules []map[string]any
	e.NS.JSON(&ipRules, "rule", "show")
	seen := map[float64]map[string]any{}
	for _, r := range ipRules {
		seen[r["priority"].(float64)] = r
	}
	for prio, keys := range map[float64]map[string]any{
		1100: {"not": nil, "src": "10.8.0.0", "srclen": float64(24), "tun_id": float64(1<<63 + 7), "table": "vpn"},
		1110: {"dst": "10.9.0.0", "dstlen": float64(16), "tos": "0x10", "goto": float64(1200)},
		1120: {"src": "10.7.0.0", "ipproto": "tcp", "nop": nil},
		1200: {"tun_id": float64(5), "table": "vpn"},
	} {
		r, ok := seen[prio]
		if !ok {
			t.Errorf("ip -j rule has no rule %v: %v", prio, ipRules)
			continue
		}
		for k, v := range keys {
			if gv, has := r[k]; !has || gv != v {
				t.Errorf("ip -j rule %v: %s = %v (present %v), want %v", prio, k, gv, has, v)
			}
		}
		if _, unresolved := r["unresolved"]; unresolved {
			t.Errorf("ip -j rule %v is unresolved", prio)
		}
	}
	if again := e.Plan(selectorIntent()); !again.Empty() {
		t.Errorf("second plan is not empty:\n%s", enginetest.PlanText(again))
	}
}

// TestKernelRefusesWhatResolveRefuses: each combination resolve refuses
// is one this kernel refuses too, so the checks are not stricter than the
// kernel without reason.
func TestKernelRefusesWhatResolveRefuses(t *testing.T) {
	e := enginetest.New(t)
	rule := func(s string) *netcfg.Rule {
		r := mustRule(t, s)
		return &r
	}
	both := rule("pref 1300 from all tos 0x10 lookup 13")
	both.DSCP = &netcfg.DSCPMatch{Value: 4, Mask: 0x3f}
	offMask := rule("pref 1301 from all lookup 13")
	offMask.DSCP = &netcfg.DSCPMatch{Value: 9, Mask: 0x38}
	v4Flow := rule("pref 1302 from all lookup 13")
	v4Flow.FlowLabel = &netcfg.FlowLabel{Value: 1, Mask: 0xfffff}
	portOffMask := rule("pref 1303 from all ipproto 6 lookup 13")
	portOffMask.SPort = &netcfg.PortRange{Start: 4097, End: 4097, Mask: 0xf000}
	for name, r := range map[string]*netcfg.Rule{
		"tos and dscp":        both,
		"dscp outside mask":   offMask,
		"IPv4 flowlabel":      v4Flow,
		"port outside mask":   portOffMask,
		"backward goto":       rule("pref 1304 from all goto 1000"),
		"tos with ECN bits":   rule("pref 1305 from all tos 0x11 lookup 13"),
		"IPv4 tos above 0x1e": rule("pref 1306 from all tos 0x20 lookup 13"),
	} {
		if res := e.K.Exec([]netcfg.Op{{Kind: netcfg.OpAddRule, Rule: r}}); res.Failed == nil {
			t.Errorf("%s: the kernel took %s", name, netcfg.RuleString(r))
		}
	}
	// What resolve lets through at the edges the kernel takes.
	v6Tos := rule("-6 pref 1307 from all tos 0xfc lookup 13")
	edge := rule("pref 1308 from all tun_id 18446744073709551615 lookup 13")
	if res := e.K.Exec([]netcfg.Op{{Kind: netcfg.OpAddRule, Rule: v6Tos}, {Kind: netcfg.OpAddRule, Rule: edge}}); res.Failed != nil {
		t.Errorf("the kernel refused: %v", res.Failed)
	}
}

// TestIP61DropsPortMask is why IP61Note speaks of port masks: the ip of
// iproute2 6.1 takes "sport 4096/0xf000" without an error and makes a
// rule for port 4096 alone.
func TestIP61DropsPortMask(t *testing.T) {
	e := enginetest.New(t)
	if out, err := e.NS.IPErr("rule", "add", "pref", "1400", "ipproto", "tcp", "sport", "4096/0xf000", "lookup", "13"); err != nil {
		// A newer iproute2 knows masks: then the note is only careful.
		t.Skipf("this ip knows port masks or refuses them: %v %s", err, out)
	}
	rules, err := e.K.Rules()
	if err != nil {
		t.Fatal(err)
	}
	for i := range rules {
		if r := &rules[i]; r.Priority == 1400 {
			if r.SPort == nil || r.SPort.Mask != 0 || r.SPort.Start != 4096 {
				t.Errorf("ip made %s; this test expects iproute2 6.1's sport 4096 without a mask", netcfg.RuleString(r))
			}
			return
		}
	}
	t.Fatal("no rule 1400")
}
