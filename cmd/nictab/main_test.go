package main

import (
	"bytes"
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

// nictabBin is the real binary, built once for the tests that run it as a
// person would: in a namespace, with exit statuses, signals and a detached
// watchdog.
var nictabBin string

func TestMain(m *testing.M) {
	if os.Getenv(fakeSSHDEnv) != "" {
		os.Exit(fakeSSHD(os.Args[1:]))
	}
	nstest.MainWithNictab(m, ".", &nictabBin)
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// cli runs nictab against one namespace and state directory.
type cli struct {
	t     *testing.T
	ns    *nstest.NS
	state string
	env   []string
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, ns: nstest.Sandbox(t), state: filepath.Join(t.TempDir(), "state")}
}

func (c *cli) cmd(args ...string) *exec.Cmd {
	full := append([]string{"--netns", c.ns.Name, "--state-dir", c.state}, args...)
	cmd := exec.Command(nictabBin, full...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), c.env...)
	return cmd
}

// stateDir is the state directory nictab uses for the test's namespace
// under --state-dir c.state.
func (c *cli) stateDir() string { return filepath.Join(c.state, "netns", c.ns.Name) }

// hostCmd runs nictab with exactly args: no --netns or --state-dir added.
func (c *cli) hostCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(nictabBin, args...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), c.env...)
	return cmd
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	return runCmd(c.t, c.cmd(args...))
}

func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return r
}

// writeFile writes a snapshot file for a test and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// specFile is SPEC.md's example snapshot file.
const specFile = `version: 1
comment: openvpn NIC to its own table
tables:
  - {id: 13, name: vpn}
  - {id: 14, name: lan}
nics:
  - name: eno1
    table: 13            # id or name
    gateway: 192.168.10.1  # optional
    select: [from]       # optional: from (default), oif, iif, fwmark
    # fwmark: 0x13       # with select: [fwmark]
    # priority: 1000     # optional, else allocated
  - name: enp2s0
    table: 14
rules: []    # optional explicit extra rules:  {priority, from, to, iif, oif, fwmark, table}
routes: []   # optional explicit extra routes: {table, to, via, dev, src, scope, metric}
`

// routing is the namespace's rules and routes plus nictab's names file:
// everything an apply may change.
func (c *cli) routing() string {
	c.t.Helper()
	names, err := os.ReadFile(filepath.Join("/etc/netns", c.ns.Name, "iproute2/rt_tables.d/nictab.conf"))
	if err != nil && !os.IsNotExist(err) {
		c.t.Fatal(err)
	}
	return c.ns.Routing() + "# names\n" + string(names)
}

// waitFor polls until cond holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s lacks %q:\n%s", what, sub, s)
		}
	}
}
