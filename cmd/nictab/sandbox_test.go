package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
)

// TestSandboxRemovesOnlyItsOwn: `nictab --state-dir DIR sandbox` used to
// remove DIR whole on exit, the host's history with it when DIR was
// /var/lib/nictab. Now a --state-dir given is kept, with everything in it,
// and without one the sandbox's temporary directory goes.
func TestSandboxRemovesOnlyItsOwn(t *testing.T) {
	nstest.RequireRoot(t)
	name := fmt.Sprintf("hsb%d", os.Getpid())
	dir := filepath.Join(t.TempDir(), "history")
	if err := os.MkdirAll(filepath.Join(dir, "snapshots"), 0o700); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "snapshots", "precious.yaml")
	if err := os.WriteFile(keep, []byte("the host's history\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, (&cli{t: t}).hostCmd("--state-dir", dir, "sandbox", "--name", name, "--", "snapshot", "save", "-m", "in the sandbox"))
	if r.code != 0 {
		t.Fatal(r)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "the host's history\n" {
		t.Errorf("the sandbox removed or changed %s: %q, %v", keep, b, err)
	}
	saved, _ := filepath.Glob(filepath.Join(dir, "netns", name, "snapshots", "*.yaml"))
	if len(saved) != 1 {
		t.Errorf("the sandbox's snapshot is not under %s/netns/%s: %v", dir, name, saved)
	}
	if _, err := os.Stat("/run/netns/" + name); err == nil {
		t.Errorf("namespace %s left behind", name)
	}

	// Without --state-dir: a temporary directory of its own, removed.
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "nictab-sandbox-*"))
	r = runCmd(t, (&cli{t: t}).hostCmd("sandbox", "--name", name, "--", "snapshot", "save"))
	if r.code != 0 {
		t.Fatal(r)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "nictab-sandbox-*"))
	if len(after) > len(before) {
		t.Errorf("temporary state left behind: %s", strings.Join(after, ", "))
	}
}
