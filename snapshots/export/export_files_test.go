package export

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nictab/nictab/snapshots/format"
)

func TestExportNetworkdGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		snap func(*testing.T) *format.Snapshot
		opts NetworkdOptions
	}{
		{"sandbox.networkd.txt", sandboxSnapshot, NetworkdOptions{}},
		{"vlan.networkd.txt", vlanSnapshot, NetworkdOptions{Units: UnitNames{Prefix: "10-"}}},
		{"hostile.networkd.txt", hostileNetworkdSnapshot, NetworkdOptions{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Version = "0.2.0"
			files, err := Networkd(c.snap(t), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				checkUnitFile(t, f)
			}
			golden(t, c.name, JoinFiles(files))
		})
	}
}

var (
	unitSectionRE = regexp.MustCompile(`^\[(Match|Network|RoutingPolicyRule|Route)\]$`)
	unitKeyRE     = regexp.MustCompile(`^[A-Za-z]+=[!-~]+( [!-~]+)*$`)
)

// checkUnitFile reads a file as systemd does, line by line: nothing may
// hold a control character, every line is a comment, a blank, a known
// section or a Key=value, and no value ends in a backslash, which would
// continue it on the next line.
func checkUnitFile(t *testing.T, f File) {
	t.Helper()
	if strings.HasPrefix(f.Path, "/") || strings.Contains(f.Path, "..") {
		t.Errorf("file path %q leaves the export directory", f.Path)
	}
	for i, l := range strings.Split(strings.TrimSuffix(string(f.Data), "\n"), "\n") {
		switch {
		case hasControl(l):
			t.Errorf("%s:%d: control character in %q", f.Path, i+1, l)
		case l == "", strings.HasPrefix(l, "#"), unitSectionRE.MatchString(l):
		case unitKeyRE.MatchString(l) && !strings.HasSuffix(l, `\`):
		default:
			t.Errorf("%s:%d: not a unit file line: %q", f.Path, i+1, l)
		}
	}
}

func TestExportIPGolden(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		snap func(*testing.T) *format.Snapshot
	}{
		{"sandbox.ip.sh", sandboxSnapshot},
		{"vlan.ip.sh", vlanSnapshot},
		{"hostile.ip.sh", hostileScriptedSnapshot},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := IP(c.snap(t), IPOptions{Version: "0.2.0"})
			if err != nil {
				t.Fatal(err)
			}
			path := golden(t, c.name, got)
			if out, err := exec.Command(sh, "-n", path).CombinedOutput(); err != nil {
				t.Errorf("sh -n %s: %v\n%s", path, err, out)
			}
		})
	}
}

// TestExportIPHostileIsInert runs the hostile script with a fake ip that
// records its arguments: every name must reach ip as one argument, exactly
// as the snapshot has it, and nothing else may run.
func TestExportIPHostileIsInert(t *testing.T) {
	snap := hostileScriptedSnapshot(t)
	script, err := IP(snap, IPOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "ip.log")
	// The fake ip logs each argument on a line of its own, NUL-free, and
	// fails every "rule del" so the delete loops end.
	fake := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\" >>\"$IPLOG\"; done\nprintf '\\n' >>\"$IPLOG\"\ncase \"$*\" in *\"rule del\"*) exit 2;; esac\n"
	for _, name := range []string{"ip", "reboot"} {
		body := fake
		if name == "reboot" {
			body = "#!/bin/sh\necho ran >\"$IPLOG.reboot\"\n"
		}
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "IPLOG="+log, "IPROUTE2_DIR="+filepath.Join(dir, "iproute2"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	if _, err := os.Stat(log + ".reboot"); err == nil {
		t.Fatal("a name ran $(reboot)")
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]bool{}
	for _, a := range strings.Split(string(data), "\x00") {
		args[strings.TrimPrefix(a, "\n")] = true
	}
	for _, n := range snap.Intent.NICs {
		if !args[n.Name] {
			t.Errorf("NIC %q never reached ip as one argument", n.Name)
		}
	}
	names, err := os.ReadFile(filepath.Join(dir, "iproute2", "rt_tables.d", "nictab.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range snap.Resolved.Names {
		if !strings.Contains(string(names), tn.Name) {
			t.Errorf("table name %q missing from the names file:\n%s", tn.Name, names)
		}
	}
}
