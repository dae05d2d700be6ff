package main

import (
	"strings"
	"testing"
	"time"
)

// specEno1Only is specFile without enp2s0: a later snapshot that took
// enp2s0 out of table 14.
const specEno1Only = `version: 1
tables:
  - {id: 13, name: vpn}
nics:
  - name: eno1
    table: 13
`

// TestTUIConfirmedElsewhere is issue 15's second point on the real binary:
// the TUI rolls back to a snapshot, another shell runs `nictab confirm`
// during the window, and the TUI is answered with n (or y). It must say
// the change was kept, not that a revert failed; and a plan made then,
// assigning only eno1, must leave enp2s0's table 14 alone: the kernel is
// read back after it is applied.
func TestTUIConfirmedElsewhere(t *testing.T) {
	for _, answer := range []string{"n", "y"} {
		t.Run(answer, func(t *testing.T) {
			c := newCLI(t)
			if r := c.run("apply", "-f", writeFile(t, "a.yaml", specFile), "--yes", "-m", "both"); r.code != 0 {
				t.Fatalf("apply A: %s", r)
			}
			if r := c.run("apply", "-f", writeFile(t, "b.yaml", specEno1Only), "--yes", "-m", "eno1 only"); r.code != 0 {
				t.Fatalf("apply B: %s", r)
			}
			if strings.Contains(c.ns.IP("rule", "show"), "lookup lan") {
				t.Fatal("snapshot B left enp2s0's rule")
			}
			x := startTUI(t, c, 80, 24, []string{"TERM=xterm-256color"})
			x.waitScreen(5*time.Second, "eno1", "enp2s0", "Rules")
			x.press("s")
			x.waitScreen(5*time.Second, "History", "both", "eno1 only")
			// The newest is on top; the rollback goes to the one below.
			x.press("j", "R")
			x.waitScreen(5*time.Second, "roll back", "to add")
			x.press("a")
			x.waitScreen(10*time.Second, "applied to", "Reverting in")
			if r := c.run("confirm"); r.code != 0 {
				t.Fatalf("nictab confirm in another shell: %s", r)
			}
			x.press(answer)
			s := x.waitScreen(10*time.Second, "Kept elsewhere")
			for _, bad := range []string{"Revert failed", "recover", "Could not keep"} {
				if strings.Contains(s, bad) {
					t.Fatalf("the dialog ends with %q:\n%s", bad, s)
				}
			}
			mustContain(t, "ip rule after the rollback was kept", c.ns.IP("rule", "show"), "lookup lan")

			// Back on the NICs screen, only eno1 is edited.
			x.press("Escape")
			x.waitScreen(5*time.Second, "History")
			x.press("Escape")
			x.waitScreen(5*time.Second, "nictab » NICs", "14 lan")
			x.press("g", "a")
			x.waitScreen(3*time.Second, "assign eno1", "new table")
			x.press("n")
			x.typeText("15")
			x.press("Tab")
			x.typeText("wan")
			x.waitScreen(3*time.Second, "table 15 wan (new)")
			x.press("Enter")
			x.waitScreen(3*time.Second, "1 unapplied edit")
			x.press("p")
			s = x.waitScreen(5*time.Second, "to delete", "table 15 wan")
			if strings.Contains(s, "lookup 14") && strings.Contains(s, "- rule") {
				t.Fatalf("the preview deletes enp2s0's rule:\n%s", s)
			}
			x.press("a")
			x.waitScreen(10*time.Second, "applied to")
			x.press("y")
			x.waitScreen(10*time.Second, "Kept")
			rules := c.ns.IP("rule", "show")
			mustContain(t, "ip rule after eno1 went to 15", rules, "from 192.168.20.2 lookup lan", "from 192.168.10.2 lookup wan")
			mustContain(t, "ip route show table 14", c.ns.IP("route", "show", "table", "14"), "dev enp2s0")
		})
	}
}
