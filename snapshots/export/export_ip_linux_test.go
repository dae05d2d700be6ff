//go:build linux

package export

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
)

// runInNS runs a shell script inside the namespace, with the table names
// going to a directory of the test's own: never the host's /etc/iproute2.
func runInNS(t *testing.T, ns *nstest.NS, script, iproute2 string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns.Name, "sh", "-c", script)
	cmd.Env = append(os.Environ(), "IPROUTE2_DIR="+iproute2)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script in %s: %v\n%s", ns.Name, err, out)
	}
}

// TestExportIPRecreatesSnapshot runs the ip export of the sandbox's
// snapshot in a sandbox namespace, twice: the first run must install every
// rule and route nictab would, owned by nictab, and the second change
// nothing.
func TestExportIPRecreatesSnapshot(t *testing.T) {
	ns := nstest.Sandbox(t)
	snap := sandboxSnapshot(t)
	script, err := IP(snap, IPOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	before := ns.Routing()
	runInNS(t, ns, script, dir)
	first := ns.Routing()
	if first == before {
		t.Fatal("the script changed nothing")
	}
	runInNS(t, ns, script, dir)
	if second := ns.Routing(); second != first {
		t.Errorf("a second run changed the namespace:\n--- after one run\n%s\n--- after two\n%s", first, second)
	}
	for _, want := range []string{
		"1000:\tfrom 192.168.10.2 lookup 13 proto 201",
		"1010:\tfrom 192.168.20.2 lookup 14 proto 201",
		"1000:\tfrom 2001:db8:10::2 lookup 13 proto 201",
		"default via 192.168.10.1 dev eno1 table 13 proto 201",
		"192.168.20.0/24 dev enp2s0 table 14 proto 201 scope link src 192.168.20.2",
		"default via 2001:db8:20::1 dev enp2s0 table 14 proto 201 metric 1024",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("missing %q in\n%s", want, first)
		}
	}
	if n := strings.Count(first, "lookup 13 proto 201"); n != 2 {
		t.Errorf("%d rules look up table 13, want 2 (one per family)", n)
	}
	names, err := os.ReadFile(filepath.Join(dir, "rt_tables.d", "nictab.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(names), "13\tvpn\n14\tlan\n") {
		t.Errorf("names file:\n%s", names)
	}
}
