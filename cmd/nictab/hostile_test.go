package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/nictab/nictab/snapshots/format"
)

// treeState is every file under dir with its mode and a hash of its
// content: the state directory's "nothing changed" is this, equal.
func treeState(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", strings.TrimPrefix(p, dir), fi.Mode())
		if fi.Mode().IsRegular() && d.Name() != "lock" {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestHostileInputs runs nictab on hostile files, names, flags and
// environment, and checks for each the exit status, the message, and that
// nothing changed: the namespace's rules, routes and names (read back from
// the kernel), the state directory, and no file made outside it.
func TestHostileInputs(t *testing.T) {
	c := newCLI(t)
	good := writeFile(t, "good.yaml", specFile)
	if r := c.run("apply", "-f", good, "--yes", "-m", "base"); r.code != 0 {
		t.Fatal(r)
	}
	if r := c.run("snapshot", "save", "-m", "second"); r.code != 0 {
		t.Fatal(r)
	}
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	write := func(name, content string) string {
		if err := os.WriteFile(path(name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path(name)
	}
	nic := func(extra string) string {
		return "version: 1\ntables: [{id: 13, name: vpn}]\nnics:\n  - name: eno1\n    table: 13\n" + extra
	}
	fifo := path("fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := func(name string, size int64) string {
		f, err := os.Create(path(name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		return path(name)
	}
	big := sparse("big.yaml", format.MaxFileSize+1)
	zeros := sparse("zeros.yaml", 17<<20)
	// Text the YAML parser would have to read, past its cap: a comment
	// of 2 MiB, and list entries it must parse (quoted), 1.5 MiB of them.
	longText := write("longtext.yaml", "version: 1\ncomment: \""+strings.Repeat("x", 2<<20)+"\"\n")
	var quoted strings.Builder
	quoted.WriteString("version: 1\nroutes:\n")
	for i := 0; quoted.Len() < 3<<19; i++ {
		fmt.Fprintf(&quoted, "  - {table: 100, to: 11.%d.%d.0/24, dev: \"eno1%s\"}\n", i>>8&255, i&255, strings.Repeat("x", 1000))
	}
	quotedList := write("quoted.yaml", quoted.String())
	// 100k routes, one a line, are read; one bad among them is named by
	// its line and column.
	var many strings.Builder
	many.WriteString("version: 1\nroutes:\n")
	for i := range 100_000 {
		to := fmt.Sprintf("%d.%d.%d.0/24", 11+i>>16, i>>8&255, i&255)
		if i == 77_777 {
			to = "11.1.300.0/24"
		}
		fmt.Fprintf(&many, "  - {table: 100, to: %s, via: 192.168.10.1, dev: eno1}\n", to)
	}
	manyRoutes := write("many.yaml", many.String())
	var keys strings.Builder
	keys.WriteString("version: 1\n")
	for i := 0; i < 40000; i++ {
		fmt.Fprintf(&keys, "k%d: 1\n", i)
	}
	manyKeys := write("keys.yaml", keys.String())
	manyValues := write("values.yaml", "version: 1\nrules:\n"+strings.Repeat("- 1\n", 40000))
	nest := write("nest.yaml", "version: 1\nrules: "+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+"\n")
	var blk strings.Builder
	blk.WriteString("version: 1\nrules:\n")
	for i := 1; i < 200; i++ {
		blk.WriteString(strings.Repeat(" ", i) + "a:\n")
	}
	blockNest := write("blocknest.yaml", blk.String())
	laughs := write("laughs.yaml", "version: 1\na: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n")
	bom := write("bom.yaml", "\ufeff"+specFile)

	// A stored snapshot whose checksum line was deleted, and one whose
	// content was changed after it was written: neither may be trusted.
	snaps, err := filepath.Glob(filepath.Join(c.stateDir(), "snapshots", "*.yaml"))
	if err != nil || len(snaps) == 0 {
		t.Fatalf("no snapshot after apply: %v", err)
	}
	stored, err := os.ReadFile(snaps[0])
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(string(stored), "checksum:")
	noSum := strings.Replace(string(stored[:i]), "id: "+strings.TrimSuffix(filepath.Base(snaps[0]), ".yaml"), "id: 000101-000000", 1)
	if err := os.WriteFile(filepath.Join(c.stateDir(), "snapshots", "000101-000000.yaml"), []byte(noSum), 0o600); err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(string(stored), "id: "+strings.TrimSuffix(filepath.Base(snaps[0]), ".yaml"), "id: 000102-000000", 1)
	tampered = strings.Replace(tampered, "table: 13, to: 192.168.10.0/24", "table: 254, to: 10.12.0.0/16", 1)
	if err := os.WriteFile(filepath.Join(c.stateDir(), "snapshots", "000102-000000.yaml"), []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}

	// State directories nictab must refuse.
	open777 := path("open777")
	os.Mkdir(open777, 0o700)
	os.Chmod(open777, 0o777)
	foreign := path("foreign")
	os.Mkdir(foreign, 0o700)
	os.Chown(foreign, 65534, 65534)
	sticky := path("sticky")
	os.Mkdir(sticky, 0o700)
	if err := syscall.Chmod(sticky, 0o1777); err != nil {
		t.Fatal(err)
	}
	target := path("target")
	os.Mkdir(target, 0o700)
	link := filepath.Join(sticky, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	os.Lchown(link, 65534, 65534)
	aFile := write("afile", "x")
	escape := filepath.Join(os.TempDir(), fmt.Sprintf("nictab-escape-%d", os.Getpid()))
	t.Cleanup(func() { os.RemoveAll(escape) })
	dotdot := "../../../../../../.." + escape

	type tc struct {
		name string
		args []string
		env  []string
		host bool // run without the test's --netns/--state-dir
		code int
		msg  string
	}
	cases := []tc{
		// files
		{name: "plan /dev/zero", args: []string{"plan", "-f", "/dev/zero"}, code: 2, msg: "is a character device, not a regular file"},
		{name: "apply /dev/zero", args: []string{"apply", "-f", "/dev/zero", "--yes"}, code: 2, msg: "not a regular file"},
		{name: "plan FIFO", args: []string{"plan", "-f", fifo}, code: 2, msg: "is a FIFO, not a regular file"},
		{name: "plan directory", args: []string{"plan", "-f", dir}, code: 2, msg: "is a directory, not a regular file"},
		{name: "plan missing", args: []string{"plan", "-f", path("nope.yaml")}, code: 2, msg: "no such file or directory"},
		{name: "plan empty", args: []string{"plan", "-f", write("empty.yaml", "")}, code: 2, msg: "the file is empty"},
		{name: "plan 96 MiB and a byte", args: []string{"plan", "-f", big}, code: 2, msg: "more than nictab reads (a snapshot file may be up to 96 MiB)"},
		{name: "plan 17 MiB of NUL", args: []string{"plan", "-f", zeros}, code: 2, msg: "zeros.yaml: holds 17825792 bytes of YAML nictab would have to parse, more than the 1048576"},
		{name: "plan 100k routes, one bad", args: []string{"plan", "-f", manyRoutes}, code: 2, msg: "many.yaml:77780:22: routes[77777].to: \"11.1.300.0/24\" is not a prefix"},
		{name: "plan 2 MiB comment", args: []string{"plan", "-f", longText}, code: 2, msg: "bytes of YAML nictab would have to parse, more than the 1048576"},
		{name: "plan 1.5 MiB of quoted routes", args: []string{"plan", "-f", quotedList}, code: 2, msg: "more than 1048576 bytes of YAML nictab would have to parse"},
		{name: "plan 40,000 keys", args: []string{"plan", "-f", manyKeys}, code: 2, msg: "a mapping with more than 64 keys"},
		{name: "plan 40,000 values", args: []string{"plan", "-f", manyValues}, code: 2, msg: "holds more than 30000 values"},
		{name: "plan [[[ nesting", args: []string{"plan", "-f", nest}, code: 2, msg: "nests deeper than 32 levels"},
		{name: "plan block nesting", args: []string{"plan", "-f", blockNest}, code: 2, msg: "nests deeper than 32 levels"},
		{name: "plan aliases", args: []string{"plan", "-f", laughs}, code: 2, msg: "anchors and aliases are not used"},
		{name: "plan invalid UTF-8", args: []string{"plan", "-f", write("utf8.yaml", "version: 1\ncomment: \xff\xfe\n")}, code: 2, msg: "not valid UTF-8"},
		{name: "plan NUL", args: []string{"plan", "-f", write("nul.yaml", "version: 1\ncomment: a\x00b\n")}, code: 2, msg: "nul.yaml:2:11: the file holds the control character 0x00"},
		{name: "plan ESC", args: []string{"plan", "-f", write("esc.yaml", "version: 1\ncomment: a\x1b[2Jb\n")}, code: 2, msg: "control character 0x1b"},
		{name: "plan two documents", args: []string{"plan", "-f", write("two.yaml", "version: 1\n---\nversion: 1\n")}, code: 2, msg: "a second YAML document"},
		{name: "plan unknown key", args: []string{"plan", "-f", write("unknown.yaml", "version: 1\nrm_rf: true\n")}, code: 2, msg: "rm_rf"},
		{name: "plan table 0", args: []string{"plan", "-f", write("t0.yaml", "version: 1\nnics: [{name: eno1, table: 0}]\n")}, code: 2, msg: "nics[0].table"},
		{name: "plan table main", args: []string{"plan", "-f", write("t254.yaml", "version: 1\nnics: [{name: eno1, table: 254}]\n")}, code: 2, msg: "254"},
		{name: "plan unknown NIC", args: []string{"plan", "-f", write("nonic.yaml", "version: 1\nnics: [{name: eth9, table: 13}]\n")}, code: 2, msg: "eth9"},
		{name: "gateway own address", args: []string{"plan", "-f", write("gwown.yaml", nic("    gateway: 192.168.10.2\n"))}, code: 2, msg: "is the own address of eno1"},
		{name: "gateway network address", args: []string{"plan", "-f", write("gwnet.yaml", nic("    gateway: 192.168.10.0\n"))}, code: 2, msg: "network address of 192.168.10.0/24"},
		{name: "gateway broadcast", args: []string{"apply", "--yes", "-f", write("gwbc.yaml", nic("    gateway: 192.168.10.255\n"))}, code: 2, msg: "broadcast address of 192.168.10.0/24"},
		{name: "gateway multicast", args: []string{"plan", "-f", write("gwmc.yaml", nic("    gateway: 224.0.0.1\n"))}, code: 2, msg: "gateway"},
		{name: "table name with a space", args: []string{"plan", "-f", write("tname.yaml", "version: 1\ntables: [{id: 13, name: 'a b'}]\n")}, code: 2, msg: "no spaces, # or non-ASCII"},
		{name: "apply without --yes off a terminal", args: []string{"apply", "-f", write("t15.yaml", "version: 1\nnics: [{name: eno1, table: 15}]\n")}, code: 2, msg: "pass --yes"},
		{name: "trace --planned /dev/zero", args: []string{"trace", "192.0.2.1", "--planned", "/dev/zero"}, code: 2, msg: "not a regular file"},
		{name: "export -f FIFO", args: []string{"export", "ip", "-f", fifo}, code: 2, msg: "is a FIFO"},
		// A kernel refusal is a failure, not bad input, whatever its text:
		// EINVAL reads "invalid argument", as cobra's flag errors do.
		{name: "kernel EINVAL exits 1", args: []string{"apply", "--yes", "-f", write("einval.yaml", "version: 1\nroutes:\n  - {table: 13, to: 10.9.0.0/16, via: 192.168.10.1, dev: eno1, scope: host}\n")}, code: 1, msg: "(invalid argument); every step before it was undone"},
		// stored files
		{name: "rollback to a file without checksum", args: []string{"rollback", "000101-000000", "--yes"}, code: 2, msg: "has no checksum line"},
		{name: "rollback to a tampered file", args: []string{"rollback", "000102-000000", "--yes"}, code: 2, msg: "does not match the content"},
		{name: "snapshot show without checksum", args: []string{"snapshot", "show", "000101"}, code: 2, msg: "damaged"},
		{name: "snapshot show ../", args: []string{"snapshot", "show", "../../etc/passwd"}, code: 2, msg: "is not a snapshot id"},
		{name: "rollback unknown id", args: []string{"rollback", "991231", "--yes"}, code: 2, msg: "no such snapshot"},
		{name: "prune without asking", args: []string{"snapshot", "prune", "--keep", "1"}, code: 2, msg: "pass --yes"},
		{name: "prune --keep 0", args: []string{"snapshot", "prune", "--keep", "0", "--yes"}, code: 2, msg: "--keep must be 1 or more"},
		// names
		{name: "--netns ../", host: true, args: []string{"--netns", dotdot, "snapshot", "list"}, code: 2, msg: `a name has no "/"`},
		{name: "--netns ../ recover", host: true, args: []string{"--netns", dotdot, "recover"}, code: 2, msg: `a name has no "/"`},
		{name: "--netns empty", host: true, args: []string{"--netns", "", "show"}, code: 2, msg: "names no namespace"},
		{name: "--netns .", host: true, args: []string{"--netns", ".", "show"}, code: 2, msg: "is not a namespace name"},
		{name: "--netns ..", host: true, args: []string{"--netns", "..", "confirm"}, code: 2, msg: "is not a namespace name"},
		{name: "--netns newline", host: true, args: []string{"--netns", "a\nb", "show"}, code: 2, msg: "control character"},
		{name: "--netns too long", host: true, args: []string{"--netns", strings.Repeat("n", 256), "show"}, code: 2, msg: "at most 255 bytes"},
		{name: "--netns missing", host: true, args: []string{"--netns", "nictab-no-such-ns", "--state-dir", c.state, "show"}, code: 2, msg: "does not exist"},
		// flags
		{name: "--state-dir empty", host: true, args: []string{"--state-dir", "", "snapshot", "list"}, code: 2, msg: "--state-dir is empty"},
		{name: "--state-dir newline", host: true, args: []string{"--state-dir", dir + "/a\nb", "persist", "enable", "--systemctl=false"}, code: 2, msg: "control character"},
		{name: "--state-dir world-writable", host: true, args: []string{"--netns", c.ns.Name, "--state-dir", open777, "apply", "-f", good, "--yes"}, code: 2, msg: "is writable by group or others (mode 0777)"},
		{name: "--state-dir foreign owner", host: true, args: []string{"--netns", c.ns.Name, "--state-dir", foreign, "snapshot", "list"}, code: 2, msg: "belongs to uid 65534, not root"},
		{name: "--state-dir link of another user", host: true, args: []string{"--netns", c.ns.Name, "--state-dir", link, "recover"}, code: 2, msg: "(a link) belongs to uid 65534"},
		{name: "--state-dir a file", host: true, args: []string{"--netns", c.ns.Name, "--state-dir", aFile, "snapshot", "list"}, code: 2, msg: "is not a directory"},
		{name: "unknown flag", args: []string{"plan", "--frobnicate"}, code: 2, msg: "Run 'nictab plan --help'"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, msg: "unknown command"},
		{name: "--confirm not a duration", args: []string{"apply", "-f", good, "--confirm", "soon"}, code: 2, msg: "invalid argument"},
		{name: "--steps 0", args: []string{"rollback", "--steps", "0", "--yes"}, code: 2, msg: "--steps"},
		// environment
		{name: "SSH_CONNECTION garbage", args: []string{"plan", "-f", good}, env: []string{"SSH_CONNECTION=$(reboot) ; x y"}, code: 0, msg: "No changes"},
		{name: "BOM is accepted", args: []string{"plan", "-f", bom}, code: 0, msg: "No changes"},
		{name: "XDG_STATE_HOME ignored as root", host: true, args: []string{"--netns", c.ns.Name, "snapshot", "list"}, env: []string{"XDG_STATE_HOME=" + open777}, code: 0, msg: ""},
	}
	routing := c.routing()
	state := treeState(t, c.state)
	for _, k := range cases {
		cmd := c.cmd(k.args...)
		if k.host {
			cmd = c.hostCmd(k.args...)
		}
		cmd.Env = append(cmd.Env, k.env...)
		r := runCmd(t, cmd)
		if r.code != k.code || !strings.Contains(r.stdout+r.stderr, k.msg) {
			t.Errorf("%s: want exit %d and %q, got %s", k.name, k.code, k.msg, r)
		}
		if k.code == 1 && strings.Contains(r.stderr, "--help") {
			t.Errorf("%s: a failure points to --help:\n%s", k.name, r)
		}
		if got := c.routing(); got != routing {
			t.Fatalf("%s changed the namespace:\n%s\nwant:\n%s", k.name, got, routing)
		}
		if got := treeState(t, c.state); got != state {
			t.Fatalf("%s changed the state directory:\n%s\nwant:\n%s", k.name, got, state)
		}
		if _, err := os.Lstat(escape); err == nil {
			t.Fatalf("%s made %s", k.name, escape)
		}
		for _, d := range []string{open777, foreign, target} {
			if ents, _ := os.ReadDir(d); len(ents) > 0 {
				t.Fatalf("%s wrote into %s", k.name, d)
			}
		}
	}
	if len(cases) < 40 {
		t.Errorf("only %d cases", len(cases))
	}
	// prune asks; --yes removes what it listed, never the newest.
	if r := c.run("snapshot", "prune", "--keep", "1", "--yes"); r.code != 0 || !strings.Contains(r.stdout, "Removed 1 snapshots") {
		t.Errorf("prune --yes: %s", r)
	}
	// The baseline "before nictab" is never pruned.
	if r := c.run("snapshot", "list"); r.code != 0 || !strings.Contains(r.stdout, "second") || strings.Contains(r.stdout, "base —") || !strings.Contains(r.stdout, "before nictab") {
		t.Errorf("after prune: %s", r)
	}
}
