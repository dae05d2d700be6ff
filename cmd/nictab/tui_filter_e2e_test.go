package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestTUIFilter types filters into the real binary's terminal UI in a
// namespace: the rules pane keeps the rules holding what was typed, esc
// brings back all of them with the cursor where it was, and the NICs
// pane filters by name.
func TestTUIFilter(t *testing.T) {
	c := newCLI(t)
	for i := range 6 {
		c.ns.IP("rule", "add", "from", fmt.Sprintf("10.9.%d.0/24", i), "lookup", "77", "pref", fmt.Sprint(900+i))
	}
	x := startTUI(t, c, 80, 24, nil)
	x.waitScreen(5*time.Second, "enp2s0", "6 rules not nictab's")
	x.press("Tab", "Tab")
	x.waitScreen(3*time.Second, "[Rules]")
	x.typeText("/10.9.3")
	s := x.waitScreen(3*time.Second, "/10.9.3_", "1 of 11", "enter keep filter")
	checkScreen(t, s, 80, 24, "from 10.9.3.0/24 lookup 77")
	for _, gone := range []string{"10.9.1.0/24", "10.9.4.0/24", "lookup 255 local"} {
		if strings.Contains(s, gone) {
			t.Fatalf("the filter /10.9.3 left %q on screen:\n%s", gone, s)
		}
	}
	t.Logf("capture-pane, rules filtered:\n%s", s)
	x.press("Enter")
	x.waitScreen(3*time.Second, "/ filter")
	// esc shows every rule again, the cursor still on the one it was on.
	x.press("Escape")
	s = x.waitScreen(3*time.Second, "10.9.1.0/24", "1-5 of 11")
	if l := screenLine(s, "10.9.3.0/24"); !strings.HasPrefix(l, "> ") {
		t.Fatalf("after esc the cursor left rule 903:\n%s", s)
	}
	if strings.Contains(s, "/10.9.3") {
		t.Fatalf("esc left the filter on screen:\n%s", s)
	}

	x.press("Tab")
	x.waitScreen(3*time.Second, "[NICs]")
	x.typeText("/enp")
	s = x.waitScreen(3*time.Second, "/enp_", "1 of 2", "enp2s0")
	if screenLine(s, "eno1 ") != "" {
		t.Fatalf("the filter /enp left eno1 on screen:\n%s", s)
	}
	// q typed into the filter is a letter, not quit.
	x.typeText("q")
	x.waitScreen(3*time.Second, "/enpq_", "0 of 2")
	if ok, _ := x.exited(); ok {
		t.Fatal("q typed into the filter quit nictab")
	}
	x.press("Escape")
	x.waitScreen(3*time.Second, "eno1", "enp2s0", "2 NICs")
	x.press("q")
	waitFor(t, 5*time.Second, "nictab to quit", func() bool { ok, _ := x.exited(); return ok })
}
