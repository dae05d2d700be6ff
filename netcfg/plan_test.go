package netcfg_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nictab/nictab/internal/enginetest"
	"github.com/nictab/nictab/netcfg"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestPlanCases runs every folder of testdata/plan: live.txt and
// desired.txt in, plan.txt the expected plan.
func TestPlanCases(t *testing.T) {
	dirs, err := filepath.Glob("testdata/plan/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no plan cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			live, _ := readTextState(t, filepath.Join(dir, "live.txt"))
			_, want := readTextState(t, filepath.Join(dir, "desired.txt"))
			p := netcfg.PlanChanges(live, want)
			got := enginetest.PlanText(p)
			golden := filepath.Join(dir, "plan.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			exp, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(exp), got); d != "" {
				t.Errorf("plan differs from %s (-want +got):\n%s", golden, d)
			}
			// Planning from the plan's own target changes nothing: the
			// plan is a fixed point once applied.
			after := stateAfter(live, p)
			if again := netcfg.PlanChanges(after, want); !again.Empty() {
				t.Errorf("a second plan after applying is not empty:\n%s", enginetest.PlanText(again))
			}
			if diffs := netcfg.VerifyTarget(after, p.Target); len(diffs) > 0 {
				t.Errorf("target does not match the state after the plan: %v", diffs)
			}
		})
	}
}

// stateAfter applies a plan's changes to a copy of s, as the kernel would.
func stateAfter(s netcfg.State, p netcfg.Plan) netcfg.State {
	out := s
	out.Rules = append([]netcfg.Rule(nil), s.Rules...)
	out.Routes = append([]netcfg.Route(nil), s.Routes...)
	out.Names.Tables = append([]netcfg.TableName(nil), s.Names.Tables...)
	for _, c := range p.Changes {
		if b := c.Before; !b.IsZero() {
			switch {
			case b.Rule != nil:
				out.Rules = slices.DeleteFunc(out.Rules, func(r netcfg.Rule) bool { return netcfg.RuleEqual(&r, b.Rule) })
			case b.Route != nil:
				out.Routes = slices.DeleteFunc(out.Routes, func(r netcfg.Route) bool { return netcfg.RouteEqual(&r, b.Route) })
			case b.Name != nil:
				out.Names.Tables = slices.DeleteFunc(out.Names.Tables, func(n netcfg.TableName) bool { return n.ID == b.Name.ID })
			}
		}
		if a := c.After; !a.IsZero() {
			switch {
			case a.Rule != nil:
				out.Rules = append(out.Rules, *a.Rule)
			case a.Route != nil:
				out.Routes = append(out.Routes, *a.Route)
			case a.Name != nil:
				out.Names.Tables = append(out.Names.Tables, netcfg.TableName{ID: a.Name.ID, Name: a.Name.Name, File: "/etc/iproute2/rt_tables.d/nictab.conf"})
			}
		}
	}
	return out
}

// TestPlanPriorIsFingerprint: a plan's Prior is the fingerprint of the
// state it was made from, made aside for a large state or not.
func TestPlanPriorIsFingerprint(t *testing.T) {
	for _, n := range []int{10, 5000, 300_000} {
		live := netcfg.State{Routes: planRoutes(n, 100), Complete: []uint32{100}, AllOwned: true}
		want := netcfg.Desired{Owned: netcfg.Owned{Routes: planRoutes(n/2, 100)}, Tables: []uint32{100}}
		p := netcfg.PlanChanges(live, want)
		if fp := netcfg.Fingerprint(live); p.Prior.String() != fp || fp == "" {
			t.Errorf("%d live routes: Prior %q, fingerprint %q", n, p.Prior.String(), fp)
		}
	}
}
