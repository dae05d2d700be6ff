package main

import (
	"strings"
	"testing"
)

// TestKernelTextEscapedOnce follows a NIC whose name holds an escape
// sequence through the commands that print it: errors, notes, the plan,
// the history, show and trace. Every one shows it escaped exactly once —
// never as the raw sequence, never escaped twice (`\\x1b`).
func TestKernelTextEscapedOnce(t *testing.T) {
	c := newCLI(t)
	const evil = "e\x1b[2J"
	c.ns.Veth(evil, "peer-evil", "192.168.30.2/24")

	check := func(what string, r result, want string) {
		t.Helper()
		out := r.stdout + r.stderr
		if strings.Contains(out, "\x1b") {
			t.Errorf("%s: an escape character reached the output:\n%q", what, out)
		}
		if strings.Contains(out, `\\x1b`) {
			t.Errorf("%s: the name is escaped twice:\n%s", what, out)
		}
		if !strings.Contains(out, want) {
			t.Errorf("%s: the output lacks %q:\n%s", what, want, out)
		}
	}

	missing := writeFile(t, "missing.yaml", "version: 1\nnics:\n  - {name: \"e\\e[2Jx\", table: 14}\n")
	r := c.run("plan", "-f", missing)
	if r.code != 2 {
		t.Errorf("plan of a NIC that is not there: %s", r)
	}
	check("unknown NIC", r, `e\x1b[2Jx`)
	check("the NICs the error lists", r, `, e\x1b[2J`)

	intent := writeFile(t, "evil.yaml", "version: 1\ntables:\n  - {id: 14, name: lan}\nnics:\n  - {name: \"e\\e[2J\", table: 14}\n")
	r = c.run("plan", "-f", intent)
	check("plan", r, `e\x1b[2J`)
	check("the note of a NIC without a gateway", r, `e\x1b[2J needs a gateway`)

	if r = c.run("apply", "-f", intent, "--yes", "-m", "evil"); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	check("apply", r, `e\x1b[2J`)
	check("snapshot list", c.run("snapshot", "list"), `e\x1b[2J→14 lan`)
	check("show", c.run("show"), `e\x1b[2J`)
	check("trace", c.run("trace", "--from", "192.168.30.2", "192.168.30.9"), `e\x1b[2J`)
}
