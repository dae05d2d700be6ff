package main

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/ui"
)

// TestTUIEditSelectorRules: a rule with not, a dscp under a mask and a
// tun_id, and a goto rule that continues at it, typed on screen into the
// real binary, applied, kept, and read back from the kernel: with
// `ip -j rule` for what iproute2 6.1 knows, with nictab's own decoder
// (show --json) for every attribute.
func TestTUIEditSelectorRules(t *testing.T) {
	c := newCLI(t)
	x := startTUI(t, c, 120, 40, []string{"NO_COLOR=1", "TERM=xterm-256color"})
	x.waitScreen(5*time.Second, "eno1", "enp2s0", "Tables", "Rules")
	x.press("Tab", "Tab")
	x.waitScreen(3*time.Second, "[Rules]")
	x.press("n")
	x.waitScreen(3*time.Second, "New rule")
	x.typeText("10.8.0.0/24")
	x.press("Up")
	x.typeText("1100")
	x.press("Tab", "Tab", "Tab", "Tab", "Tab", "Tab")
	x.typeText("13")
	x.press("Tab", "Tab", "Tab", "Tab", "Tab", "Tab", "Tab")
	x.typeText("yes")
	x.press("Tab", "Tab")
	x.typeText("8/0x38")
	x.press("Tab", "Tab")
	x.typeText("42")
	x.waitScreen(3*time.Second, "adds the rule: 1100: not from 10.8.0.0/24 dscp 8/0x38 tun_id 42 lookup 13.")
	x.press("Enter")
	x.waitScreen(3*time.Second, "1 unapplied edit")

	x.press("n")
	x.waitScreen(3*time.Second, "New rule")
	x.typeText("10.9.0.0/16")
	x.press("Up")
	x.typeText("1050")
	x.press("Tab", "Tab", "Tab", "Tab", "Tab", "Tab", "Tab")
	x.typeText("goto")
	x.press("Tab", "Tab", "Tab", "Tab", "Tab")
	x.typeText("1100")
	x.waitScreen(3*time.Second, "adds the rule: 1050: from 10.9.0.0/16 goto 1100.")
	x.press("Enter")
	x.waitScreen(3*time.Second, "2 unapplied edits")
	x.press("p")
	x.waitScreen(5*time.Second, "+2 to add", "not from 10.8.0.0/24 dscp 8/0x38 tun_id 42 lookup 13", "from 10.9.0.0/16 goto 1100")
	// The equivalent commands say that iproute2 6.1 cannot run the dscp
	// one.
	x.press("c")
	s := x.waitScreen(3*time.Second, "rule add from 10.9.0.0/16 goto 1100 proto 201 pref 1050", "dscp 8/0x38 tun_id 42 lookup 13 proto 201 pref 1100  # needs an ip")
	t.Logf("capture-pane, commands:\n%s", s)
	x.press("a")
	keep(t, x)

	// iproute2 6.1 reads not, tun_id and goto; dscp it does not know.
	var rules []map[string]any
	c.ns.JSON(&rules, "rule", "show")
	byPrio := map[float64]map[string]any{}
	for _, r := range rules {
		byPrio[r["priority"].(float64)] = r
	}
	for prio, want := range map[float64]map[string]any{
		1100: {"not": nil, "src": "10.8.0.0", "srclen": float64(24), "tun_id": float64(42), "table": "13", "protocol": "nictab"},
		1050: {"src": "10.9.0.0", "srclen": float64(16), "goto": float64(1100), "protocol": "nictab"},
	} {
		r, ok := byPrio[prio]
		if !ok {
			t.Fatalf("ip -j rule has no rule %v: %v", prio, rules)
		}
		for k, v := range want {
			if got, has := r[k]; !has || (got != v && !(k == "protocol" && got == "201")) {
				t.Errorf("ip -j rule %v: %s = %v (present %v), want %v", prio, k, got, has, v)
			}
		}
		if _, bad := r["unresolved"]; bad {
			t.Errorf("ip -j rule %v: the goto is unresolved", prio)
		}
	}
	if s := c.ns.IP("-6", "rule", "show"); strings.Contains(s, "1100:") || strings.Contains(s, "1050:") {
		t.Errorf("IPv6 rules made for IPv4 entries:\n%s", s)
	}

	r := c.run("show", "--json")
	var v ui.ShowView
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("show --json: %v\n%s", err, r)
	}
	want := map[uint32]string{
		1100: "not from 10.8.0.0/24 dscp 8/0x38 tun_id 42 lookup 13",
		1050: "from 10.9.0.0/16 goto 1100",
	}
	for _, rv := range v.Rules {
		w, ok := want[rv.Priority]
		if !ok {
			continue
		}
		delete(want, rv.Priority)
		x := netcfg.NewRule()
		x.Family, x.Priority, x.Proto = netcfg.V4, rv.Priority, netcfg.ProtoNictab
		if rv.Priority == 1100 {
			x.Not, x.From, x.Table, x.TunID = true, netip.MustParsePrefix("10.8.0.0/24"), 13, 42
			x.DSCP = &netcfg.DSCPMatch{Value: 8, Mask: 0x38}
		} else {
			x.From, x.Action, x.Goto = netip.MustParsePrefix("10.9.0.0/16"), netcfg.ActionGoto, 1100
		}
		if !netcfg.RuleEqual(&rv.Rule, &x) || rv.Rule.Unresolved || len(rv.Rule.Unmodelled) > 0 {
			t.Errorf("kernel rule %s, want %s", netcfg.RuleString(&rv.Rule), netcfg.RuleString(&x))
		}
		if !strings.Contains(rv.Text, w) {
			t.Errorf("show --json text %q lacks %q", rv.Text, w)
		}
	}
	if len(want) > 0 {
		t.Errorf("show --json lacks rules %v:\n%s", want, r.stdout)
	}
}
