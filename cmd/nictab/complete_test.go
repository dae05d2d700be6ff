package main

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// completion is what `nictab __complete WORDS…` offers: the candidates,
// the descriptions the shells show beside them, and cobra's directive.
type completion struct {
	words     []string
	desc      map[string]string
	directive cobra.ShellCompDirective
}

// complete asks nictab, as a shell's completion script does, for the
// candidates of the last word of a command line run against the test's
// namespace and state directory.
func (c *cli) complete(words ...string) completion {
	c.t.Helper()
	args := append([]string{"__complete", "--netns", c.ns.Name, "--state-dir", c.state}, words...)
	r := runCmd(c.t, c.hostCmd(args...))
	if r.code != 0 {
		c.t.Fatalf("__complete %v: %s", words, r)
	}
	out := completion{desc: map[string]string{}}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		c.t.Fatalf("__complete %v printed no directive:\n%s", words, r.stdout)
	}
	d, err := strconv.Atoi(last[1:])
	if err != nil {
		c.t.Fatalf("__complete %v: directive %q", words, last)
	}
	out.directive = cobra.ShellCompDirective(d)
	for _, l := range lines[:len(lines)-1] {
		word, desc, _ := strings.Cut(l, "\t")
		out.words = append(out.words, word)
		out.desc[word] = desc
	}
	return out
}

func (p completion) has(t *testing.T, what string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(p.words, w) {
			t.Errorf("%s: %q is not offered; got %q", what, w, p.words)
		}
	}
}

func (p completion) lacks(t *testing.T, what string, not ...string) {
	t.Helper()
	for _, w := range not {
		if slices.Contains(p.words, w) {
			t.Errorf("%s: %q is offered; got %q", what, w, p.words)
		}
	}
}

// TestCompletion: shell completion offers the ids of the namespace's
// history, its NICs, its tables by name and by id, and the export
// flavours, read from a real namespace and state directory.
func TestCompletion(t *testing.T) {
	c := newCLI(t)
	// No history yet: no id offered, and nothing made on disk.
	empty := c.complete("snapshot", "show", "")
	if len(empty.words) != 0 {
		t.Errorf("ids offered with no history: %q", empty.words)
	}
	if _, err := os.Stat(c.state); !os.IsNotExist(err) {
		t.Errorf("completion made the state directory %s (%v)", c.state, err)
	}

	if r := c.run("apply", "-f", writeFile(t, "blog.yaml", specFile), "--yes", "-m", "first"); r.code != 0 {
		t.Fatal(r)
	}
	r := c.run("snapshot", "list", "--json")
	var rows []struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	}
	// The apply's snapshot, newest, and the baseline "before nictab".
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("snapshot list --json: %v\n%s", err, r)
	}
	id := rows[0].ID
	c.ns.IP("rule", "add", "from", "10.9.0.0/24", "lookup", "77", "pref", "900")

	for _, words := range [][]string{{"snapshot", "show", ""}, {"rollback", ""}, {"export", "nix", ""}, {"export", "ip", ""}, {"confirm", ""}, {"snapshot", "diff", ""}} {
		p := c.complete(words...)
		p.has(t, strings.Join(words, " "), id)
		if !strings.Contains(p.desc[id], "eno1→13 vpn") {
			t.Errorf("%v: the id's description is %q, not its summary", words, p.desc[id])
		}
		if p.directive&cobra.ShellCompDirectiveNoFileComp == 0 {
			t.Errorf("%v: files are offered beside ids (directive %d)", words, p.directive)
		}
	}
	diff2 := c.complete("snapshot", "diff", id, "")
	diff2.has(t, "snapshot diff ID", "live")
	diff2.lacks(t, "snapshot diff ID", id)
	if p := c.complete("snapshot", "show", id, ""); len(p.words) != 0 {
		t.Errorf("snapshot show ID offers a second argument: %q", p.words)
	}
	// A prefix narrows in the shell; nictab offers the ids all the same.
	c.complete("rollback", id[:4]).has(t, "rollback PREFIX", id)

	nics := c.complete("trace", "192.168.10.5", "--iif", "")
	nics.has(t, "trace --iif", "eno1", "enp2s0")
	nics.lacks(t, "trace --iif", "lo")
	c.complete("trace", "192.168.10.5", "--oif", "").has(t, "trace --oif", "eno1", "enp2s0")
	unit := c.complete("export", "nix", "--unit", "")
	unit.has(t, "export nix --unit", "eno1=", "enp2s0=")
	if unit.directive&cobra.ShellCompDirectiveNoSpace == 0 {
		t.Errorf("export nix --unit NIC= is followed by a space (directive %d)", unit.directive)
	}

	tables := c.complete("show", "--table", "")
	tables.has(t, "show --table", "vpn", "13", "lan", "14", "main", "254", "local", "77")
	if !strings.Contains(tables.desc["vpn"], "13") || !strings.Contains(tables.desc["13"], "vpn") {
		t.Errorf("show --table: vpn is described %q and 13 %q", tables.desc["vpn"], tables.desc["13"])
	}

	c.complete("export", "nix", "--flavor", "").has(t, "export nix --flavor", "networkd", "scripted")
	c.complete("export", "").has(t, "export", "nix", "networkd", "ip")
}

// TestUnknownCommandSuggests: a mistyped command exits 2 with a message
// that names it, offers the command it is close to, and points to
// --help; nothing runs.
func TestUnknownCommandSuggests(t *testing.T) {
	c := newCLI(t)
	before := c.routing()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"shwo"}, `unknown command "shwo" for "nictab"; did you mean "show"?`},
		{[]string{"snapshot", "lst"}, `unknown command "lst" for "nictab snapshot"; did you mean "list"?`},
		{[]string{"rolback", "--steps", "1"}, `unknown command "rolback" for "nictab"; did you mean "rollback"?`},
		{[]string{"export", "nixos"}, `unknown command "nixos" for "nictab export"; did you mean "nix"?`},
		{[]string{"xyzzy"}, `unknown command "xyzzy" for "nictab"`},
	} {
		r := c.run(tc.args...)
		if r.code != exitUsage {
			t.Errorf("nictab %v exited %d, want %d:\n%s", tc.args, r.code, exitUsage, r)
		}
		if !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "--help' for usage") {
			t.Errorf("nictab %v says:\n%s\nwant %q and a pointer to --help", tc.args, r.stderr, tc.want)
		}
		if tc.args[0] == "xyzzy" && strings.Contains(r.stderr, "did you mean") {
			t.Errorf("nictab xyzzy suggests something: %s", r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("nictab %v printed to stdout: %q", tc.args, r.stdout)
		}
	}
	if after := c.routing(); after != before {
		t.Errorf("a mistyped command changed the namespace:\n%s\nwas\n%s", after, before)
	}
}
