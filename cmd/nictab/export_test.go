package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// savedID applies SPEC.md's file in the sandbox and returns the id of the
// snapshot the apply saved.
func savedID(t *testing.T, c *cli) string {
	t.Helper()
	r := c.run("apply", "-f", writeFile(t, "blog.yaml", specFile), "--yes", "-m", "for export")
	if r.code != 0 {
		t.Fatal(r)
	}
	// The first apply saves the baseline "before nictab" and its own.
	files, err := filepath.Glob(filepath.Join(c.stateDir(), "snapshots", "*.yaml"))
	if err != nil || len(files) != 2 {
		t.Fatalf("snapshots after one apply: %v, %v", files, err)
	}
	_, rest, _ := strings.Cut(r.stdout, "verified. Snapshot ")
	id, _, _ := strings.Cut(rest, " ")
	if _, err := os.Stat(filepath.Join(c.stateDir(), "snapshots", id+".yaml")); err != nil {
		t.Fatalf("apply named snapshot %q: %v\n%s", id, err, r)
	}
	return id
}

// TestExportAfterApply exports what a real apply saved, in every format.
func TestExportAfterApply(t *testing.T) {
	c := newCLI(t)
	id := savedID(t, c)

	// The newest snapshot by default; a namespace is not under networkd,
	// so the scripted flavour, and a note saying so.
	r := c.run("export", "nix")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, "export nix", r.stdout, "From snapshot "+id, "networking.iproute2.rttablesExtraConfig = \"13 vpn\\n14 lan\";",
		`systemd.services.nictab-policy-routing = {`, `"network-addresses-eno1.service"`, "nictab_wait eno1 192.168.10.2", "ip rule add from 192.168.10.2 lookup 13 proto 4 pref 1000 || failed=")
	for _, l := range strings.Split(r.stdout, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") && strings.Contains(l, "networking.interfaces") {
			t.Errorf("the scripted flavour sets networking.interfaces, whose stop step deletes main's routes: %s", l)
		}
	}
	mustContain(t, "export nix stderr", r.stderr, "scripted flavour")

	out := filepath.Join(t.TempDir(), "nictab.nix")
	r = c.run("export", "nix", id, "--flavor", "networkd", "--nixos", "24.05", "-o", out)
	if r.code != 0 || r.stdout != "" {
		t.Fatal(r)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// The apply recorded the NICs' addressing; the unit carries it.
	mustContain(t, out, string(data), `systemd.network.networks."40-eno1" = {`,
		`{ routingPolicyRuleConfig = { From = "192.168.10.2/32"; Table = 13; Priority = 1000; }; }`,
		`address = lib.mkDefault [ "192.168.10.2/24" "2001:db8:10::2/64" ];`, "systemd.network.enable = lib.mkDefault true;",
		"carries the NIC's addressing as nictab saw it")
	for _, mode := range []struct {
		args   []string
		header string
	}{
		{[]string{"--rules-routes-only"}, "rules and routes only"},
		{[]string{"--unit-prefix", "10-"}, "go on the units the configuration already defines"},
	} {
		r := c.run(append([]string{"export", "nix", "--flavor", "networkd"}, mode.args...)...)
		if r.code != 0 {
			t.Fatal(r)
		}
		mustContain(t, strings.Join(mode.args, " "), r.stdout, mode.header)
		if strings.Contains(r.stdout, "address = ") {
			t.Errorf("%v: the module carries addresses:\n%s", mode.args, r.stdout)
		}
	}
	if nix, err := exec.LookPath("nix-instantiate"); err == nil {
		if o, err := exec.Command(nix, "--readonly-mode", "--parse", out).CombinedOutput(); err != nil {
			t.Errorf("nix-instantiate --parse: %v\n%s", err, o)
		}
	}

	dir := t.TempDir()
	if r := c.run("export", "networkd", id, "--unit-prefix", "10-", "-o", dir); r.code != 0 {
		t.Fatal(r)
	}
	drop, err := os.ReadFile(filepath.Join(dir, "network", "10-enp2s0.network.d", "nictab.conf"))
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "drop-in", string(drop), "[RoutingPolicyRule]\nFrom=192.168.20.2/32\nTable=14\nPriority=1010\n")
	if _, err := os.Stat(filepath.Join(dir, "networkd.conf.d", "nictab-export.conf")); err != nil {
		t.Error(err)
	}
	whole := t.TempDir()
	if r := c.run("export", "networkd", id, "--whole-units", "-o", whole); r.code != 0 {
		t.Fatal(r)
	}
	unit, err := os.ReadFile(filepath.Join(whole, "network", "40-eno1.network"))
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "whole unit", string(unit), "[Match]\nName=eno1\n", "Address=192.168.10.2/24\nAddress=2001:db8:10::2/64\n")

	script := filepath.Join(t.TempDir(), "restore.sh")
	if r := c.run("export", "ip", "-o", script); r.code != 0 {
		t.Fatal(r)
	}
	fi, err := os.Stat(script)
	if err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("script %v, %v: want an executable file", fi, err)
	}
}

// TestExportBadInput: an unknown id, a missing or damaged file, an intent
// file, no history and bad flags are bad input, exit 2, with a message.
func TestExportBadInput(t *testing.T) {
	c := newCLI(t)
	id := savedID(t, c)
	saved := filepath.Join(c.stateDir(), "snapshots", id+".yaml")
	good, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	damaged := writeFile(t, "damaged.yaml", strings.Replace(string(good), "192.168.10.2", "192.168.10.3", 1))
	empty := filepath.Join(t.TempDir(), "empty-state")
	for _, x := range []struct {
		args []string
		say  string
	}{
		{[]string{"export", "nix", "zz"}, "no such snapshot"},
		{[]string{"export", "nix", "-f", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml"},
		{[]string{"export", "nix", "-f", damaged}, "checksum"},
		{[]string{"export", "ip", "-f", writeFile(t, "intent.yaml", specFile)}, "no resolved rules"},
		{[]string{"export", "nix", id, "-f", saved}, "not both"},
		{[]string{"export", "nix", "--flavor", "nm"}, "unknown flavour"},
		{[]string{"export", "nix", "--nixos", "24"}, "YY.MM"},
		{[]string{"--state-dir", empty, "export", "networkd"}, "no snapshot history"},
	} {
		r := c.run(x.args...)
		if r.code != 2 || !strings.Contains(r.stderr, x.say) {
			t.Errorf("nictab %s: want exit 2 saying %q, got %s", strings.Join(x.args, " "), x.say, r)
		}
		if r.stdout != "" {
			t.Errorf("nictab %s wrote to stdout:\n%s", strings.Join(x.args, " "), r.stdout)
		}
	}
	if _, err := os.Stat(empty); err == nil {
		t.Error("looking for a snapshot created the state directory")
	}
}
