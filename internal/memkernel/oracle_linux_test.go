package memkernel_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/memkernel"
	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

var oracleSeeds = flag.Int("oracle.seeds", 4, "random op sequences TestOracle runs, 150 steps each")

// TestOracle applies the same random op sequences to a real sandbox
// namespace and to memkernel.Sandbox, and requires the same answer to
// every op (errno, Done, Stray) and the same rules and routes after every
// step: the in-memory kernel is checked against the kernel, not itself.
func TestOracle(t *testing.T) {
	for seed := uint64(1); seed <= uint64(*oracleSeeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ns := nstest.Sandbox(t)
			kern, err := kernel.Open(ns.Name)
			if err != nil {
				t.Fatal(err)
			}
			defer kern.Close()
			mem := memkernel.Sandbox()
			if a, b := dump(t, kern), dump(t, mem); a != b {
				t.Fatalf("the sandboxes differ before any op:\nkernel:\n%s\nmemkernel:\n%s", a, b)
			}
			g := &gen{rng: rand.New(rand.NewPCG(seed, 19))}
			before := dump(t, mem)
			for step := range 150 {
				ops := []netcfg.Op{g.op()}
				if g.rng.IntN(5) == 0 {
					for range 1 + g.rng.IntN(5) {
						ops = append(ops, g.op())
					}
				}
				rr, rm := kern.Exec(ops), mem.Exec(ops)
				if a, b := result(rr), result(rm); a != b {
					t.Fatalf("step %d: %s\nkernel answered    %s\nmemkernel answered %s\nstate before:\n%s", step, commands(ops), a, b, before)
				}
				if a, b := dump(t, kern), dump(t, mem); a != b {
					t.Fatalf("step %d: %s\nstates differ:\nkernel:\n%s\nmemkernel:\n%s", step, commands(ops), a, b)
				}
				before = dump(t, mem)
			}
		})
	}
}

func commands(ops []netcfg.Op) string {
	var s []string
	for _, o := range ops {
		s = append(s, o.Command())
	}
	return strings.Join(s, "; ")
}

func result(r netcfg.ExecResult) string {
	if r.Failed == nil {
		return fmt.Sprintf("done %d", r.Done)
	}
	return fmt.Sprintf("done %d, op %d refused (%s), stray %v", r.Done, r.Failed.Index, errName(r.Failed.Err), r.Stray)
}

// errName is what is compared of an error: the errno, or for errors the
// executor makes itself, the text.
func errName(err error) string {
	var ke *kernel.Error
	if errors.As(err, &ke) {
		return "errno " + ke.Errno.Error()
	}
	return err.Error()
}

// dump renders the rules and the routes of every table but local (whose
// link-local and multicast entries follow MAC addresses), sorted.
func dump(t *testing.T, k netcfg.Reader) string {
	t.Helper()
	rules, err := k.Rules()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range rules {
		b.WriteString(netcfg.RuleKey(&rules[i]) + "\n")
	}
	var routes []string
	err = k.Routes(netcfg.RouteQuery{}, func(r *netcfg.Route) error {
		if r.Table != netcfg.TableLocal && !(r.Dst.Addr().IsMulticast()) {
			routes = append(routes, fmt.Sprintf("table %d: %s", r.Table, netcfg.RouteString(r)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(routes)
	b.WriteString(strings.Join(routes, "\n"))
	return b.String()
}

// gen makes ops of the kinds nictab sends, over a small vocabulary so that
// they collide: duplicates, replaces of foreign routes, deletes of what is
// not there, unreachable gateways.
type gen struct {
	rng    *rand.Rand
	routes []netcfg.Route
	rules  []netcfg.Rule
}

func pick[T any](g *gen, xs ...T) T { return xs[g.rng.IntN(len(xs))] }

var (
	dst4 = []string{"10.1.0.0/16", "10.2.0.0/24", "0.0.0.0/0", "192.168.10.0/24", "10.3.3.3/32"}
	dst6 = []string{"2001:db8:a::/48", "::/0", "2001:db8:10::/64", "2001:db8:b::/64"}
	gw4  = []string{"192.168.10.1", "192.168.20.1", "10.9.9.9", "", ""}
	gw6  = []string{"2001:db8:10::1", "2001:db8:20::1", "2001:db8:99::1", "fe80::1", "", ""}
)

func (g *gen) route() netcfg.Route {
	v6 := g.rng.IntN(3) == 0
	r := netcfg.Route{Table: pick(g, uint32(100), 101, 101, netcfg.TableMain), Type: netcfg.RouteUnicast,
		Proto:  pick(g, netcfg.ProtoNictab, netcfg.ProtoNictab, netcfg.ProtoStatic, netcfg.ProtoBoot),
		Metric: pick(g, uint32(0), 0, 100, 200, 1024)}
	dsts, gws := dst4, gw4
	if v6 {
		dsts, gws = dst6, gw6
	}
	r.Dst = netip.MustParsePrefix(pick(g, dsts...))
	if gw := pick(g, gws...); gw != "" {
		r.Gw = netip.MustParseAddr(gw)
		r.Dev = pick(g, "eno1", "enp2s0", "")
		if r.Gw.IsLinkLocalUnicast() && r.Dev == "" {
			r.Dev = "eno1"
		}
	} else {
		r.Dev = pick(g, "eno1", "enp2s0")
		r.Scope = netcfg.ScopeLink
		if v6 {
			r.Scope = netcfg.ScopeUniverse
		}
	}
	switch g.rng.IntN(12) {
	case 0:
		r.Dev = "nosuch0"
	case 1:
		if v6 {
			r.Src = netip.MustParseAddr(pick(g, "2001:db8:10::2", "2001:db8:20::2", "2001:db8:77::7"))
		} else {
			r.Src = netip.MustParseAddr(pick(g, "192.168.10.2", "192.168.20.2", "10.7.7.7"))
		}
	case 2:
		r.Type, r.Gw, r.Dev, r.Scope = pick(g, netcfg.RouteBlackhole, netcfg.RouteUnreachable, netcfg.RouteProhibit, netcfg.RouteThrow), netip.Addr{}, "", netcfg.ScopeUniverse
	case 3:
		if !v6 {
			r.Tos = 0x10
		}
	}
	return r
}

func (g *gen) rule() netcfg.Rule {
	r := netcfg.NewRule()
	r.Family = pick(g, netcfg.V4, netcfg.V4, netcfg.V6)
	r.Priority = pick(g, uint32(100), 200, 300)
	r.Table = pick(g, uint32(100), 101)
	r.Proto = pick(g, netcfg.ProtoNictab, netcfg.ProtoNictab, netcfg.ProtoStatic)
	from, to := "10.1.0.0/16", "10.2.0.0/24"
	if r.Family == netcfg.V6 {
		from, to = "2001:db8:a::/48", "2001:db8:b::/64"
	}
	if g.rng.IntN(2) == 0 {
		r.From = netip.MustParsePrefix(from)
	}
	if g.rng.IntN(4) == 0 {
		r.To = netip.MustParsePrefix(to)
	}
	switch g.rng.IntN(8) {
	case 0:
		r.IIF = pick(g, "eno1", "enp2s0")
	case 1:
		r.OIF = "eno1"
	case 2:
		r.Mark = &netcfg.FwMark{Value: pick(g, uint32(1), 2), Mask: 0xffffffff}
	case 3:
		r.Not = true
	case 4:
		r.Action, r.Table = netcfg.ActionUnreachable, 0
	}
	return r
}

// reduced is a delete request that sends fewer attributes than the rule
// it was made from.
func reduced(r netcfg.Rule) netcfg.Rule {
	q := netcfg.NewRule()
	q.Family, q.Priority, q.Table, q.Action = r.Family, r.Priority, r.Table, r.Action
	return q
}

func (g *gen) op() netcfg.Op {
	switch n := g.rng.IntN(10); {
	case n < 2:
		r := g.route()
		g.routes = append(g.routes, r)
		return netcfg.Op{Kind: netcfg.OpAddRoute, Route: &r}
	case n < 3:
		r := g.route()
		g.routes = append(g.routes, r)
		return netcfg.Op{Kind: netcfg.OpReplaceRoute, Route: &r}
	case n < 5:
		r := g.route()
		if len(g.routes) > 0 && g.rng.IntN(4) != 0 {
			r = g.routes[g.rng.IntN(len(g.routes))]
			if g.rng.IntN(4) == 0 {
				r.Gw, r.Dev, r.Metric, r.Proto = netip.Addr{}, "", 0, 0
			}
		}
		return netcfg.Op{Kind: netcfg.OpDelRoute, Route: &r}
	case n < 8:
		r := g.rule()
		g.rules = append(g.rules, r)
		return netcfg.Op{Kind: netcfg.OpAddRule, Rule: &r}
	default:
		r := g.rule()
		if len(g.rules) > 0 && g.rng.IntN(4) != 0 {
			r = g.rules[g.rng.IntN(len(g.rules))]
			if g.rng.IntN(3) == 0 {
				r = reduced(r)
			}
		}
		return netcfg.Op{Kind: netcfg.OpDelRule, Rule: &r}
	}
}
