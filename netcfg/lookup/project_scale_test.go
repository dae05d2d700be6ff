package lookup_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
)

// naiveProject does a plan's ops one by one, each a search of the whole
// state and a slice move: the obvious way, kept as the reference the
// indexed ProjectPlan must agree with.
func naiveProject(live netcfg.State, p netcfg.Plan) netcfg.State {
	s := live
	s.Rules = slices.Clone(live.Rules)
	s.Routes = slices.Clone(live.Routes)
	for i := range p.Changes {
		for _, o := range p.Changes[i].Ops() {
			switch o.Kind {
			case netcfg.OpAddRule:
				at, first := -1, -1
				for j := range s.Rules {
					if s.Rules[j].Family != o.Rule.Family {
						continue
					}
					if first < 0 {
						first = j
					}
					if s.Rules[j].Priority <= o.Rule.Priority {
						at = j + 1
					}
				}
				if at < 0 {
					at = first
				}
				if at < 0 {
					at = len(s.Rules)
				}
				s.Rules = slices.Insert(s.Rules, at, *o.Rule)
			case netcfg.OpDelRule:
				if j := slices.IndexFunc(s.Rules, func(r netcfg.Rule) bool { return netcfg.RuleEqual(&r, o.Rule) }); j >= 0 {
					s.Rules = slices.Delete(s.Rules, j, j+1)
				}
			case netcfg.OpAddRoute, netcfg.OpReplaceRoute:
				if j := slices.IndexFunc(s.Routes, func(x netcfg.Route) bool { return x.Key() == o.Route.Key() }); j >= 0 && o.Kind == netcfg.OpReplaceRoute {
					s.Routes[j] = *o.Route
					continue
				}
				s.Routes = append(s.Routes, *o.Route)
			case netcfg.OpDelRoute:
				if j := slices.IndexFunc(s.Routes, func(x netcfg.Route) bool { return x.Key() == o.Route.Key() }); j >= 0 {
					s.Routes = slices.Delete(s.Routes, j, j+1)
				}
			}
		}
	}
	return s
}

func familyOrder(s netcfg.State) string {
	lines := ruleLines(s)
	slices.SortStableFunc(lines, func(a, b string) int {
		return strings.Compare(strings.Fields(a)[0], strings.Fields(b)[0])
	})
	return strings.Join(lines, "\n")
}

func route24(table uint32, i int, gw string) netcfg.Route {
	return netcfg.Route{Table: table, Type: netcfg.RouteUnicast, Proto: netcfg.ProtoNictab, Dev: "eth0", Gw: netip.MustParseAddr(gw),
		Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)}
}

func rule(fam netcfg.Family, prio, table uint32, from string) netcfg.Rule {
	r := netcfg.NewRule()
	r.Family, r.Priority, r.Table, r.Proto = fam, prio, table, netcfg.ProtoNictab
	if from != "" {
		r.From = netip.MustParsePrefix(from)
	}
	return r
}

// TestProjectPlanAgreesWithNaive replays random plans of adds, deletes
// and replaces of rules and routes, both families interleaved, and
// compares the indexed projection with the op-by-op one, in order.
func TestProjectPlanAgreesWithNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var live netcfg.State
		for _, fam := range []netcfg.Family{netcfg.V4, netcfg.V6} {
			for _, p := range []uint32{0, 1000, 1000, 5270, 32766, 32767} {
				if rng.IntN(3) > 0 {
					live.Rules = append(live.Rules, rule(fam, p, 254+uint32(rng.IntN(2)), ""))
				}
			}
		}
		for i := range 40 {
			live.Routes = append(live.Routes, route24(uint32(13+rng.IntN(2)), i, "10.255.0.1"))
		}
		var p netcfg.Plan
		for range 30 {
			switch rng.IntN(6) {
			case 0:
				r := route24(uint32(13+rng.IntN(2)), 40+rng.IntN(40), "10.255.0.2")
				p.Changes = append(p.Changes, netcfg.Change{Action: netcfg.ChangeAdd, After: netcfg.Object{Route: &r}})
			case 1:
				r := live.Routes[rng.IntN(len(live.Routes))]
				p.Changes = append(p.Changes, netcfg.Change{Action: netcfg.ChangeDelete, Before: netcfg.Object{Route: &r}})
			case 2:
				r := live.Routes[rng.IntN(len(live.Routes))]
				r.Gw = netip.MustParseAddr("10.255.0.3")
				p.Changes = append(p.Changes, netcfg.Change{Action: netcfg.ChangeReplace, After: netcfg.Object{Route: &r}})
			case 3:
				fam := []netcfg.Family{netcfg.V4, netcfg.V6}[rng.IntN(2)]
				from := "192.168.0." + string(rune('1'+rng.IntN(9))) + "/32"
				if fam == netcfg.V6 {
					from = "2001:db8::" + string(rune('1'+rng.IntN(9))) + "/128"
				}
				r := rule(fam, uint32(rng.IntN(3))*1000, 13, from)
				p.Changes = append(p.Changes, netcfg.Change{Action: netcfg.ChangeAdd, After: netcfg.Object{Rule: &r}})
			case 4, 5:
				if len(live.Rules) == 0 {
					continue
				}
				old := live.Rules[rng.IntN(len(live.Rules))]
				if rng.IntN(2) == 0 {
					p.Changes = append(p.Changes, netcfg.Change{Action: netcfg.ChangeDelete, Before: netcfg.Object{Rule: &old}})
					continue
				}
				nw := old
				nw.Table = 99
				p.Changes = append(p.Changes, netcfg.Change{Action: netcfg.ChangeReplace, Before: netcfg.Object{Rule: &old}, After: netcfg.Object{Rule: &nw}})
			}
		}
		got, want := lookup.ProjectPlan(live, p), naiveProject(live, p)
		// The kernel keeps a list per family, and the simulator walks one
		// family's: only the order within a family is compared.
		if g, w := familyOrder(got), familyOrder(want); g != w {
			t.Fatalf("round %d: rules\n%s\nwant\n%s", round, g, w)
		}
		var g, w []string
		for i := range got.Routes {
			g = append(g, netcfg.RouteString(&got.Routes[i]))
		}
		for i := range want.Routes {
			w = append(w, netcfg.RouteString(&want.Routes[i]))
		}
		if !slices.Equal(g, w) {
			t.Fatalf("round %d: routes in order\n%s\nwant\n%s", round, strings.Join(g, "\n"), strings.Join(w, "\n"))
		}
	}
}

// BenchmarkProjectPlan projects a plan of 1k route ops (a third each
// added, deleted and replaced) and 20 rule ops onto a state with 100k
// and 1M routes: one pass over the routes, not one per op. The naive
// rows are the op-by-op projection, for comparison.
func BenchmarkProjectPlan(b *testing.B) {
	for _, n := range []int{100_000, 1 << 20} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) { benchProject(b, n, lookup.ProjectPlan) })
	}
	b.Run("routes=100000/naive", func(b *testing.B) { benchProject(b, 100_000, naiveProject) })
}

func benchProject(b *testing.B, n int, project func(netcfg.State, netcfg.Plan) netcfg.State) {
	live := netcfg.State{Routes: make([]netcfg.Route, n)}
	for i := range live.Routes {
		a := uint32(i) << 8
		live.Routes[i] = netcfg.Route{Table: netcfg.TableMain, Type: netcfg.RouteUnicast, Dev: "eth0", Gw: netip.MustParseAddr("10.0.0.1"),
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24)}
	}
	for _, fam := range []netcfg.Family{netcfg.V4, netcfg.V6} {
		for _, p := range []uint32{0, 32766, 32767} {
			live.Rules = append(live.Rules, rule(fam, p, 254, ""))
		}
	}
	var p netcfg.Plan
	for i := range 1000 {
		switch i % 3 {
		case 0:
			r := route24(13, i, "10.0.0.2")
			p.Changes = append(p.Changes, netcfg.Change{Action: netcfg.ChangeAdd, After: netcfg.Object{Route: &r}})
		case 1:
			r := live.Routes[i*997%n]
			p.Changes = append(p.Changes, netcfg.Change{Action: netcfg.ChangeDelete, Before: netcfg.Object{Route: &r}})
		case 2:
			r := live.Routes[i*991%n]
			r.Gw = netip.MustParseAddr("10.0.0.3")
			p.Changes = append(p.Changes, netcfg.Change{Action: netcfg.ChangeReplace, After: netcfg.Object{Route: &r}})
		}
	}
	for i := range 20 {
		r := rule(netcfg.V4, 1000+uint32(i)*10, 13, "192.168.10.2/32")
		p.Changes = append(p.Changes, netcfg.Change{Action: netcfg.ChangeAdd, After: netcfg.Object{Rule: &r}})
	}
	b.ReportAllocs()
	for b.Loop() {
		project(live, p)
	}
}
