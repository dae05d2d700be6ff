// Package nstest makes network namespaces for tests: each test gets its own,
// removed when it ends, so no test ever touches the host's routing.
package nstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nictab/nictab/internal/sandbox"
	"github.com/nictab/nictab/netcfg/kernel"
)

var counter atomic.Int64

// RequireRoot skips a test that needs root, except in CI (CI=true), where
// skipping would hide it: there it fails.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("ip"); err != nil {
			t.Fatalf("these tests need iproute2's ip: %v", err)
		}
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root and CI runs as root; it must not skip there")
	}
	t.Skip("needs root (network namespaces)")
}

// NS is a named network namespace made for one test.
type NS struct {
	Name string
	t    testing.TB
}

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), counter.Add(1))
}

// New creates an empty namespace (only lo, up).
func New(t testing.TB) *NS {
	t.Helper()
	RequireRoot(t)
	n := &NS{Name: uniqueName("nt"), t: t}
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", n.Name, err, out)
	}
	t.Cleanup(func() {
		if err := kernel.DeleteNamedNS(n.Name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	n.IP("link", "set", "lo", "up")
	return n
}

// Sandbox creates a namespace shaped like `nictab sandbox`: eno1 and
// enp2s0 with addresses, gateways in a second namespace, and the two
// default routes of main.
func Sandbox(t testing.TB) *NS {
	t.Helper()
	RequireRoot(t)
	n := &NS{Name: uniqueName("ns"), t: t}
	if err := sandbox.Create(n.Name); err != nil {
		t.Fatalf("create sandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := sandbox.Delete(n.Name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return n
}

// Veth adds a veth pair with both ends inside the namespace, the first up
// with the given addresses. It returns the names.
func (n *NS) Veth(name, peer string, addrs ...string) {
	n.t.Helper()
	n.IP("link", "add", name, "type", "veth", "peer", "name", peer)
	for _, a := range addrs {
		args := []string{"addr", "add", a, "dev", name}
		if strings.Contains(a, ":") {
			args = append(args, "nodad")
		}
		n.IP(args...)
	}
	n.IP("link", "set", peer, "up")
	n.IP("link", "set", name, "up")
}

// IPErr runs `ip -n NAME args…` and returns its output and error.
func (n *NS) IPErr(args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"-n", n.Name}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("ip -n %s %s: %v: %s", n.Name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// IP runs `ip -n NAME args…` and fails the test if it fails.
func (n *NS) IP(args ...string) string {
	n.t.Helper()
	out, err := n.IPErr(args...)
	if err != nil {
		n.t.Fatal(err)
	}
	return out
}

// JSON runs `ip -j -n NAME args…` and decodes its output into v.
func (n *NS) JSON(v any, args ...string) {
	n.t.Helper()
	out := n.IP(append([]string{"-j"}, args...)...)
	if strings.TrimSpace(out) == "" {
		out = "[]"
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		n.t.Fatalf("decode ip -j %v: %v\n%s", args, err, out)
	}
}

// Batch feeds lines to `ip -n NAME -batch -`.
func (n *NS) Batch(lines []string) {
	n.t.Helper()
	cmd := exec.Command("ip", "-n", n.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("ip -batch: %v: %s", err, out)
	}
}

// Routing returns every rule and route of the namespace as `ip` prints
// them, to compare a namespace before and after.
func (n *NS) Routing() string {
	n.t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"-4", "rule", "show"}, {"-6", "rule", "show"},
		{"-4", "route", "show", "table", "all"}, {"-6", "route", "show", "table", "all"},
	} {
		b.WriteString("# ip " + strings.Join(args, " ") + "\n")
		b.WriteString(n.IP(args...))
	}
	return b.String()
}
