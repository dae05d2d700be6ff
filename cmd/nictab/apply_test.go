package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/ui"
)

// TestApplySpecFile: SPEC.md's file applied with --yes gives the rules and
// routes `ip` shows, saves a snapshot, and a second plan exits 0 with
// --detailed-exitcode (4 before the apply).
func TestApplySpecFile(t *testing.T) {
	c := newCLI(t)
	f := writeFile(t, "blog.yaml", specFile)
	if r := c.run("plan", "-f", f, "--detailed-exitcode"); r.code != 4 {
		t.Fatalf("plan before apply: %s", r)
	}
	r := c.run("apply", "-f", f, "--yes", "-m", "first")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, "apply output", r.stdout, "+ rule  1000: from 192.168.10.2 lookup 13 vpn", "ip -n "+c.ns.Name+" rule add from 192.168.10.2 lookup 13 proto 201 pref 1000", "Snapshot ",
		// The counts the plan showed, then the kernel writes (names are none).
		"Plan: 14 to add, 0 to change, 0 to delete", "Applied 14 changes (14 to add, 0 to change, 0 to delete): 12 kernel writes, 2 table names and verified",
		"First change here: the state before it is snapshot")
	mustContain(t, "ip rule", c.ns.IP("rule", "show"), "from 192.168.10.2 lookup vpn proto nictab", "from 192.168.20.2 lookup lan proto nictab")
	mustContain(t, "ip -6 rule", c.ns.IP("-6", "rule", "show"), "from 2001:db8:10::2 lookup vpn proto nictab")
	mustContain(t, "table 13", c.ns.IP("route", "show", "table", "13"), "default via 192.168.10.1 dev eno1 proto nictab")
	mustContain(t, "table 14", c.ns.IP("-6", "route", "show", "table", "14"), "default via 2001:db8:20::1 dev enp2s0 proto nictab")
	if r := c.run("plan", "-f", f, "--detailed-exitcode"); r.code != 0 {
		t.Errorf("second plan: %s", r)
	}
	if r := c.run("snapshot", "list"); r.code != 0 || !strings.Contains(r.stdout, "first") || !strings.Contains(r.stdout, "eno1→13 vpn, enp2s0→14 lan; 4 rules, 8 routes") {
		t.Errorf("snapshot list: %s", r)
	}
	r = c.run("plan", "-f", f, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"changes": []`) {
		t.Errorf("plan --json of an applied file: %s", r)
	}
}

// TestBadSnapshotFilesChangeNothing runs apply on every malformed file of
// the parser's corpus and of the live corpus here: exit 2, a message that
// names file, line and field, and the namespace byte-for-byte unchanged.
func TestBadSnapshotFilesChangeNothing(t *testing.T) {
	c := newCLI(t)
	files, _ := filepath.Glob("../../snapshots/format/testdata/files/bad/*.yaml")
	live, _ := filepath.Glob("testdata/bad/*.yaml")
	files = append(files, live...)
	if len(files) < 25 {
		t.Fatalf("only %d bad files", len(files))
	}
	before := c.routing()
	lineRE := regexp.MustCompile(`\.yaml:\d+(:\d+)?: `)
	for _, f := range files {
		r := c.run("apply", "-f", f, "--yes")
		if r.code != 2 {
			t.Errorf("%s: %s", f, r)
			continue
		}
		msg := r.stderr
		if !strings.Contains(msg, f) || !lineRE.MatchString(msg) {
			t.Errorf("%s: message does not name file and line: %q", f, msg)
		}
		if want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".want"); err == nil {
			for _, l := range strings.Split(string(want), "\n") {
				if field, ok := strings.CutPrefix(l, "field: "); ok && !strings.Contains(msg, field) {
					t.Errorf("%s: message does not name field %s: %q", f, field, msg)
				}
			}
		}
		if strings.Contains(msg, "goroutine ") {
			t.Errorf("%s: a Go stack trace reached the person", f)
		}
	}
	if after := c.routing(); after != before {
		t.Errorf("bad files changed the namespace:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	t.Logf("%d malformed files refused, namespace unchanged", len(files))
}

// TestConfirmWindowCLI: --confirm without `nictab confirm` leaves the
// namespace exactly as before (exit 3); with confirm it stays; a foreground
// process killed with SIGKILL or cut off by a hang-up still reverts.
func TestConfirmWindowCLI(t *testing.T) {
	c := newCLI(t)
	f := writeFile(t, "blog.yaml", specFile)
	before := c.routing()

	r := c.run("apply", "-f", f, "--yes", "--confirm", "1s")
	if r.code != 3 || !strings.Contains(r.stderr, "reverted") {
		t.Fatalf("unconfirmed apply: %s", r)
	}
	if after := c.routing(); after != before {
		t.Fatalf("not reverted:\n%s", after)
	}
	var rows []ui.HistoryRow
	if r := c.run("snapshot", "list", "--json"); json.Unmarshal([]byte(r.stdout), &rows) != nil || len(rows) != 1 || rows[0].Kind != "baseline" || !rows[0].Live {
		t.Errorf("a reverted first apply must leave only the live baseline: %s", r.stdout)
	}

	// Confirmed from a second process while the first waits.
	cmd := c.cmd("apply", "-f", f, "--yes", "--confirm", "20s")
	var wg sync.WaitGroup
	var res result
	wg.Add(1)
	go func() { defer wg.Done(); res = runCmd(t, cmd) }()
	waitFor(t, 10*time.Second, "the change to be live", func() bool { return strings.Contains(c.ns.IP("rule", "show"), "lookup vpn") })
	var conf result
	waitFor(t, 10*time.Second, "confirm to succeed", func() bool { conf = c.run("confirm"); return conf.code == 0 })
	wg.Wait()
	if res.code != 0 || !strings.Contains(res.stdout, "Kept") {
		t.Fatalf("confirmed apply: %s\nconfirm: %s", res, conf)
	}
	applied := c.routing()
	time.Sleep(1200 * time.Millisecond)
	if c.routing() != applied {
		t.Fatal("a confirmed change changed again")
	}

	// One step back is the state before nictab.
	if r := c.run("rollback", "--yes"); r.code != 0 || !strings.Contains(r.stdout, "before nictab") {
		t.Fatalf("rollback to the baseline: %s", r)
	}
	if after := c.routing(); after != before {
		t.Fatalf("rollback to the baseline did not restore the start:\n%s", after)
	}
	empty := writeFile(t, "empty.yaml", "version: 1\n")
	if r := c.run("apply", "-f", empty, "--yes"); r.code != 0 {
		t.Fatal(r)
	}
	if after := c.routing(); after != before {
		t.Fatalf("removing everything did not restore the start:\n%s", after)
	}

	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := c.cmd("apply", "-f", f, "--yes", "--confirm", "2s")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			for sc.Scan() && !strings.Contains(sc.Text(), "Waiting for") {
			}
			if !strings.Contains(c.ns.IP("rule", "show"), "lookup vpn") {
				t.Fatal("the change is not live while waiting")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			waitFor(t, 8*time.Second, "the watchdog to revert", func() bool { return c.routing() == before })
		})
	}
}

// TestTwoAppliesNeverInterleave starts two applies of different files at
// once, many times: the namespace always ends in exactly the state of one
// of them, and an apply that lost the race is refused (locked, or stale).
func TestTwoAppliesNeverInterleave(t *testing.T) {
	c := newCLI(t)
	a := writeFile(t, "a.yaml", bigIntent("eno1", 13, 400))
	b := writeFile(t, "b.yaml", bigIntent("enp2s0", 14, 400))
	empty := writeFile(t, "empty.yaml", "version: 1\n")
	only := map[string]string{}
	for name, f := range map[string]string{"a": a, "b": b} {
		if r := c.run("apply", "-f", f, "--yes"); r.code != 0 {
			t.Fatal(r)
		}
		only[name] = c.routing()
		if r := c.run("apply", "-f", empty, "--yes"); r.code != 0 {
			t.Fatal(r)
		}
	}
	refused := 0
	for i := range 6 {
		var wg sync.WaitGroup
		rs := make([]result, 2)
		for j, f := range []string{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); rs[j] = c.run("apply", "-f", f, "--yes") }()
		}
		wg.Wait()
		state := c.routing()
		ok := 0
		for _, r := range rs {
			switch {
			case r.code == 0:
				ok++
			case strings.Contains(r.stderr, "is applying a change") || strings.Contains(r.stderr, "plan is stale"):
				refused++
			default:
				t.Fatalf("round %d: unexpected failure: %s", i, r)
			}
		}
		// A file is the whole wanted state: whichever apply went last
		// decides it, and nothing of the other may be left over.
		if ok == 0 || (state != only["a"] && state != only["b"]) {
			t.Fatalf("round %d: %d applies succeeded and the state is neither a's nor b's:\n%s", i, ok, state)
		}
		if r := c.run("apply", "-f", empty, "--yes"); r.code != 0 {
			t.Fatal(r)
		}
	}
	t.Logf("%d of 12 concurrent applies were refused", refused)
}

// bigIntent sends nic to table with n extra routes, so applying it takes
// long enough to be interrupted.
func bigIntent(nic string, table, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nnics:\n  - {name: %s, table: %d}\nroutes:\n", nic, table)
	for i := range n {
		fmt.Fprintf(&b, "  - {table: %d, to: 10.%d.%d.0/24, dev: %s}\n", table, 100+i/256, i%256, nic)
	}
	return b.String()
}

// TestAppliedTextCountsAsThePlan holds the outcome's counts, made in one
// walk, to the plan's own (the question's) and to its table names.
func TestAppliedTextCountsAsThePlan(t *testing.T) {
	r := &netcfg.Route{Table: 100, Dst: netip.MustParsePrefix("10.0.0.0/24"), Dev: "eth0"}
	n := &netcfg.TableName{ID: 100, Name: "vpn"}
	old := &netcfg.TableName{ID: 101, Name: "old"}
	p := netcfg.Plan{Changes: []netcfg.Change{
		{Action: netcfg.ChangeAdd, After: netcfg.Object{Route: r}},
		{Action: netcfg.ChangeAdd, After: netcfg.Object{Name: n}},
		{Action: netcfg.ChangeDelete, Before: netcfg.Object{Name: old}},
		{Action: netcfg.ChangeDelete, Before: netcfg.Object{Route: r}},
		{Action: netcfg.ChangeReplace, Before: netcfg.Object{Route: r}, After: netcfg.Object{Route: r}},
		{Action: netcfg.ChangeReplace, Before: netcfg.Object{Name: old}, After: netcfg.Object{Name: n}},
	}}
	want := "Applied 6 changes (" + ui.PlanCounts(&p) + "): 3 kernel writes, 3 table names"
	if got := appliedText(&p, 3); got != want {
		t.Errorf("appliedText = %q; want %q", got, want)
	}
}
