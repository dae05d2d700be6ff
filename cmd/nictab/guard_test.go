package main

import (
	"strings"
	"testing"
	"time"
)

// dangerFile sends replies from enp2s0's address out of eno1.
const dangerFile = `version: 1
tables: [{id: 13, name: vpn}]
nics:
  - {name: eno1, table: 13}
rules:
  - {priority: 900, from: 192.168.20.2, table: 13}
`

// TestSSHGuard: with SSH_CONNECTION naming a client behind enp2s0, a plan
// that sends its replies out of eno1 is flagged by plan and by apply before
// anything changes, naming the rule; the confirm window is then on by
// default and cannot be turned off without --force.
func TestSSHGuard(t *testing.T) {
	c := newCLI(t)
	c.env = []string{"SSH_CONNECTION=198.51.100.7 51000 192.168.20.2 22"}
	danger := writeFile(t, "danger.yaml", dangerFile)
	safe := writeFile(t, "safe.yaml", specFile)
	before := c.routing()

	r := c.run("plan", "-f", danger)
	mustContain(t, "plan", r.stdout, "DANGER: THIS CHANGE MOVES YOUR SSH SESSION", "rule 900: from 192.168.20.2 lookup 13", "through eno1 via 192.168.10.1")
	if r := c.run("plan", "-f", safe); !strings.Contains(r.stdout, "SSH ok") || strings.Contains(r.stdout, "DANGER") {
		t.Errorf("a safe plan: %s", r)
	}

	r = c.run("apply", "-f", danger, "--yes", "--confirm", "0")
	if r.code != 2 || !strings.Contains(r.stderr, "--force") || c.routing() != before {
		t.Fatalf("--confirm 0 on a dangerous change: %s", r)
	}
	// Unconfirmed, the change reverts.
	r = c.run("apply", "-f", danger, "--yes", "--confirm", "1s")
	if r.code != 3 {
		t.Fatalf("unconfirmed dangerous apply: %s", r)
	}
	if i, j := strings.Index(r.stdout, "DANGER"), strings.Index(r.stdout, "Applied"); i < 0 || j < i {
		t.Errorf("the warning did not come before the change:\n%s", r.stdout)
	}
	if c.routing() != before {
		t.Error("not reverted")
	}
	// Without --confirm, and without a terminal, the window is on all the
	// same: apply waits for `nictab confirm`.
	done := make(chan result)
	go func() { done <- c.run("apply", "-f", danger, "--yes") }()
	var conf result
	waitFor(t, 10*time.Second, "a confirm window", func() bool { conf = c.run("confirm"); return conf.code == 0 })
	if r := <-done; r.code != 0 || !strings.Contains(r.stdout, "Waiting for `nictab --netns "+c.ns.Name+" --state-dir "+c.state+" confirm`") {
		t.Errorf("default window: %s\nconfirm: %s", r, conf)
	}
	if r := c.run("apply", "-f", writeFile(t, "e.yaml", "version: 1\n"), "--yes", "--confirm", "0", "--force"); r.code != 0 {
		t.Fatal(r)
	}
	r = c.run("apply", "-f", danger, "--yes", "--confirm", "0", "--force")
	if r.code != 0 || !strings.Contains(r.stdout, "Snapshot") {
		t.Errorf("--force: %s", r)
	}
}

// TestSSHClientLocal: --ssh-client ADDR,LOCAL traces the replies from the
// server's own address of the session, so a rule that selects on that
// source is seen; bad input is refused with exit 2 and changes nothing.
func TestSSHClientLocal(t *testing.T) {
	c := newCLI(t)
	danger := writeFile(t, "danger.yaml", dangerFile)
	before := c.routing()
	r := c.run("plan", "-f", danger, "--ssh-client", "198.51.100.7,192.168.20.2")
	mustContain(t, "plan --ssh-client ADDR,LOCAL", r.stdout, "SSH session given by --ssh-client: client 198.51.100.7, replies from 192.168.20.2", "DANGER", "rule 900: from 192.168.20.2 lookup 13")
	r = c.run("plan", "-f", danger, "--ssh-client", "198.51.100.7:51000,192.168.20.2:22")
	mustContain(t, "plan --ssh-client with ports", r.stdout, "client 198.51.100.7:51000, replies from 192.168.20.2:22", "DANGER")
	for _, bad := range []string{"198.51.100.7,", "nonsense", "198.51.100.7,2001:db8::1", "0.0.0.0", "198.51.100.7,224.0.0.1", "198.51.100.7,192.168.20.2,x"} {
		r := c.run("apply", "-f", danger, "--yes", "--ssh-client", bad)
		if r.code != 2 || !strings.Contains(r.stderr, "--ssh-client") || !strings.Contains(r.stderr, "ADDR[,LOCAL]") {
			t.Errorf("--ssh-client %q: %s", bad, r)
		}
	}
	if c.routing() != before {
		t.Error("bad --ssh-client changed the namespace")
	}
}
