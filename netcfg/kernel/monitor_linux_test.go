//go:build linux

package kernel_test

import (
	"errors"
	"os/exec"
	"testing"

	"github.com/nictab/nictab/internal/enginetest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// planWatched detects under a change monitor, resolves and plans in as
// the engine does.
func planWatched(e *enginetest.Engine, in netcfg.Intent) (netcfg.Plan, *netcfg.Watched) {
	e.T.Helper()
	w, err := kernel.DetectWatched(e.K, e.Names(), netcfg.DetectOptions{Tables: []uint32{13, 14}, Owned: true})
	if err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() {
		if err := w.Close(); err != nil {
			e.T.Error(err)
		}
	})
	d, err := netcfg.Resolve(in, w.State, netcfg.DefaultPriorities)
	if err != nil {
		e.T.Fatal(err)
	}
	return w.Plan(d), w
}

func applyWatched(e *enginetest.Engine, p netcfg.Plan, w *netcfg.Watched) (netcfg.ApplyResult, error) {
	return netcfg.Apply(e.K, p, netcfg.ApplyOptions{LoadNames: e.Names, Names: netcfg.NamesFile{Paths: e.Paths}, Watched: w})
}

// TestApplyWatchedQuiet checks that a plan read under a change monitor
// that heard nothing is applied without the stale check's dumps: the
// rules are read once, by the read-back, where a plan without a monitor
// has them read twice.
func TestApplyWatchedQuiet(t *testing.T) {
	e := enginetest.New(t)
	p := e.Plan(enginetest.SpecIntent())
	n := kernel.RuleDumps(e.K)
	if _, err := e.Apply(e.K, p); err != nil {
		t.Fatal(err)
	}
	if got := kernel.RuleDumps(e.K) - n; got != 2 {
		t.Errorf("an apply without a monitor read the rules %d times, want 2 (stale check, read-back)", got)
	}
	p, w := planWatched(e, netcfg.Intent{})
	n = kernel.RuleDumps(e.K)
	res, err := applyWatched(e, p, w)
	if err != nil {
		t.Fatal(err)
	}
	if got := kernel.RuleDumps(e.K) - n; got != 1 {
		t.Errorf("an apply under a quiet monitor read the rules %d times, want 1 (read-back)", got)
	}
	if len(res.Before.OwnedRules()) != 4 || len(res.After.OwnedRules()) != 0 {
		t.Errorf("rules of nictab's before and after: %d and %d, want 4 and 0", len(res.Before.OwnedRules()), len(res.After.OwnedRules()))
	}
}

// probeKernel calls probe before each batch of writes.
type probeKernel struct {
	netcfg.Kernel
	probe func()
}

func (p *probeKernel) Exec(ops []netcfg.Op) netcfg.ExecResult {
	p.probe()
	return p.Kernel.Exec(ops)
}

// TestApplyWatchedClosedBeforeWriting checks that the change monitor is
// closed once the stale check is done, before the first write: open, the
// kernel would queue every route of the change on it.
func TestApplyWatchedClosedBeforeWriting(t *testing.T) {
	e := enginetest.New(t)
	p, w := planWatched(e, enginetest.SpecIntent())
	batches := 0
	k := &probeKernel{Kernel: e.K, probe: func() {
		batches++
		if _, err := kernel.WatchedQuiet(w); err == nil {
			t.Errorf("the change monitor still listened when batch %d was written", batches)
		}
	}}
	if _, err := netcfg.Apply(k, p, netcfg.ApplyOptions{LoadNames: e.Names, Names: netcfg.NamesFile{Paths: e.Paths}, Watched: w}); err != nil {
		t.Fatal(err)
	}
	if batches == 0 {
		t.Fatal("the apply wrote nothing")
	}
}

// TestApplyWatchedStale changes the namespace between a plan read under
// a change monitor and its apply: the monitor hears of it, and the plan
// is refused as without one. Taking a link down removes the IPv4 routes
// through it without a route notification: on a link without IPv6 (whose
// routes' removal is announced) only the monitor's link group hears of
// it, and without it the stale plan would be applied.
func TestApplyWatchedStale(t *testing.T) {
	for _, c := range []struct {
		name   string
		noIPv6 bool // eno1 without IPv6, whose routes' removal is announced
		change func(e *enginetest.Engine)
	}{
		{"foreign route added", false, func(e *enginetest.Engine) {
			e.NS.IP("route", "add", "10.98.0.0/16", "via", "192.168.10.254", "dev", "eno1", "table", "13")
		}},
		{"foreign rule added", false, func(e *enginetest.Engine) {
			e.NS.IP("rule", "add", "pref", "500", "from", "10.1.2.3", "lookup", "100")
		}},
		{"link down", false, func(e *enginetest.Engine) {
			e.NS.IP("link", "set", "eno1", "down")
		}},
		{"IPv4-only link down", true, func(e *enginetest.Engine) {
			e.NS.IP("link", "set", "eno1", "down")
		}},
		{"address removed", false, func(e *enginetest.Engine) {
			e.NS.IP("addr", "del", "192.168.10.2/24", "dev", "eno1")
		}},
		// Not the kernel's: no monitor hears of it.
		{"table names written", false, func(e *enginetest.Engine) {
			if err := (netcfg.NamesFile{Paths: e.Paths}).Write([]netcfg.TableName{{ID: 13, Name: "other"}}); err != nil {
				e.T.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := enginetest.New(t)
			if c.noIPv6 {
				if out, err := exec.Command("ip", "netns", "exec", e.NS.Name, "sysctl", "-qw", "net.ipv6.conf.eno1.disable_ipv6=1").CombinedOutput(); err != nil {
					t.Fatalf("disable IPv6 on eno1: %v: %s", err, out)
				}
			}
			// A foreign route through eno1 before the plan, which the
			// kernel removes silently when eno1 goes down.
			e.NS.IP("route", "add", "10.99.0.0/16", "via", "192.168.10.254", "dev", "eno1", "table", "13")
			p, w := planWatched(e, enginetest.SpecIntent())
			c.change(e)
			before := e.NS.Routing()
			_, err := applyWatched(e, p, w)
			var se *netcfg.StaleError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want the plan refused as stale", err)
			}
			if after := e.NS.Routing(); after != before {
				t.Errorf("a stale plan changed the namespace")
			}
		})
	}
}

// TestApplyWatchedChangedBack changes the namespace and back between a
// plan read under a change monitor and its apply: the monitor heard of
// it, so the stale check reads the kernel, finds it as the plan saw it,
// and the plan goes through.
func TestApplyWatchedChangedBack(t *testing.T) {
	e := enginetest.New(t)
	p, w := planWatched(e, enginetest.SpecIntent())
	e.NS.IP("route", "add", "10.98.0.0/16", "via", "192.168.10.254", "dev", "eno1", "table", "13")
	e.NS.IP("route", "del", "10.98.0.0/16", "via", "192.168.10.254", "dev", "eno1", "table", "13")
	n := kernel.RuleDumps(e.K)
	if _, err := applyWatched(e, p, w); err != nil {
		t.Fatal(err)
	}
	if got := kernel.RuleDumps(e.K) - n; got != 2 {
		t.Errorf("the apply read the rules %d times, want 2 (stale check, read-back)", got)
	}
	if again := e.Plan(enginetest.SpecIntent()); !again.Empty() {
		t.Errorf("second plan is not empty:\n%s", enginetest.PlanText(again))
	}
}

// TestApplyWatchedByNamespace: the monitor vouches for the namespace it
// listens to, whichever kernel of nictab's writes to it (the engine
// plans and applies through kernels of its own), and for no other: a
// plan applied through a kernel of another namespace of the same shape
// is checked against that namespace's dumps.
func TestApplyWatchedByNamespace(t *testing.T) {
	e := enginetest.New(t)
	p, w := planWatched(e, enginetest.SpecIntent())
	same := enginetest.Open(t, e.NS)
	n := kernel.RuleDumps(same)
	if _, err := netcfg.Apply(same, p, netcfg.ApplyOptions{LoadNames: e.Names, Names: netcfg.NamesFile{Paths: e.Paths}, Watched: w}); err != nil {
		t.Fatal(err)
	}
	if got := kernel.RuleDumps(same) - n; got != 1 {
		t.Errorf("a second kernel of the watched namespace read the rules %d times, want 1 (read-back)", got)
	}

	a, b := enginetest.New(t), enginetest.New(t)
	p, w = planWatched(a, enginetest.SpecIntent())
	n = kernel.RuleDumps(b.K)
	if _, err := netcfg.Apply(b.K, p, netcfg.ApplyOptions{LoadNames: b.Names, Names: netcfg.NamesFile{Paths: b.Paths}, Watched: w}); err != nil {
		t.Fatal(err)
	}
	if got := kernel.RuleDumps(b.K) - n; got != 2 {
		t.Errorf("a kernel of another namespace read the rules %d times, want 2 (stale check, read-back): the monitor of the first vouched for it", got)
	}
}
