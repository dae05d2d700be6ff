//go:build linux

package netcfg_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/memkernel"
	"github.com/nictab/nictab/netcfg"
	"golang.org/x/sys/unix"
)

// memPlan detects, resolves and plans in on k as the engine does.
func memPlan(t *testing.T, k netcfg.Kernel, in netcfg.Intent) netcfg.Plan {
	t.Helper()
	live, err := netcfg.Detect(k, netcfg.Names{}, netcfg.DetectOptions{Tables: []uint32{13, 14, 15}, Owned: true})
	if err != nil {
		t.Fatal(err)
	}
	d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		t.Fatal(err)
	}
	return netcfg.PlanChanges(live, d)
}

func memApply(k netcfg.Kernel, p netcfg.Plan) error {
	_, err := netcfg.Apply(k, p, netcfg.ApplyOptions{LoadNames: func() netcfg.Names { return netcfg.Names{} }})
	return err
}

func twoNICs(a, b uint32) netcfg.Intent {
	return netcfg.Intent{NICs: []netcfg.NICIntent{
		{Name: "eno1", Table: netcfg.TableRef{ID: a}},
		{Name: "enp2s0", Table: netcfg.TableRef{ID: b}},
	}}
}

// TestApplyMemWritesExactly: on the in-memory kernel, the `ip` lines
// logged by an apply are the plan's commands and nothing else; with a
// fault at op i (one window: the ops after it still run), they are the
// ops before it, the strays after it, then the undo of the strays and of
// the ops before, newest first — and the kernel is as it was.
func TestApplyMemWritesExactly(t *testing.T) {
	k := memkernel.Sandbox()
	p := memPlan(t, k, twoNICs(13, 14))
	if err := memApply(k, p); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, o := range p.Ops() {
		want = append(want, o.Command())
	}
	if got := k.Log(); !slices.Equal(got, want) {
		t.Fatalf("apply wrote\n%s\nwant the plan's\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for i := 0; ; i++ {
		k := memkernel.Sandbox()
		if err := memApply(k, memPlan(t, k, twoNICs(13, 14))); err != nil {
			t.Fatal(err)
		}
		p := memPlan(t, k, twoNICs(14, 15))
		ops := p.Ops()
		if i == len(ops) {
			break
		}
		var undo []netcfg.Op
		for c := range p.Changes {
			undo = append(undo, p.Changes[c].UndoOps()...)
		}
		before := dumpMem(t, k)
		logged := len(k.Log())
		k.FailAt(k.Received()+i, unix.ENOMEM)
		if err := memApply(k, p); err == nil || !strings.Contains(err.Error(), "the host is as it was") {
			t.Fatalf("fault at op %d: %v", i, err)
		}
		var want []string
		for j := range ops {
			if j != i {
				want = append(want, ops[j].Command())
			}
		}
		for j := len(ops) - 1; j >= 0; j-- {
			if j != i {
				want = append(want, undo[j].Command())
			}
		}
		if got := k.Log()[logged:]; !slices.Equal(got, want) {
			t.Fatalf("fault at op %d of %d: wrote\n%s\nwant\n%s", i, len(ops), strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if after := dumpMem(t, k); after != before {
			t.Fatalf("fault at op %d: the kernel changed:\n%s\nwant:\n%s", i, after, before)
		}
	}
}

func dumpMem(t *testing.T, k netcfg.Reader) string {
	t.Helper()
	s, err := netcfg.Detect(k, netcfg.Names{}, netcfg.DetectOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := range s.Rules {
		lines = append(lines, netcfg.RuleKey(&s.Rules[i]))
	}
	for i := range s.Routes {
		lines = append(lines, netcfg.RouteString(&s.Routes[i]))
	}
	return strings.Join(lines, "\n")
}
