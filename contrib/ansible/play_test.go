package ansible

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDocs: ansible-doc accepts the documentation of both modules and of
// the role, and it names their options.
func TestDocs(t *testing.T) {
	requireAnsible(t)
	for _, c := range []struct {
		kind, name string
		options    []string
	}{
		{"module", "nictab.routing.apply", []string{"src", "content", "confirm_timeout", "message", "ssh_client", "force", "netns", "state_dir", "executable"}},
		{"module", "nictab.routing.confirm", []string{"snapshot_id", "netns", "state_dir", "executable"}},
		{"role", "nictab.routing.policy_routing", []string{"nictab_snapshot", "nictab_confirm_timeout", "nictab_reachability_argv", "nictab_netns"}},
	} {
		r := ansible(t, "ansible-doc", "-t", c.kind, "--json", c.name)
		if r.code != 0 || strings.Contains(r.stdout, "[WARNING]") || strings.Contains(r.stdout, "ERROR") {
			t.Errorf("ansible-doc %s: %s", c.name, r)
			continue
		}
		var doc map[string]map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Errorf("ansible-doc --json %s: %v\n%s", c.name, err, r.stdout)
			continue
		}
		var opts map[string]any
		if c.kind == "module" {
			d, _ := doc[c.name]["doc"].(map[string]any)
			opts, _ = d["options"].(map[string]any)
		} else {
			eps, _ := doc[c.name]["entry_points"].(map[string]any)
			main, _ := eps["main"].(map[string]any)
			opts, _ = main["options"].(map[string]any)
		}
		for _, o := range c.options {
			if _, ok := opts[o]; !ok {
				t.Errorf("%s: ansible-doc lists no option %s (has %v)", c.name, o, keys(opts))
			}
		}
	}
}

// TestSanity runs the ansible-test sanity tests that need nothing from the
// network (validate-modules, pylint and the like fetch their tools into a
// virtualenv and cannot run offline); ansible-doc is TestDocs.
func TestSanity(t *testing.T) {
	requireAnsible(t)
	args := []string{"sanity", "--local", "--color", "no"}
	for _, x := range []string{"action-plugin-docs", "compile", "empty-init", "future-import-boilerplate",
		"line-endings", "metaclass-boilerplate", "no-assert", "no-basestring", "no-dict-iteritems",
		"no-dict-iterkeys", "no-dict-itervalues", "no-get-exception", "no-illegal-filenames",
		"no-main-display", "no-smart-quotes", "no-unicode-literals", "replace-urlopen", "shebang",
		"symlinks", "use-argspec-type-path", "use-compat-six"} {
		args = append(args, "--test", x)
	}
	// On a copy: ansible-test writes tests/output into the collection.
	dir := filepath.Join(t.TempDir(), "ansible_collections", "nictab")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", filepath.Join("ansible_collections", "nictab", "routing"), dir).CombinedOutput(); err != nil {
		t.Fatalf("copy the collection: %v: %s", err, out)
	}
	// The Python ansible-core runs on, not whichever python3 is first on
	// the PATH.
	v, err := exec.Command("/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])").Output()
	if err != nil {
		t.Fatalf("python3 version: %v", err)
	}
	args = append(args, "--python", strings.TrimSpace(string(v)))
	cmd := exec.Command("ansible-test", args...)
	cmd.Dir = filepath.Join(dir, "routing")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "ERROR") {
		t.Fatalf("ansible-test %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if n := strings.Count(string(out), "Running sanity test"); n != 21 {
		t.Errorf("ran %d sanity tests, want 21:\n%s", n, out)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestSeedPlaybook runs the example playbook on three namespaces as hosts:
// in check and diff mode it changes nothing and shows the plan; for real
// it applies, checks, confirms, and the change stays past its deadline; a
// second run changes nothing.
func TestSeedPlaybook(t *testing.T) {
	requireAnsible(t)
	t.Parallel()
	hs := newHosts(t, 3)
	// The window covers apply, check and confirm on three hosts on a
	// loaded 2-core machine, with room to spare.
	const window = 10
	// The third host has no check command of its own: the role's check is
	// that Ansible reaches it again.
	inv := inventory(t, hs, window, map[string]map[string]any{hs[2].ns.Name: {"nictab_reachability_argv": []string{}}})
	before := routingOf(hs)

	r := ansible(t, "ansible-playbook", "-i", inv, "examples/seed.yml", "--check", "--diff")
	if r.code != 0 {
		t.Fatalf("check mode: %s", r)
	}
	for _, h := range hs {
		a := r.task(t, h.ns.Name, "Apply the routing snapshot with a confirm window")
		if a.Status != "ok" || a.Result["changed"] != true || str(a.Result, "result") != "planned" || a.Result["pending"] != false {
			t.Errorf("%s: check mode apply: %+v", h.ns.Name, a)
		}
		diff, _ := a.Result["diff"].(map[string]any)
		for _, l := range []string{"rule  1000: from 192.168.10.2 lookup 13 vpn", "route default via 192.168.20.1 dev enp2s0", "name  14 lan"} {
			if !strings.Contains(str(diff, "after"), l) || strings.Contains(str(diff, "before"), l) {
				t.Errorf("%s: diff does not add %q: %v", h.ns.Name, l, diff)
			}
		}
		if k := r.task(t, h.ns.Name, "Keep the change"); k.Status != "skipped" {
			t.Errorf("%s: check mode ran confirm: %+v", h.ns.Name, k)
		}
		if ids := snapshotIDs(t, h); len(ids) != 0 {
			t.Errorf("%s: check mode saved snapshots %v", h.ns.Name, ids)
		}
		if _, err := os.Stat(filepath.Join("/etc/netns", h.ns.Name, "iproute2", "rt_tables.d", "nictab.conf")); err == nil {
			t.Errorf("%s: check mode wrote the table names", h.ns.Name)
		}
	}
	if !strings.Contains(r.stdout, "+  rule  1000: from 192.168.10.2 lookup 13 vpn") || !strings.Contains(r.stdout, "--- before: nictab: ") {
		t.Errorf("--diff output does not show the plan:\n%s", r.stdout)
	}
	if now := routingOf(hs); !mapsEqual(now, before) {
		t.Fatalf("check mode changed a namespace:\nbefore %v\nafter %v", before, now)
	}

	start := time.Now()
	r = ansible(t, "ansible-playbook", "-i", inv, "examples/seed.yml")
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	// wait_for_connection resets the connection first, which the local
	// connection cannot do, and says so; any other warning is a fault.
	if w := strings.ReplaceAll(r.stdout, "[WARNING]: Reset is not implemented for this connection", ""); strings.Contains(w, "[WARNING]") {
		t.Errorf("the play warns:\n%s", r.stdout)
	}
	kept := map[string]string{}
	for _, h := range hs {
		a := r.task(t, h.ns.Name, "Apply the routing snapshot with a confirm window")
		id := str(a.Result, "snapshot_id")
		facts, _ := a.Result["ansible_facts"].(map[string]any)
		fact, _ := facts["nictab"].(map[string]any)
		guard, _ := fact["guard"].(map[string]any)
		if a.Result["changed"] != true || a.Result["pending"] != true || id == "" || str(a.Result, "deadline") == "" {
			t.Errorf("%s: apply: %+v", h.ns.Name, a)
		}
		if str(fact, "snapshot_id") != id || str(guard, "status") != "safe" || str(fact, "netns") != h.ns.Name {
			t.Errorf("%s: facts %v: want snapshot %s and the guard's verdict safe", h.ns.Name, fact, id)
		}
		check := "Reachability check (command on the host)"
		if h == hs[2] {
			check = "Reachability check (Ansible reaches the host again)"
		}
		if c := r.task(t, h.ns.Name, check); c.Status != "ok" {
			t.Errorf("%s: %s: %+v", h.ns.Name, check, c)
		}
		k := r.task(t, h.ns.Name, "Keep the change")
		if k.Status != "ok" || k.Result["changed"] != true || str(k.Result, "snapshot_id") != id {
			t.Errorf("%s: confirm: %+v", h.ns.Name, k)
		}
		kept[h.ns.Name] = id
	}
	applied := routingOf(hs)
	r = ansible(t, "ansible-playbook", "-i", inv, "examples/seed.yml")
	if r.code != 0 {
		t.Fatalf("second run: %s", r)
	}
	for _, h := range hs {
		a := r.task(t, h.ns.Name, "Apply the routing snapshot with a confirm window")
		if a.Result["changed"] != false || str(a.Result, "result") != "unchanged" || str(a.Result, "snapshot_id") != kept[h.ns.Name] {
			t.Errorf("%s: second run: %+v", h.ns.Name, a)
		}
		if k := r.task(t, h.ns.Name, "Keep the change"); k.Status != "skipped" {
			t.Errorf("%s: second run confirmed: %+v", h.ns.Name, k)
		}
	}
	if !strings.Contains(r.stdout, "changed=0") || strings.Contains(r.stdout, "changed=1") {
		t.Errorf("second run's recap:\n%s", r.stdout)
	}
	if now := routingOf(hs); !mapsEqual(now, applied) {
		t.Errorf("second run changed a namespace")
	}

	// Past the deadline, a confirmed change is still there.
	time.Sleep(time.Until(start.Add(window*time.Second + time.Second)))
	for _, h := range hs {
		if got := nictabRules(t, h); !sameSet(got, seedRules) {
			t.Errorf("%s: rules after the deadline %v, want %v", h.ns.Name, got, seedRules)
		}
		if b, err := os.ReadFile(filepath.Join("/etc/netns", h.ns.Name, "iproute2", "rt_tables.d", "nictab.conf")); err != nil || !strings.Contains(string(b), "13\tvpn") && !strings.Contains(string(b), "13 vpn") {
			t.Errorf("%s: table names %q (%v)", h.ns.Name, b, err)
		}
		if gw13, gw14 := defaultVia(t, h, "13"), defaultVia(t, h, "14"); gw13 != "192.168.10.1" || gw14 != "192.168.20.1" {
			t.Errorf("%s: default routes of 13 and 14 via %q and %q", h.ns.Name, gw13, gw14)
		}
		if ids := snapshotIDs(t, h); !slices.Contains(ids, kept[h.ns.Name]) {
			t.Errorf("%s: snapshot %s is not in the history %v", h.ns.Name, kept[h.ns.Name], ids)
		}
	}
}

// TestUnconfirmedApplyReverts: an apply no task confirms is live until its
// deadline and reverted after it; a confirm that comes too late fails with
// nictab's message, and so do a snapshot naming a NIC the host lacks and a
// change that moves the SSH session with no confirm window (the guard's
// verdict in the result). None of them leaves a trace in the namespace.
func TestUnconfirmedApplyReverts(t *testing.T) {
	requireAnsible(t)
	t.Parallel()
	hs := newHosts(t, 2)
	inv := inventory(t, hs, 5, nil)
	before := routingOf(hs)

	r := ansible(t, "ansible-playbook", "-i", inv, "testdata/unconfirmed.yml")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	for _, h := range hs {
		bad := r.task(t, h.ns.Name, "A snapshot naming a NIC this host lacks")
		if msg := str(bad.Result, "msg"); bad.Status != "failed" || !strings.HasPrefix(msg, "nictab plan: content:") || !strings.Contains(msg, "eth9") {
			t.Errorf("%s: bad snapshot: %+v", h.ns.Name, bad)
		}
		// The guard's verdict reaches the play, and nictab refuses to
		// move the session with no window to take it back.
		mv := r.task(t, h.ns.Name, "A change that moves the SSH session, without a confirm window")
		doc, _ := mv.Result["nictab"].(map[string]any)
		guard, _ := doc["guard"].(map[string]any)
		if mv.Status != "failed" || !strings.Contains(str(mv.Result, "msg"), "moves or cuts your SSH session") || str(guard, "status") != "moved" || !strings.Contains(str(guard, "message"), "192.168.20.254") {
			t.Errorf("%s: session-moving change with no window: %+v", h.ns.Name, mv)
		}
		a := r.task(t, h.ns.Name, "Apply, and confirm nothing")
		if a.Result["pending"] != true || str(a.Result, "deadline") == "" {
			t.Errorf("%s: apply: %+v", h.ns.Name, a)
		}
		// Inside the window the change is live (a slow machine may have
		// used the window up already; the revert below is checked anyway).
		if inWindow(t, a) {
			if got := nictabRules(t, h); !sameSet(got, seedRules) {
				t.Errorf("%s: rules inside the window %v", h.ns.Name, got)
			}
		}
	}
	waitRouting(t, hs, before, lastDeadline(t, r, hs, "Apply, and confirm nothing").Add(5*time.Second))
	notKept(t, r, hs, "Apply, and confirm nothing")

	r = ansible(t, "ansible-playbook", "-i", inv, "testdata/confirm.yml")
	if r.code == 0 {
		t.Errorf("a confirm after the deadline succeeded: %s", r)
	}
	for _, h := range hs {
		c := r.task(t, h.ns.Name, "Confirm after the deadline")
		if c.Status != "failed" || !strings.Contains(str(c.Result, "msg"), "nictab confirm: no change is waiting for confirmation") {
			t.Errorf("%s: late confirm: %+v", h.ns.Name, c)
		}
	}
	if now := routingOf(hs); !mapsEqual(now, before) {
		t.Errorf("the late confirm changed a namespace")
	}
}

// TestFailedCheckRevertsEveryHost: one host's snapshot has a wrong gateway,
// so its reachability check fails after the apply; the play ends on every
// host before any confirms, and every host is back as before once the
// windows close.
func TestFailedCheckRevertsEveryHost(t *testing.T) {
	requireAnsible(t)
	t.Parallel()
	hs := newHosts(t, 3)
	cut := hs[1].ns.Name
	typo := map[string]any{
		"version": 1,
		"tables":  []map[string]any{{"id": 13, "name": "vpn"}, {"id": 14, "name": "lan"}},
		"nics": []map[string]any{
			{"name": "eno1", "table": 13, "gateway": "192.168.10.99"},
			{"name": "enp2s0", "table": 14},
		},
	}
	// The window must outlast the apply and the check on all three hosts,
	// or the check would run after the revert.
	inv := inventory(t, hs, 10, map[string]map[string]any{cut: {"nictab_snapshot": typo}})
	before := routingOf(hs)

	r := ansible(t, "ansible-playbook", "-i", inv, "examples/seed.yml")
	if r.code == 0 {
		t.Fatalf("the play passed although %s was cut: %s", cut, r)
	}
	for _, h := range hs {
		a := r.task(t, h.ns.Name, "Apply the routing snapshot with a confirm window")
		if a.Result["pending"] != true {
			t.Errorf("%s: apply: %+v", h.ns.Name, a)
		}
		if h.ns.Name == cut && inWindow(t, a) {
			if gw := defaultVia(t, h, "13"); gw != "192.168.10.99" {
				t.Errorf("%s: inside the window table 13 goes via %q, want the typo", cut, gw)
			}
		}
		for _, rec := range r.records {
			if rec.Host == h.ns.Name && strings.HasSuffix(rec.Task, "Keep the change") && rec.Status == "ok" {
				t.Errorf("%s confirmed although the play failed: %+v", h.ns.Name, rec)
			}
		}
	}
	if c := r.task(t, cut, "Reachability check (command on the host)"); c.Status != "failed" {
		t.Errorf("%s: the check passed: %+v", cut, c)
	}
	waitRouting(t, hs, before, lastDeadline(t, r, hs, "Apply the routing snapshot with a confirm window").Add(5*time.Second))
	notKept(t, r, hs, "Apply the routing snapshot with a confirm window")
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// inWindow reports whether the confirm window of an apply's result is
// still open for a second more.
func inWindow(t *testing.T, a record) bool {
	t.Helper()
	d, err := time.Parse(time.RFC3339Nano, str(a.Result, "deadline"))
	if err != nil {
		t.Errorf("deadline of %+v: %v", a, err)
		return false
	}
	if time.Until(d) < time.Second {
		t.Logf("%s: the window closed before it could be read inside", a.Host)
		return false
	}
	return true
}

// lastDeadline is the latest confirm deadline the task's results name.
func lastDeadline(t *testing.T, r playRun, hs []host, task string) time.Time {
	t.Helper()
	var last time.Time
	for _, h := range hs {
		a := r.task(t, h.ns.Name, task)
		d, err := time.Parse(time.RFC3339Nano, str(a.Result, "deadline"))
		if err != nil {
			t.Fatalf("%s: deadline of %+v: %v", h.ns.Name, a, err)
		}
		if d.After(last) {
			last = d
		}
	}
	return last
}

// notKept checks that no host's history holds the snapshot its apply
// would have been kept as.
func notKept(t *testing.T, r playRun, hs []host, task string) {
	t.Helper()
	for _, h := range hs {
		id := str(r.task(t, h.ns.Name, task).Result, "snapshot_id")
		if ids := snapshotIDs(t, h); id == "" || slices.Contains(ids, id) {
			t.Errorf("%s: the reverted change %q is in the history %v", h.ns.Name, id, ids)
		}
	}
}
