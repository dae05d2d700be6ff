package netcfg

import (
	"reflect"
	"testing"
)

func mustRoutes(t *testing.T, specs ...string) []Route {
	t.Helper()
	out := make([]Route, len(specs))
	for i, s := range specs {
		r, err := ParseRoute(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = r
	}
	return out
}

// TestPlanTargetShared: a plan's target is want's routes less those it
// refuses or leaves alone, in key order, whether it shares want's slice
// (nothing left out, already sorted) or copies it; an append to the
// target never reaches want.
func TestPlanTargetShared(t *testing.T) {
	specs := []string{
		"10.0.1.0/24 via 192.0.2.1 dev eth0 table 13 proto 201",
		"10.0.2.0/24 via 192.0.2.1 dev eth0 table 13 proto 201",
		"10.0.3.0/24 via 192.0.2.1 dev eth0 table 13 proto 201",
	}
	link := Link{Name: "eth0", Index: 2, Up: true}
	sorted := func(rs []Route) []Route {
		d := Desired{Owned: Owned{Routes: rs}}
		p := PlanChanges(State{Links: []Link{link}, Complete: []uint32{13}}, d)
		return p.Target.Routes
	}

	// Room after want's routes, which an append to a target sharing its
	// array without a cap would fill.
	want := append(make([]Route, 0, 8), mustRoutes(t, specs...)...)
	got := sorted(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("target %v, want %v", got, want)
	}
	if &got[0] != &want[0] {
		t.Error("a plan that leaves nothing out copied want's routes")
	}
	extra := mustRoutes(t, "10.0.9.0/24 dev eth0 table 13 proto 201")[0]
	if g := append(got, extra); len(g) != 4 || want[:4][3].Dst.IsValid() {
		t.Error("an append to the target wrote into want")
	}

	// Out of key order: a sorted copy, want as it was.
	rev := mustRoutes(t, specs[2], specs[0], specs[1])
	orig := append([]Route(nil), rev...)
	got = sorted(rev)
	if !reflect.DeepEqual(got, mustRoutes(t, specs...)) || !reflect.DeepEqual(rev, orig) {
		t.Errorf("unsorted want: target %v, want left %v", got, rev)
	}

	// A route another owner holds with other attributes is refused; the
	// target is the rest.
	foreign := mustRoutes(t, "10.0.2.0/24 via 192.0.2.9 dev eth0 table 13 proto 4")[0]
	want = mustRoutes(t, specs...)
	p := PlanChanges(State{Links: []Link{link}, Routes: []Route{foreign}, Complete: []uint32{13}}, Desired{Owned: Owned{Routes: want}})
	if len(p.Conflicts) != 1 {
		t.Fatalf("conflicts %v, want the one route", p.Conflicts)
	}
	if w := mustRoutes(t, specs[0], specs[2]); !reflect.DeepEqual(p.Target.Routes, w) {
		t.Errorf("target %v, want %v", p.Target.Routes, w)
	}
}

// TestOwnedAsDesiredSharing: the sharing form gives what OwnedAsDesired
// gives, whether nictab's routes are one run, several, or none.
func TestOwnedAsDesiredSharing(t *testing.T) {
	own := mustRoutes(t, "10.0.1.0/24 dev eth0 table 13 proto 201", "10.0.2.0/24 dev eth0 table 14 proto 201")
	other := mustRoutes(t, "10.9.0.0/16 dev eth0 proto 2 scope link")
	for name, rs := range map[string][]Route{
		"one run":  {other[0], own[0], own[1]},
		"split":    {own[0], other[0], own[1]},
		"none":     {other[0]},
		"only":     {own[0], own[1]},
		"no route": nil,
	} {
		s := State{Routes: rs}
		a, b := OwnedAsDesired(s), OwnedAsDesiredSharing(s)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: sharing %+v, copying %+v", name, b, a)
		}
	}
}
