//go:build linux

package snapshots_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/internal/memkernel"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
)

// These tests run the engine on memkernel (checked against real
// namespaces by internal/memkernel's oracle test): no root, no
// namespaces, no host files. engine_linux_test.go keeps the same kinds of
// case on a real namespace.

type memRig struct {
	t   *testing.T
	k   *memkernel.Kernel
	e   *snapshots.Engine
	dir string
	np  netcfg.NamePaths
	// wrap, when set, is what the engine's kernels are seen through.
	wrap func(netcfg.Kernel) netcfg.Kernel
}

func newMemRig(t *testing.T) *memRig {
	t.Helper()
	base := t.TempDir()
	r := &memRig{t: t, k: memkernel.Sandbox(), dir: filepath.Join(base, "state"),
		np: netcfg.NamePaths{Etc: filepath.Join(base, "iproute2"), Usr: filepath.Join(base, "usr-iproute2")}}
	r.e = r.engine()
	return r
}

func (r *memRig) engine() *snapshots.Engine {
	var e *snapshots.Engine
	e, err := snapshots.NewEngine(snapshots.EngineConfig{
		StateDir:  r.dir,
		NamePaths: r.np,
		Open: func() (netcfg.Kernel, error) {
			k, err := r.k.Open()
			if err == nil && r.wrap != nil {
				k = r.wrap(k)
			}
			return k, err
		},
		Host:    "testhost",
		Version: "test",
		StartWatchdog: func(l *snapshots.Lock) error {
			fd, err := syscall.Dup(int(l.File().Fd()))
			if err != nil {
				return err
			}
			held := snapshots.LockFromFile(os.NewFile(uintptr(fd), "lock"))
			go func() { _ = e.RunWatchdog(held, nil) }()
			return nil
		},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

func (r *memRig) propose(in netcfg.Intent) *snapshots.Proposal {
	r.t.Helper()
	p, err := r.e.Propose(in, "")
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *memRig) apply(in netcfg.Intent) *snapshots.Outcome {
	r.t.Helper()
	out, err := r.e.Apply(r.propose(in), snapshots.ApplyOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// state renders every rule and route of the kernel, owned or not.
func (r *memRig) state() string {
	r.t.Helper()
	return memDump(r.t, r.k, func(uint8) bool { return true })
}

func memDump(t *testing.T, k netcfg.Reader, proto func(uint8) bool) string {
	t.Helper()
	rules, err := k.Rules()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := range rules {
		if proto(rules[i].Proto) {
			lines = append(lines, netcfg.RuleKey(&rules[i]))
		}
	}
	err = k.Routes(netcfg.RouteQuery{}, func(rt *netcfg.Route) error {
		if proto(rt.Proto) {
			lines = append(lines, netcfg.RouteString(rt))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// targetDump renders a snapshot's rules and routes as memDump renders the
// kernel's owned ones.
func targetDump(t netcfg.Owned) string {
	rules := slices.Clone(t.Rules)
	slices.SortStableFunc(rules, func(a, b netcfg.Rule) int {
		if a.Family != b.Family {
			return int(a.Family) - int(b.Family)
		}
		return int(a.Priority) - int(b.Priority)
	})
	var lines []string
	for i := range rules {
		lines = append(lines, netcfg.RuleKey(&rules[i]))
	}
	var routes []string
	for i := range t.Routes {
		routes = append(routes, netcfg.RouteString(&t.Routes[i]))
	}
	return strings.Join(append(lines, routes...), "\n")
}

// owned is the kernel's proto nictab rules and routes, routes sorted.
func (r *memRig) owned() string {
	r.t.Helper()
	d := memDump(r.t, r.k, func(p uint8) bool { return p == netcfg.ProtoNictab })
	return sortRoutes(d)
}

// sortRoutes sorts the route lines of a dump (rules keep their order).
func sortRoutes(d string) string {
	lines := strings.Split(d, "\n")
	i := 0
	for i < len(lines) && (strings.HasPrefix(lines[i], "inet ") || strings.HasPrefix(lines[i], "inet6 ")) {
		i++
	}
	slices.Sort(lines[i:])
	return strings.Join(lines, "\n")
}

// pendingFiles lists the state directory's pending directory.
func (r *memRig) pendingFiles() []string {
	r.t.Helper()
	es, err := os.ReadDir(filepath.Join(r.dir, "pending"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func (r *memRig) noJournal() {
	r.t.Helper()
	if need, err := r.e.NeedsRecovery(); need || err != nil {
		r.t.Errorf("a journal was left behind (%v)", err)
	}
}

var (
	intentA = nicIntent("eno1", 13)
	intentB = nicIntent("eno1", 14, "enp2s0", 15)
)

// TestMemApplyAllOrNothing fails each op of a plan in turn, with the
// whole batch in one window (ops after the refused one still run: strays)
// and with one op per window; every time, the apply is refused, the
// kernel is exactly as before and no journal is left.
func TestMemApplyAllOrNothing(t *testing.T) {
	for _, c := range []struct {
		name   string
		first  *netcfg.Intent
		then   netcfg.Intent
		window int
	}{
		{"first apply, one window", nil, intentB, 0},
		{"first apply, op by op", nil, intentB, 1},
		{"change, one window", &intentA, intentB, 0},
		{"change, op by op", &intentA, intentB, 1},
		{"change back, one window", &intentB, intentA, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := -1
			for i := 0; n < 0 || i < n; i++ {
				r := newMemRig(t)
				r.k.Window = c.window
				if c.first != nil {
					r.apply(*c.first)
				}
				p := r.propose(c.then)
				n = len(p.Plan.Ops())
				if n < 2 {
					t.Fatalf("plan has %d ops; the test needs several", n)
				}
				before := r.state()
				r.k.FailAt(r.k.Received()+i, unix.ENOBUFS)
				_, err := r.e.Apply(p, snapshots.ApplyOptions{})
				var ae *netcfg.ApplyError
				if !errors.As(err, &ae) || ae.Step != i+1 || ae.UndoErr != nil || !errors.Is(err, unix.ENOBUFS) {
					t.Fatalf("fault at op %d: err = %v; want an undone apply failing at step %d", i, err, i+1)
				}
				if after := r.state(); after != before {
					t.Fatalf("fault at op %d: the kernel changed:\nbefore:\n%s\nafter:\n%s\nops:\n%s", i, before, after, strings.Join(r.k.Log(), "\n"))
				}
				if f := r.pendingFiles(); len(f) > 0 {
					t.Fatalf("fault at op %d: the pending directory holds %q", i, f)
				}
				r.noJournal()
			}
			t.Logf("%d fault positions", n)
		})
	}
}

// TestMemStalePlanRefused: a foreign change between the proposal and the
// apply makes the plan stale; nothing is written.
func TestMemStalePlanRefused(t *testing.T) {
	r := newMemRig(t)
	r.apply(intentA)
	p := r.propose(intentB)
	hand := netcfg.Route{Table: 14, Type: netcfg.RouteUnicast, Dst: mustPrefix("10.99.0.0/16"), Gw: mustAddr("192.168.10.254"), Dev: "eno1", Proto: netcfg.ProtoStatic}
	if err := r.k.Foreign(netcfg.Op{Kind: netcfg.OpAddRoute, Route: &hand}); err != nil {
		t.Fatal(err)
	}
	before, logged := r.state(), len(r.k.Log())
	_, err := r.e.Apply(p, snapshots.ApplyOptions{})
	var se *netcfg.StaleError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v; want a stale plan", err)
	}
	if r.state() != before || len(r.k.Log()) != logged {
		t.Errorf("a stale plan wrote to the kernel: %v", r.k.Log()[logged:])
	}
	r.noJournal()
}

// TestMemConflictRefused: a foreign route with the identity of one the
// intent needs is a conflict the plan names, and the apply is refused
// untouched. The same route arriving between the apply's read and its
// first write is refused by the kernel, and the apply is undone around
// it.
func TestMemConflictRefused(t *testing.T) {
	foreign := netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: mustPrefix("0.0.0.0/0"), Gw: mustAddr("192.168.10.254"), Dev: "eno1", Proto: netcfg.ProtoStatic}
	add := netcfg.Op{Kind: netcfg.OpAddRoute, Route: &foreign}

	r := newMemRig(t)
	if err := r.k.Foreign(add); err != nil {
		t.Fatal(err)
	}
	before := r.state()
	p := r.propose(intentA)
	_, err := r.e.Apply(p, snapshots.ApplyOptions{})
	var ce *netcfg.ConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "does not own") {
		t.Fatalf("err = %v; want a conflict naming the foreign route", err)
	}
	if r.state() != before {
		t.Error("a conflicting plan changed the kernel")
	}

	r = newMemRig(t)
	before = r.state()
	r.k.BeforeExec = func(call int) {
		if call == 0 {
			if err := r.k.Foreign(add); err != nil {
				t.Error(err)
			}
		}
	}
	_, err = r.e.Apply(r.propose(intentA), snapshots.ApplyOptions{})
	var ae *netcfg.ApplyError
	if !errors.As(err, &ae) || !netcfg.IsExistsErr(err) || ae.UndoErr != nil {
		t.Fatalf("err = %v; want the kernel's EEXIST, undone", err)
	}
	want := sortRoutes(before + "\n" + netcfg.RouteString(&foreign))
	if got := sortRoutes(r.state()); got != want {
		t.Errorf("after the refused apply:\n%s\nwant the state before and the foreign route:\n%s", got, want)
	}
	r.noJournal()
}

// TestMemRevertRestores: a change in a confirm window reverted by hand,
// and a rollback to an earlier snapshot, both leave the kernel exactly as
// that snapshot recorded, foreign routes in owned tables kept.
func TestMemRevertRestores(t *testing.T) {
	r := newMemRig(t)
	a := r.apply(intentA)
	stateA := r.state()
	out, err := r.e.Apply(r.propose(intentB), snapshots.ApplyOptions{Confirm: time.Minute})
	if err != nil || out.Pending == nil {
		t.Fatalf("apply with a window: %+v, %v", out, err)
	}
	if r.state() == stateA {
		t.Fatal("the change is not live in its window")
	}
	res, err := r.e.Revert(context.Background())
	if err != nil || res.Result != "reverted" {
		t.Fatalf("revert = %+v, %v", res, err)
	}
	if got := r.state(); got != stateA {
		t.Errorf("after revert:\n%s\nwant:\n%s", got, stateA)
	}
	r.noJournal()

	b := r.apply(intentB)
	hand := netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: mustPrefix("10.99.0.0/16"), Gw: mustAddr("192.168.10.254"), Dev: "eno1", Proto: netcfg.ProtoStatic}
	if err := r.k.Foreign(netcfg.Op{Kind: netcfg.OpAddRoute, Route: &hand}); err != nil {
		t.Fatal(err)
	}
	p, err := r.e.ProposeRollback(a.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.Apply(p, snapshots.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	want := sortRoutes(stateA + "\n" + netcfg.RouteString(&hand))
	if got := sortRoutes(r.state()); got != want {
		t.Errorf("after rollback from %s:\n%s\nwant A's and the hand-made route:\n%s", b.Snapshot.Meta.ID, got, want)
	}
}

// TestMemRecoverAtEachStep leaves a journal as an apply killed after each
// of its steps would, and checks recover returns to the state before.
func TestMemRecoverAtEachStep(t *testing.T) {
	for _, from := range []*netcfg.Intent{nil, &intentA} {
		n := -1
		for i := 0; n < 0 || i <= n; i++ {
			r := newMemRig(t)
			if from != nil {
				r.apply(*from)
			}
			p := r.propose(intentB)
			ops := p.Plan.Ops()
			n = len(ops)
			before := r.state()
			live := p.Live
			j := snapshots.Journal{TxID: "x", Started: time.Now(), Phase: snapshots.PhaseApplying, Before: netcfg.OwnedAsDesired(live), Tables: live.Complete}
			if err := snapshots.WriteJournalForTest(r.e, &j); err != nil {
				t.Fatal(err)
			}
			if res := r.k.Exec(ops[:i]); res.Failed != nil {
				t.Fatalf("steps before the kill: %v", res.Failed)
			}
			what, err := r.e.Recover()
			if err != nil || (i > 0 && !strings.Contains(what, "undone")) {
				t.Fatalf("killed after %d of %d steps: recover = %q, %v", i, n, what, err)
			}
			if got := r.state(); got != before {
				t.Fatalf("killed after %d of %d steps, recovered:\n%s\nwant:\n%s", i, n, got, before)
			}
			r.noJournal()
		}
	}
}

// TestMemRecoverKeepsAppliedWithoutWindow kills an apply without a
// confirm window right after its journal says the change is applied and
// verified. That journal does not carry the state before (recovery keeps
// such a change and never reads it); recover must keep and record the
// change from it, leaving the kernel as the apply made it.
func TestMemRecoverKeepsAppliedWithoutWindow(t *testing.T) {
	r := newMemRig(t)
	r.apply(intentA)
	p := r.propose(intentB)
	snapshots.KillAfterAppliedForTest(t)
	if _, err := r.e.Apply(p, snapshots.ApplyOptions{}); err == nil {
		t.Fatal("the apply was not stopped after its applied journal")
	}
	after := r.state()
	j, err := snapshots.JournalForTest(r.e)
	if err != nil || j == nil {
		t.Fatalf("journal after the kill: %v, %v", j, err)
	}
	if j.Phase != snapshots.PhaseApplied || j.SnapshotID == "" {
		t.Fatalf("journal after the kill: phase %q, snapshot %q; want applied with its snapshot", j.Phase, j.SnapshotID)
	}
	if n := len(j.Before.Rules) + len(j.Before.Routes); n != 0 {
		t.Errorf("the applied journal carries %d objects of the state before; recovery never reads them", n)
	}
	what, err := r.e.Recover()
	if err != nil || !strings.Contains(what, "kept and recorded") {
		t.Fatalf("recover = %q, %v; want the change kept and recorded", what, err)
	}
	if got := r.state(); got != after {
		t.Fatalf("recover changed the kernel:\n%s\nwant:\n%s", got, after)
	}
	list, err := r.e.Store().List()
	if err != nil || len(list) == 0 || list[0].ID != j.SnapshotID {
		t.Fatalf("newest snapshot after recover: %v (err %v); want %s", list, err, j.SnapshotID)
	}
	r.noJournal()
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }

// afterExecKernel runs after once its first batch of writes is done.
type afterExecKernel struct {
	netcfg.Kernel
	after func()
}

func (a *afterExecKernel) Exec(ops []netcfg.Op) netcfg.ExecResult {
	res := a.Kernel.Exec(ops)
	if a.after != nil {
		a.after()
		a.after = nil
	}
	return res
}

// TestMemStagedPending follows the pending snapshot's file, written while
// the kernel applies: a verified change renames it into place, and it is
// the snapshot saved; a change that fails its verify leaves no file; one
// left by a killed apply goes at the next recovery and the next apply.
func TestMemStagedPending(t *testing.T) {
	t.Run("kept", func(t *testing.T) {
		r := newMemRig(t)
		r.apply(intentA)
		staged := snapshots.StagedUsedForTest()
		out := r.apply(intentB)
		if got := snapshots.StagedUsedForTest() - staged; got != 1 {
			t.Errorf("%d pending snapshots were saved from a staged file; want 1", got)
		}
		if f := r.pendingFiles(); len(f) > 0 {
			t.Errorf("the pending directory holds %q after the change was kept", f)
		}
		s, err := r.e.Store().Get(out.Snapshot.Meta.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sortRoutes(targetDump(*s.Resolved)), r.owned(); got != want {
			t.Errorf("the saved snapshot records:\n%s\nthe kernel holds:\n%s", got, want)
		}
	})
	t.Run("verify fails", func(t *testing.T) {
		r := newMemRig(t)
		r.apply(intentA)
		p := r.propose(intentB)
		before := r.state()
		gone := p.Plan.Target.Routes[0]
		r.wrap = func(k netcfg.Kernel) netcfg.Kernel {
			return &afterExecKernel{Kernel: k, after: func() {
				if err := r.k.Foreign(netcfg.Op{Kind: netcfg.OpDelRoute, Route: &gone}); err != nil {
					t.Error(err)
				}
			}}
		}
		r.e = r.engine()
		_, err := r.e.Apply(p, snapshots.ApplyOptions{})
		if err == nil || !strings.Contains(err.Error(), "verify") {
			t.Fatalf("err = %v; want the verify to fail", err)
		}
		if f := r.pendingFiles(); len(f) > 0 {
			t.Errorf("the pending directory holds %q after a failed verify", f)
		}
		if got := r.state(); got != before {
			t.Errorf("the kernel after the failed verify:\n%s\nwant:\n%s", got, before)
		}
		r.noJournal()
	})
	t.Run("left by a kill", func(t *testing.T) {
		r := newMemRig(t)
		r.apply(intentA)
		pending := filepath.Join(r.dir, "pending")
		if err := os.MkdirAll(pending, 0o700); err != nil {
			t.Fatal(err)
		}
		left := filepath.Join(pending, ".261202-000000.yaml.tmp-0123456789ab")
		for _, step := range []func() error{
			func() error { _, err := r.e.Recover(); return err },
			func() error { _, err := r.e.Apply(r.propose(intentB), snapshots.ApplyOptions{}); return err },
		} {
			if err := os.WriteFile(left, []byte("version: 1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := step(); err != nil {
				t.Fatal(err)
			}
			if f := r.pendingFiles(); len(f) > 0 {
				t.Errorf("the pending directory holds %q", f)
			}
		}
	})
}
