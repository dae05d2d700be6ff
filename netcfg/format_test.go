package netcfg_test

import (
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// TestRuleRoundTrip checks that ParseRule reads back what RuleArgs writes,
// for every selector and action.
func TestRuleRoundTrip(t *testing.T) {
	for _, s := range []string{
		"pref 1000 from 192.168.10.2 lookup 13 proto 201",
		"-6 pref 1000 from 2001:db8::/32 lookup 13",
		"pref 5 not from 10.0.0.0/8 to 10.1.0.0/16 tos 0x10 fwmark 0x13/0xff iif eth0 oif eth1 lookup 100 suppress_prefixlength 0",
		"pref 7 from all uidrange 1000-2000 ipproto 6 sport 1000-2000 dport 443 goto 100",
		"pref 8 from all fwmark 0x0 blackhole",
		"pref 9 from all l3mdev unreachable",
		"pref 10 from all iif lo prohibit suppress_ifgroup 3",
		"pref 11 from all nop",
	} {
		r, err := netcfg.ParseRule(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := netcfg.ParseRule(netcfg.RuleCommand("add", &r)[len("ip rule add "):])
		if err != nil && r.Family == netcfg.V4 {
			t.Fatalf("%s: %v", s, err)
		}
		if r.Family == netcfg.V4 && !netcfg.RuleEqual(&r, &again) {
			t.Errorf("round trip of %q: %q", s, netcfg.RuleString(&again))
		}
	}
}

func TestRouteRoundTrip(t *testing.T) {
	for _, s := range []string{
		"default via 192.168.10.1 dev eno1 table 13 proto 201 scope global",
		"192.168.10.0/24 dev eno1 table 13 proto 201 scope link src 192.168.10.2",
		"2001:db8:10::/64 dev eno1 table 13 proto 201 src 2001:db8:10::2 metric 1024",
		"blackhole 10.0.0.0/8 table 100 proto 4 scope global",
		"unreachable 2001:db8:ff::/48 table 100 metric 5",
		"10.2.0.0/16 table 5 proto 201 scope global nexthop via 192.168.10.1 dev eno1 weight 1 nexthop via 192.168.20.1 dev enp2s0 weight 3",
		"10.3.0.0/16 via 192.168.10.1 dev eno1 table 5 scope global metric 30 onlink",
	} {
		r, err := netcfg.ParseRoute(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := netcfg.ParseRoute(netcfg.RouteString(&r))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if !netcfg.RouteEqual(&r, &again) {
			t.Errorf("round trip of %q: %q", s, netcfg.RouteString(&again))
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"eno1":              "eno1",
		"192.168.10.0/24":   "192.168.10.0/24",
		"eth0.100":          "eth0.100",
		"a b":               "'a b'",
		"$(reboot)":         "'$(reboot)'",
		`it's`:              `'it'\''s'`,
		"":                  "''",
		"x;rm -rf /":        "'x;rm -rf /'",
		"`id`":              "'`id`'",
		"fe80::1%eth0":      "fe80::1%eth0",
		"0x13/0xffffffff":   "0x13/0xffffffff",
		"nic\nwith-newline": "'nic\nwith-newline'",
	} {
		if got := netcfg.ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSafeText(t *testing.T) {
	for in, want := range map[string]string{
		"eno1":               "eno1",
		"uplink \x1b[2J":     `uplink \x1b[2J`,
		"tab\there":          `tab\there`,
		"bell\a":             `bell\a`,
		"back\\slash":        `back\\slash`,
		"héllo":              "héllo",
		"\u009b31m":          `\u009b31m`,
		"\x9b31m":            `\x9b31m`,
		string([]byte{0xff}): `\xff`,
	} {
		got := netcfg.SafeText(in)
		if got != want {
			t.Errorf("SafeText(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(got, "\x1b\a\t\n\r") {
			t.Errorf("SafeText(%q) still holds control characters: %q", in, got)
		}
	}
}

// TestSafeLines: a message keeps its line breaks and tabs (a rule's text
// holds one), and everything else a terminal would act on is escaped, once.
func TestSafeLines(t *testing.T) {
	for in, want := range map[string]string{
		"priority 1000 is taken: 1000:\tfrom all lookup main": "priority 1000 is taken: 1000:\tfrom all lookup main",
		"plan failed\n  step 3: ip route add …":               "plan failed\n  step 3: ip route add …",
		"no NIC named e\x1b[2J\nhere\tnow":                    `no NIC named e\x1b[2J` + "\nhere\tnow",
		"bell\a\ttab":                                         `bell\a` + "\ttab",
	} {
		if got := netcfg.SafeLines(in); got != want {
			t.Errorf("SafeLines(%q) = %q, want %q", in, got, want)
		}
	}
}
