package netcfg_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

func TestResolveRuleSelectors(t *testing.T) {
	live := sandboxLive(t)
	t13 := netcfg.TableRef{ID: 13}
	in := netcfg.Intent{Rules: []netcfg.RuleIntent{
		{Priority: 1100, Not: true, From: netip.MustParsePrefix("10.8.0.0/24"), DSCP: &netcfg.DSCPMatch{Value: 8, Mask: 0x38}, TunID: 1 << 40, Table: t13},
		{Priority: 1110, To: netip.MustParsePrefix("10.9.0.0/16"), Action: netcfg.ActionGoto, Goto: 1200},
		{Priority: 1200, From: netip.MustParsePrefix("10.9.0.0/16"), Tos: 0x10, IPProto: 6, DPort: &netcfg.PortRange{Start: 4096, End: 4096, Mask: 0xf000}, Table: t13},
		{Priority: 1300, FlowLabel: &netcfg.FlowLabel{Value: 0x100, Mask: 0xff00}, Action: netcfg.ActionNop},
	}}
	d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range d.Rules {
		got = append(got, d.Rules[i].Family.String()+" "+netcfg.RuleString(&d.Rules[i]))
	}
	want := []string{
		"inet 1100:\tnot from 10.8.0.0/24 dscp 8/0x38 tun_id 1099511627776 lookup 13 proto 201",
		"inet 1110:\tfrom all to 10.9.0.0/16 goto 1200 proto 201",
		"inet 1200:\tfrom 10.9.0.0/16 tos 0x10 ipproto 6 dport 4096/0xf000 lookup 13 proto 201",
		"inet6 1300:\tfrom all flowlabel 0x100/0xff00 nop proto 201",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestResolveRuleSelectorErrors(t *testing.T) {
	live := sandboxLive(t)
	live.Rules = append(live.Rules, mustRule(t, "pref 2000 from all lookup 99"))
	t13 := netcfg.TableRef{ID: 13}
	v4 := netip.MustParsePrefix("10.8.0.0/24")
	one := func(x netcfg.RuleIntent) netcfg.Intent { return netcfg.Intent{Rules: []netcfg.RuleIntent{x}} }
	cases := []struct {
		name  string
		in    netcfg.Intent
		field string
		msg   string
	}{
		{"tos with dscp", one(netcfg.RuleIntent{Tos: 0x10, DSCP: &netcfg.DSCPMatch{Value: 4, Mask: 0x3f}, Table: t13}), "rules[0].tos", "give one"},
		{"tos ECN", one(netcfg.RuleIntent{Tos: 0x11, Table: t13}), "rules[0].tos", "ECN"},
		{"tos beyond IPv4", one(netcfg.RuleIntent{From: v4, Tos: 0x20, Table: t13}), "rules[0].tos", "IPv4"},
		{"dscp 64", one(netcfg.RuleIntent{DSCP: &netcfg.DSCPMatch{Value: 64, Mask: 0x3f}, Table: t13}), "rules[0].dscp", "0-63"},
		{"dscp off mask", one(netcfg.RuleIntent{DSCP: &netcfg.DSCPMatch{Value: 9, Mask: 0x38}, Table: t13}), "rules[0].dscp", "outside mask"},
		{"flowlabel IPv4", one(netcfg.RuleIntent{From: v4, FlowLabel: &netcfg.FlowLabel{Value: 1, Mask: 0xfffff}, Table: t13}), "rules[0].flowlabel", "IPv6"},
		{"flowlabel off mask", one(netcfg.RuleIntent{FlowLabel: &netcfg.FlowLabel{Value: 0x101, Mask: 0xff00}, Table: t13}), "rules[0].flowlabel", "outside mask"},
		{"port mask on range", one(netcfg.RuleIntent{SPort: &netcfg.PortRange{Start: 10, End: 20, Mask: 0xff}, Table: t13}), "rules[0].sport", "one port"},
		{"port off mask", one(netcfg.RuleIntent{SPort: &netcfg.PortRange{Start: 4097, End: 4097, Mask: 0xf000}, Table: t13}), "rules[0].sport", "outside mask"},
		{"goto without target", one(netcfg.RuleIntent{Priority: 1100, Action: netcfg.ActionGoto}), "rules[0].goto", "needs the priority"},
		{"goto backward", one(netcfg.RuleIntent{Priority: 1100, Action: netcfg.ActionGoto, Goto: 1000}), "rules[0].goto", "forward"},
		{"goto to nothing", one(netcfg.RuleIntent{Priority: 1100, Action: netcfg.ActionGoto, Goto: 1500}), "rules[0].goto", "no IPv4 rule has priority 1500"},
		{"goto IPv6 to IPv4 only", one(netcfg.RuleIntent{Priority: 1100, To: netip.MustParsePrefix("2001:db8::/32"), Action: netcfg.ActionGoto, Goto: 2000}), "rules[0].goto", "no IPv6 rule"},
		{"goto on lookup", one(netcfg.RuleIntent{Goto: 1500, Table: t13}), "rules[0].goto", "only for"},
		{"table on nop", one(netcfg.RuleIntent{Action: netcfg.ActionNop, Table: t13}), "rules[0].table", "leave table out"},
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
	// A goto to an unowned live rule, or to a rule of the same intent, is
	// fine.
	ok := netcfg.Intent{Rules: []netcfg.RuleIntent{
		{Priority: 1100, From: v4, Action: netcfg.ActionGoto, Goto: 2000},
		{Priority: 1200, Action: netcfg.ActionGoto, Goto: 1300},
		{Priority: 1300, Table: t13},
	}}
	if _, err := netcfg.Resolve(ok, live, netcfg.DefaultPriorities); err != nil {
		t.Errorf("forward gotos refused: %v", err)
	}
}

func TestIP61Note(t *testing.T) {
	r := mustRule(t, "pref 10 from all ipproto 6 lookup 13")
	if n := netcfg.IP61Note(&r); n != "" {
		t.Errorf("classic rule noted: %q", n)
	}
	r.DSCP = &netcfg.DSCPMatch{Value: 8, Mask: 0x3f}
	r.SPort = &netcfg.PortRange{Start: 4096, End: 4096, Mask: 0xf000}
	want := "  # needs an ip newer than iproute2 6.1, which refuses dscp and drops the mask of sport; nictab writes it over rtnetlink"
	if n := netcfg.IP61Note(&r); n != want {
		t.Errorf("note %q, want %q", n, want)
	}
}

// TestRuleIntentOfSelectors: a rule of someone else's with the newer
// selectors is said by an entry that resolves back to it, owned by
// nictab; what an entry cannot say stays refused.
func TestRuleIntentOfSelectors(t *testing.T) {
	live := sandboxLive(t)
	live.Rules = append(live.Rules, mustRule(t, "pref 2000 from all lookup 99"))
	for _, s := range []string{
		"pref 1500 not from 10.8.0.0/24 dscp 8/0x38 tun_id 42 lookup 13 proto 4",
		"pref 1510 from 10.9.0.0/16 tos 0x10 goto 2000 proto 4",
		"-6 pref 1520 from all flowlabel 0x100/0xff00 nop proto 4",
		"pref 1530 from 10.7.0.0/16 ipproto 6 sport 4096/0xf000 lookup 13 proto 4",
	} {
		r := mustRule(t, s)
		x, ok := netcfg.RuleIntentOf(&r)
		if !ok {
			t.Errorf("%s: no entry says it", s)
			continue
		}
		d, err := netcfg.Resolve(netcfg.Intent{Rules: []netcfg.RuleIntent{x}}, live, netcfg.DefaultPriorities)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		want := r
		want.Proto = netcfg.ProtoNictab
		if len(d.Rules) != 1 || !netcfg.RuleEqual(&d.Rules[0], &want) {
			t.Errorf("%s: resolves to %v", s, d.Rules)
		}
	}
	for _, s := range []string{
		"pref 1600 from all lookup 13 suppress_prefixlength 0",
		"pref 1610 from all dscp 8 lookup 13",
		"pref 1620 from 10.0.0.0/8 lookup 13 realms 3/4",
	} {
		if r := mustRule(t, s); func() bool { _, ok := netcfg.RuleIntentOf(&r); return ok }() {
			t.Errorf("%s: an entry claims to say it", s)
		}
	}
}
