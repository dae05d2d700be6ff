package netcfg_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadNames(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"etc/rt_tables":               "255 local\n254 main\n253 default\n0 unspec\n#1 inr.ruhep\n  \n",
		"etc/rt_tables.d/a.conf":      "13 vpn\n0x20 hexa # trailing comment\nthis is corrupt\n99999999999 toolarge\n",
		"etc/rt_tables.d/nictab.conf": "14\tlan\n",
		"etc/rt_tables.d/ignored.txt": "15 notread\n",
		"usr/rt_tables":               "1 fromusr\n",
		"usr/rt_tables.d/a.conf":      "16 shadowed\n",
		"usr/rt_tables.d/z.conf":      "17 usrextra\n13 override\n",
		"etc/rt_protos":               "2 kernel\n16 dhcp\n",
		"etc/rt_protos.d/nictab.conf": "201 nictab\n",
	})
	n := netcfg.LoadNames(netcfg.NamePaths{Etc: filepath.Join(root, "etc"), Usr: filepath.Join(root, "usr")})
	for id, want := range map[uint32]string{13: "override", 14: "lan", 32: "hexa", 17: "usrextra", 254: "main", 15: "", 16: "", 1: ""} {
		if got := n.TableName(id); got != want {
			t.Errorf("TableName(%d) = %q, want %q", id, got, want)
		}
	}
	if id, ok := n.TableID("lan"); !ok || id != 14 {
		t.Errorf("TableID(lan) = %d, %v", id, ok)
	}
	if n.ProtoName(16) != "dhcp" || n.ProtoName(201) != "nictab" || n.ProtoName(99) != "99" {
		t.Errorf("proto names: %s %s %s", n.ProtoName(16), n.ProtoName(201), n.ProtoName(99))
	}
	if owned := n.OwnedTables(); len(owned) != 1 || owned[0].Name != "lan" {
		t.Errorf("owned = %v", owned)
	}
	joined := strings.Join(n.Warnings, "\n")
	for _, w := range []string{"a.conf:3: malformed line", "out of range"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q lack %q", joined, w)
		}
	}
}

// TestLoadNamesFallsBackToUsr checks iproute2's order: without
// /etc/iproute2/rt_tables, the distribution's file is read.
func TestLoadNamesFallsBackToUsr(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"usr/rt_tables": "42 answer\n"})
	n := netcfg.LoadNames(netcfg.NamePaths{Etc: filepath.Join(root, "etc"), Usr: filepath.Join(root, "usr")})
	if n.TableName(42) != "answer" || len(n.Warnings) != 0 {
		t.Errorf("name = %q, warnings = %v", n.TableName(42), n.Warnings)
	}
}

func TestLoadNamesUnreadable(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"etc/rt_tables.d": ""})
	if err := os.Remove(filepath.Join(root, "etc/rt_tables.d")); err != nil {
		t.Fatal(err)
	}
	// A directory where a file belongs cannot be read as one.
	if err := os.MkdirAll(filepath.Join(root, "etc/rt_tables"), 0o755); err != nil {
		t.Fatal(err)
	}
	n := netcfg.LoadNames(netcfg.NamePaths{Etc: filepath.Join(root, "etc")})
	if len(n.Warnings) == 0 || !strings.Contains(n.Warnings[0], "cannot read") {
		t.Errorf("warnings = %v", n.Warnings)
	}
}

func TestNamesFileNetnsSeedsAndRestores(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"host/rt_tables": "254 main\n", "host/rt_protos": "2 kernel\n"})
	paths := netcfg.NamePaths{Etc: filepath.Join(root, "netns/x/iproute2"), Fallback: filepath.Join(root, "host")}
	nf := netcfg.NamesFile{Paths: paths}
	if got := paths.ReadDir(); got != paths.Fallback {
		t.Errorf("before any write names come from %s, want the host's", got)
	}
	saved, err := nf.Save()
	if err != nil || saved.Existed {
		t.Fatalf("save: %v %v", saved, err)
	}
	if err := nf.Write([]netcfg.TableName{{ID: 13, Name: "vpn"}}); err != nil {
		t.Fatal(err)
	}
	n := netcfg.LoadNames(paths)
	if n.TableName(13) != "vpn" || n.TableName(254) != "main" || n.ProtoName(2) != "kernel" || n.ProtoName(201) != "nictab" {
		t.Errorf("after write: 13=%q 254=%q proto2=%q", n.TableName(13), n.TableName(254), n.ProtoName(2))
	}
	if err := nf.Restore(saved); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(nf.TablesPath()); !os.IsNotExist(err) {
		t.Errorf("restore left %s behind", nf.TablesPath())
	}
}
