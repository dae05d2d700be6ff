package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPersistRestoresAfterFlush installs the boot unit into a test folder,
// flushes the namespace's rules and tables as a reboot would, and runs the
// unit's command: the newest snapshot is back, and no new snapshot is made.
func TestPersistRestoresAfterFlush(t *testing.T) {
	c := newCLI(t)
	f := writeFile(t, "blog.yaml", specFile)
	if r := c.run("apply", "-f", f, "--yes"); r.code != 0 {
		t.Fatal(r)
	}
	applied := c.routing()
	sysd := t.TempDir()
	units := filepath.Join(sysd, "system")
	// persist refuses a namespace; the unit is the host's, so write it
	// with the same state directory and run its command in the namespace.
	r := runCmd(t, c.hostCmd("--state-dir", c.state, "persist", "enable", "--unit-dir", units, "--systemd-dir", sysd, "--systemctl=false", "--fix-networkd"))
	if r.code != 0 {
		t.Fatal(r)
	}
	unit, err := os.ReadFile(filepath.Join(units, "nictab-restore.service"))
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "unit", string(unit), "[Service]", "Type=oneshot", "restore --wait", "WantedBy=multi-user.target")
	if b, err := os.ReadFile(filepath.Join(sysd, "networkd.conf.d", "nictab.conf")); err != nil || !strings.Contains(string(b), "ManageForeignRoutingPolicyRules=no") {
		t.Errorf("networkd drop-in: %q, %v", b, err)
	}
	// What a reboot leaves: no policy rules of nictab's, empty tables.
	c.ns.IP("rule", "del", "pref", "1000")
	c.ns.IP("rule", "del", "pref", "1010")
	c.ns.IP("-6", "rule", "flush", "pref", "1000")
	c.ns.IP("-6", "rule", "flush", "pref", "1010")
	for _, fam := range []string{"-4", "-6"} {
		for _, tbl := range []string{"13", "14"} {
			c.ns.IP(fam, "route", "flush", "table", tbl)
		}
	}
	var exec []string
	for _, l := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			// The test's paths hold no spaces, so the words need no quotes.
			exec = strings.Fields(v)
		}
	}
	args := append([]string{"--netns", c.ns.Name}, exec[1:]...)
	r = runCmd(t, c.hostCmd(args...))
	if r.code != 0 || !strings.Contains(r.stdout, "restored snapshot") {
		t.Fatalf("unit command: %s", r)
	}
	if got := c.routing(); got != applied {
		t.Errorf("after restore:\n%s\nwant:\n%s", got, applied)
	}
	// The apply's snapshot and the baseline before it, nothing more.
	if r := c.run("snapshot", "list", "--json"); strings.Count(r.stdout, `"id"`) != 2 {
		t.Errorf("restore recorded a snapshot: %s", r.stdout)
	}
	if r := runCmd(t, c.hostCmd(args...)); r.code != 0 || !strings.Contains(r.stdout, "nothing to do") {
		t.Errorf("second restore: %s", r)
	}
}
