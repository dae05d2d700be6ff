package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// ipRule is a rule as `ip -j rule` prints it.
type ipRule struct {
	Priority int    `json:"priority"`
	Src      string `json:"src"`
	Fwmark   string `json:"fwmark"`
	Table    string `json:"table"`
	Protocol string `json:"protocol"`
}

// ipRoute is a route as `ip -j route` prints it.
type ipRoute struct {
	Dst      string `json:"dst"`
	Gateway  string `json:"gateway"`
	Dev      string `json:"dev"`
	Metric   int    `json:"metric"`
	Protocol string `json:"protocol"`
}

func isNictab(proto string) bool { return proto == "nictab" || proto == "201" }

// applyAndKeep previews the pending edits, applies them and keeps them.
func applyAndKeep(t *testing.T, x *tmuxTUI, plan ...string) {
	t.Helper()
	x.press("p")
	s := x.waitScreen(5*time.Second, plan...)
	t.Logf("capture-pane, preview:\n%s", s)
	x.press("a")
	keep(t, x)
}

// keep answers y once the confirm dialog takes answers: while the change
// is still going out, the dialog refuses every key.
func keep(t *testing.T, x *tmuxTUI) {
	t.Helper()
	x.waitScreen(10*time.Second, "Keep these changes? Reverting in")
	deadline := time.Now().Add(10 * time.Second)
	for {
		x.press("y")
		time.Sleep(200 * time.Millisecond)
		s := x.screen()
		if strings.Contains(s, "Kept") && strings.Contains(s, "Saved as snapshot") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change was not kept:\n%s", s)
		}
	}
	x.press("Escape")
	x.waitScreen(5*time.Second, "nictab » NICs ")
}

// TestTUIEditRuleAndRoute: a new table, a fwmark rule and a route with a
// metric, all typed on screen into the real binary, applied as one plan,
// kept, and read back from the kernel.
func TestTUIEditRuleAndRoute(t *testing.T) {
	c := newCLI(t)
	x := startTUI(t, c, 80, 24, []string{"NO_COLOR=1", "TERM=xterm-256color"})
	x.waitScreen(5*time.Second, "eno1", "enp2s0", "Tables", "Rules")
	x.press("Tab")
	x.waitScreen(3*time.Second, "[Tables]")
	x.press("n")
	x.waitScreen(3*time.Second, "New table")
	x.typeText("13")
	x.press("Tab")
	x.typeText("vpn")
	x.waitScreen(3*time.Second, "creates table 13 vpn")
	x.press("Enter")
	x.waitScreen(3*time.Second, "13 vpn            0       0          new")

	x.press("Tab")
	x.waitScreen(3*time.Second, "[Rules]")
	x.press("n")
	x.waitScreen(3*time.Second, "New rule")
	x.press("Up")
	x.typeText("1100")
	x.press("Tab", "Tab", "Tab", "Tab", "Tab")
	x.typeText("0x13")
	x.press("Tab")
	x.typeText("vpn")
	x.waitScreen(3*time.Second, "adds the rule: 1100: from all fwmark 0x13 lookup 13")
	x.press("Enter")
	x.waitScreen(3*time.Second, "2 unapplied edits")

	x.press("BTab")
	x.waitScreen(3*time.Second, "[Tables]")
	x.press("Enter")
	x.waitScreen(3*time.Second, "Routes of table 13 vpn", "none yet")
	x.press("n")
	x.waitScreen(3*time.Second, "New route in table 13 vpn")
	x.typeText("10.40.0.0/16")
	x.press("Tab")
	x.typeText("192.168.10.1")
	x.press("Tab")
	x.typeText("eno1")
	x.press("Tab", "Tab", "Tab")
	x.typeText("70")
	x.press("Tab", "Tab")
	x.typeText("1400")
	x.waitScreen(3*time.Second, "adds the route: 10.40.0.0/16 via 192.168.10.1 dev eno1 metric 70 mtu")
	x.press("Enter")
	x.waitScreen(3*time.Second, "3 unapplied edits")
	applyAndKeep(t, x, "+4 to add", "+ name  13 vpn", "fwmark 0x13", "10.40.0.0/16 via 192.168.10.1 dev eno1")

	var rules []ipRule
	c.ns.JSON(&rules, "rule", "show")
	var rules6 []ipRule
	c.ns.JSON(&rules6, "-6", "rule", "show")
	for fam, rs := range map[string][]ipRule{"IPv4": rules, "IPv6": rules6} {
		if !slices.ContainsFunc(rs, func(r ipRule) bool {
			return r.Priority == 1100 && r.Fwmark == "0x13" && (r.Table == "vpn" || r.Table == "13") && isNictab(r.Protocol)
		}) {
			t.Fatalf("ip -j %s rule lacks 1100: fwmark 0x13 lookup vpn proto nictab: %+v", fam, rs)
		}
	}
	var routes []ipRoute
	c.ns.JSON(&routes, "route", "show", "table", "13")
	if !slices.ContainsFunc(routes, func(r ipRoute) bool {
		return r.Dst == "10.40.0.0/16" && r.Gateway == "192.168.10.1" && r.Dev == "eno1" && r.Metric == 70 && isNictab(r.Protocol)
	}) {
		t.Fatalf("ip -j route show table 13 lacks 10.40.0.0/16 via 192.168.10.1 dev eno1 metric 70 proto nictab: %+v", routes)
	}
	mustContain(t, "rt_tables.d/nictab.conf", c.routing(), "13\tvpn")
	mustContain(t, "ip route show table 13", c.ns.IP("route", "show", "table", "13"), "10.40.0.0/16 via 192.168.10.1 dev eno1 proto nictab metric 70 mtu 1400")

	// The rule is nictab's now: edited in place on screen, it moves.
	x.waitScreen(5*time.Second, "13 vpn            2       1          nictab")
	x.press("Tab")
	x.waitScreen(3*time.Second, "[Rules]")
	x.typeText("/0x13")
	x.press("Enter")
	x.press("e")
	x.waitScreen(3*time.Second, "Edit rule 1100: from all fwmark 0x13 lookup 13")
	x.press("C-u")
	x.typeText("1200")
	x.press("Enter")
	x.waitScreen(3*time.Second, "→change")
	applyAndKeep(t, x, "~2 to change", "→  1200: from all fwmark 0x")
	c.ns.JSON(&rules, "rule", "show")
	prios := map[int]bool{}
	for _, r := range rules {
		if r.Fwmark == "0x13" {
			prios[r.Priority] = true
		}
	}
	if !prios[1200] || prios[1100] {
		t.Fatalf("after the edit the fwmark rule is at %v, want 1200 alone: %+v", prios, rules)
	}

	// The route is deleted on the routes screen, and is gone from table 13.
	x.press("BTab")
	x.waitScreen(3*time.Second, "[Tables]")
	x.press("Enter")
	x.waitScreen(3*time.Second, "Routes of table 13 vpn", "10.40.0.0/16 via 192.168.10.1 dev eno1")
	x.press("d")
	x.waitScreen(3*time.Second, "deleted when applied", "delete")
	applyAndKeep(t, x, "-1 to delete", "- route 10.40.0.0/16 via 192.168.10.1 dev eno1 metric 70 mtu 1400")
	c.ns.JSON(&routes, "route", "show", "table", "13")
	if len(routes) != 0 {
		t.Fatalf("table 13 still holds %+v", routes)
	}
	quit(t, x)
}

// TestTUIDeleteTable: a NIC's gateway changed and its table renamed on
// screen, each read back; then the table deleted takes its rules and
// routes with it, and the kernel holds none of them after.
func TestTUIDeleteTable(t *testing.T) {
	c := newCLI(t)
	before := c.ns.Routing()
	x := startTUI(t, c, 80, 24, []string{"NO_COLOR=1", "TERM=xterm-256color"})
	assignEno1(x)
	keep(t, x)
	mustContain(t, "ip rule", c.ns.IP("rule", "show"), "lookup vpn proto nictab")

	// A new gateway, through the assign form.
	x.waitScreen(5*time.Second, "13 vpn (nictab)")
	x.press("a")
	x.waitScreen(3*time.Second, "assign eno1")
	x.press("Tab")
	x.typeText("192.168.10.3")
	x.press("Enter")
	x.waitScreen(3*time.Second, "1 unapplied edit")
	applyAndKeep(t, x, "~1 to change", "→  default via 192.168.10.3 dev en")
	mustContain(t, "ip route show table 13", c.ns.IP("route", "show", "table", "13"), "default via 192.168.10.3 dev eno1 proto nictab")

	// A new name.
	x.press("Tab")
	x.waitScreen(3*time.Second, "[Tables]")
	x.press("e")
	x.waitScreen(3*time.Second, "Rename table 13 vpn")
	x.press("C-u")
	x.typeText("tunnel")
	x.press("Enter")
	x.waitScreen(3*time.Second, "1 unapplied edit")
	applyAndKeep(t, x, "13 tunnel")
	mustContain(t, "rt_tables.d/nictab.conf", c.routing(), "13\ttunnel")
	mustContain(t, "ip rule", c.ns.IP("rule", "show"), "lookup tunnel proto nictab")

	// The tables pane keeps the focus through the apply.
	x.waitScreen(5*time.Second, "13 tunnel (nictab)", "[Tables]")
	x.press("d")
	x.waitScreen(3*time.Second, "goes when applied")
	applyAndKeep(t, x, "-7 to delete", "+0 to add")
	if after := c.ns.Routing(); after != before {
		t.Fatalf("after deleting table 13 the namespace is not as before:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if out := c.ns.IP("route", "show", "table", "13"); strings.TrimSpace(out) != "" {
		t.Fatalf("table 13 still holds routes:\n%s", out)
	}
	quit(t, x)
}

// TestTUIAdoptRule: a rule made by hand, adopted on screen, keeps every
// attribute in the kernel but its protocol.
func TestTUIAdoptRule(t *testing.T) {
	c := newCLI(t)
	c.ns.IP("rule", "add", "pref", "700", "from", "10.9.0.0/24", "fwmark", "0x7/0xff", "lookup", "77")
	strip := func(s string) string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			l = strings.ReplaceAll(l, " proto nictab", "")
			out = append(out, l)
		}
		return strings.Join(out, "\n")
	}
	before := c.ns.IP("rule", "show")
	x := startTUI(t, c, 80, 24, []string{"NO_COLOR=1", "TERM=xterm-256color"})
	x.waitScreen(5*time.Second, "1 rule not nictab's")
	x.press("Tab", "Tab")
	x.waitScreen(3*time.Second, "[Rules]")
	x.typeText("/10.9")
	x.press("Enter")
	x.press("A")
	x.waitScreen(3*time.Second, "moving no packet", "→adopt")
	applyAndKeep(t, x, "~1 to change", "adoption moves no")
	after := c.ns.IP("rule", "show")
	mustContain(t, "ip rule after adoption", after, "700:\tfrom 10.9.0.0/24 fwmark 0x7/0xff lookup 77 proto nictab")
	if strip(after) != before {
		t.Fatalf("adoption changed more than the protocol:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	quit(t, x)
}

// quit leaves the UI with q, and fails if it does not end, or ends badly.
func quit(t *testing.T, x *tmuxTUI) {
	t.Helper()
	x.press("q")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ok, status := x.exited(); ok {
			if status != "0" {
				t.Fatalf("nictab exited with %s", status)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("q did not quit nictab:\n%s", x.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTUIRuleSelectorsAndAction: a rule typed with ipproto, a port and a
// uid range that ends in prohibit, applied and kept, reads back from the
// kernel as typed.
func TestTUIRuleSelectorsAndAction(t *testing.T) {
	c := newCLI(t)
	x := startTUI(t, c, 80, 24, []string{"NO_COLOR=1", "TERM=xterm-256color"})
	x.waitScreen(5*time.Second, "eno1", "enp2s0", "Rules")
	x.press("Tab", "Tab")
	x.waitScreen(3*time.Second, "[Rules]")
	x.press("n")
	x.waitScreen(3*time.Second, "New rule")
	x.press("Up")
	x.typeText("1300")
	x.press("Tab", "Tab")
	x.typeText("203.0.113.0/24")
	x.press("Tab", "Tab", "Tab", "Tab", "Tab")
	x.typeText("prohibit")
	x.press("Tab")
	x.typeText("tcp")
	x.press("Tab", "Tab")
	x.typeText("443")
	x.press("Tab")
	x.typeText("1000-1999")
	x.waitScreen(3*time.Second, "adds the rule: 1300: from all to 203.0.113.0/24 uidrange")
	x.press("Enter")
	x.waitScreen(3*time.Second, "1 unapplied edit", "→new")
	applyAndKeep(t, x, "+1 to add", "rules that look up no table", "1300: from all to 203.0.113.0/24 uidrange 1000-1999")
	mustContain(t, "ip rule", c.ns.IP("rule", "show"), "1300:\tfrom all to 203.0.113.0/24 uidrange 1000-1999 ipproto tcp dport 443 prohibit proto nictab")
	// ip -j names the fields; the uid range is in the text above.
	type jrule struct {
		Priority int    `json:"priority"`
		Dst      string `json:"dst"`
		Action   string `json:"action"`
		IPProto  string `json:"ipproto"`
		DPort    int    `json:"dport"`
	}
	var rules []jrule
	c.ns.JSON(&rules, "rule", "show")
	if !slices.ContainsFunc(rules, func(r jrule) bool {
		return r.Priority == 1300 && r.Dst == "203.0.113.0" && r.Action == "prohibit" && r.IPProto == "tcp" && r.DPort == 443
	}) {
		t.Fatalf("ip -j rule: %+v", rules)
	}
	quit(t, x)
}

// TestTUIUnassign: d on a NIC nictab manages takes its rules and routes
// away; the kernel's rules and routes are as before the assignment.
func TestTUIUnassign(t *testing.T) {
	c := newCLI(t)
	before := c.ns.Routing()
	x := startTUI(t, c, 80, 24, []string{"NO_COLOR=1", "TERM=xterm-256color"})
	assignEno1(x)
	keep(t, x)
	x.waitScreen(5*time.Second, "13 vpn (nictab)")
	x.press("d")
	x.waitScreen(3*time.Second, "back to main")
	applyAndKeep(t, x, "-6 to delete")
	if after := c.ns.Routing(); after != before {
		t.Fatalf("after unassigning eno1 the namespace is not as before:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	quit(t, x)
}
