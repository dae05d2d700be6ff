// Package ansible tests the nictab.routing collection: ansible-core runs
// its modules and role against this machine (connection: local), each
// "host" a network namespace shaped like `nictab sandbox`, and the kernel
// of every namespace is read back with `ip -j`.
package ansible

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/nstest"
)

var nictabBin string

func TestMain(m *testing.M) { nstest.MainWithNictab(m, "../../cmd/nictab", &nictabBin) }

// requireAnsible skips without ansible-core, except in CI, which installs
// it (test.sh, .ci/run): there a missing ansible is a failure.
func requireAnsible(t *testing.T) {
	t.Helper()
	nstest.RequireRoot(t)
	for _, p := range []string{"ansible-playbook", "ansible-doc", "ansible-test", "ping"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing; test.sh installs ansible-core and iputils-ping", p)
			}
			t.Skipf("needs %s (apt-get install ansible-core iputils-ping)", p)
		}
	}
}

// host is a namespace standing in for a machine of the inventory.
type host struct {
	ns    *nstest.NS
	state string
}

func newHosts(t *testing.T, n int) []host {
	var hs []host
	for range n {
		hs = append(hs, host{ns: nstest.Sandbox(t), state: filepath.Join(t.TempDir(), "state")})
	}
	return hs
}

// inventory writes the group "gateways" with one host per namespace, all
// connection: local, each with its own nictab_netns and state directory.
// extra adds or overrides variables of single hosts.
func inventory(t *testing.T, hs []host, confirm int, extra map[string]map[string]any) string {
	hosts := map[string]any{}
	for _, h := range hs {
		v := map[string]any{
			"nictab_netns":     h.ns.Name,
			"nictab_state_dir": h.state,
			// Sent inside the sandbox: from the VPN NIC's address to the
			// far side of its gateway, which only a working table 13 reaches.
			"nictab_reachability_argv": []string{"ip", "netns", "exec", h.ns.Name, "ping", "-c1", "-W1", "-I", "192.168.10.2", "192.168.20.1"},
		}
		for k, x := range extra[h.ns.Name] {
			v[k] = x
		}
		hosts[h.ns.Name] = v
	}
	inv := map[string]any{"gateways": map[string]any{
		"hosts": hosts,
		"vars": map[string]any{
			"ansible_connection":         "local",
			"ansible_become":             false,
			"ansible_python_interpreter": "auto_silent",
			"nictab_executable":          nictabBin,
			"nictab_confirm_timeout":     confirm,
			"nictab_ssh_client":          "192.168.20.1",
		},
	}}
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	// JSON is YAML, and the yaml inventory plugin reads it.
	p := filepath.Join(t.TempDir(), "inventory.yml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// record is one task result, as testdata/callback_plugins/record.py writes it.
type record struct {
	Status string         `json:"status"`
	Host   string         `json:"host"`
	Task   string         `json:"task"`
	Result map[string]any `json:"result"`
}

type playRun struct {
	code    int
	stdout  string
	records []record
}

func (r playRun) String() string { return fmt.Sprintf("exit %d\n%s", r.code, r.stdout) }

// task returns host's result of the task whose name ends with name.
func (r playRun) task(t *testing.T, hostName, name string) record {
	t.Helper()
	for _, rec := range r.records {
		if rec.Host == hostName && strings.HasSuffix(rec.Task, name) {
			return rec
		}
	}
	t.Fatalf("no result of task %q on %s:\n%s", name, hostName, r)
	return record{}
}

// ansible runs ansible-playbook (or another ansible command) from
// contrib/ansible, where the collection is, with the recording callback.
func ansible(t *testing.T, command string, args ...string) playRun {
	t.Helper()
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	rec := filepath.Join(tmp, "record.jsonl")
	cmd := exec.Command(command, args...)
	cmd.Dir = here
	cmd.Env = append(os.Environ(),
		"ANSIBLE_COLLECTIONS_PATH="+here,
		"ANSIBLE_CALLBACK_PLUGINS="+filepath.Join(here, "testdata", "callback_plugins"),
		"ANSIBLE_CALLBACKS_ENABLED=record",
		"NICTAB_RECORD="+rec,
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_FORCE_COLOR=0",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(tmp, "local"),
		"ANSIBLE_REMOTE_TEMP="+filepath.Join(tmp, "remote"),
		"ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_HOME="+filepath.Join(tmp, "home"),
		// Ansible refuses to start in a locale that is not UTF-8.
		"LC_ALL=C.UTF-8",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	r := playRun{stdout: out.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", command, err)
	}
	t.Logf("%s %s: exit %d in %.1fs", command, strings.Join(args, " "), r.code, time.Since(start).Seconds())
	b, err := os.ReadFile(rec)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var x record
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("record %q: %v", l, err)
		}
		r.records = append(r.records, x)
	}
	return r
}

// nictabRules are the rules nictab owns in a namespace, read from the
// kernel, as "priority from table" strings.
func nictabRules(t *testing.T, h host) []string {
	t.Helper()
	var out []string
	for _, fam := range []string{"-4", "-6"} {
		var rules []struct {
			Priority int    `json:"priority"`
			Src      string `json:"src"`
			Table    string `json:"table"`
			Protocol string `json:"protocol"`
		}
		h.ns.JSON(&rules, fam, "rule", "show")
		for _, r := range rules {
			if r.Protocol == "nictab" || r.Protocol == "201" {
				out = append(out, fmt.Sprintf("%d from %s lookup %s", r.Priority, r.Src, r.Table))
			}
		}
	}
	return out
}

// seedRules are the rules the seed scenario leaves, as nictabRules gives
// them (ip names the tables from /etc/netns/NAME/iproute2).
var seedRules = []string{
	"1000 from 192.168.10.2 lookup vpn", "1010 from 192.168.20.2 lookup lan",
	"1000 from 2001:db8:10::2 lookup vpn", "1010 from 2001:db8:20::2 lookup lan",
}

// defaultVia is table's IPv4 default gateway in the namespace, read from
// the kernel; "" when there is none.
func defaultVia(t *testing.T, h host, table string) string {
	t.Helper()
	var routes []struct {
		Dst     string `json:"dst"`
		Gateway string `json:"gateway"`
	}
	if _, err := h.ns.IPErr("route", "show", "table", table); err != nil {
		return "" // an empty table does not exist
	}
	h.ns.JSON(&routes, "route", "show", "table", table)
	for _, r := range routes {
		if r.Dst == "default" {
			return r.Gateway
		}
	}
	return ""
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// waitRouting polls until every namespace reads back as want says, or
// the deadline passes.
func waitRouting(t *testing.T, hs []host, want map[string]string, deadline time.Time) {
	t.Helper()
	for {
		var bad []string
		for _, h := range hs {
			if got := h.ns.Routing(); got != want[h.ns.Name] {
				bad = append(bad, h.ns.Name)
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, h := range hs {
				if got := h.ns.Routing(); got != want[h.ns.Name] {
					t.Errorf("%s is not as before the play at %s:\nbefore:\n%s\nnow:\n%s", h.ns.Name, deadline.Format(time.RFC3339), want[h.ns.Name], got)
				}
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func routingOf(hs []host) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[h.ns.Name] = h.ns.Routing()
	}
	return m
}

// snapshotIDs lists the kept snapshots of a host, read with the binary.
func snapshotIDs(t *testing.T, h host) []string {
	t.Helper()
	out, err := exec.Command(nictabBin, "--netns", h.ns.Name, "--state-dir", h.state, "snapshot", "list", "--json").Output()
	if err != nil {
		t.Fatalf("snapshot list: %v", err)
	}
	var rows []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}
