package ui

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// randomPlanRoute is a route with any mix of what a diff line or a
// command shows: each type, scope and family, protocols with and without
// names, device names that need quoting or escaping or read as the words
// RouteText drops, and now and then what only ChangeText's path writes.
func randomPlanRoute(rng *rand.Rand) *netcfg.Route {
	pick := func(n int) int { return rng.IntN(n) }
	v4 := func() netip.Addr {
		return netip.AddrFrom4([4]byte{byte(pick(256)), byte(pick(256)), byte(pick(256)), byte(pick(256))})
	}
	v6 := func() netip.Addr {
		var a [16]byte
		a[0], a[1], a[15] = 0x20, 0x01, byte(pick(256))
		return netip.AddrFrom16(a)
	}
	r := &netcfg.Route{Table: []uint32{13, 100, 254}[pick(3)], Type: netcfg.RouteType(pick(12))}
	switch pick(6) {
	case 0:
		r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	case 1:
		r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	case 2:
		r.Dst = netip.PrefixFrom(v6(), 64+pick(65)).Masked()
	default:
		r.Dst = netip.PrefixFrom(v4(), pick(33)).Masked()
	}
	if pick(5) == 0 {
		r.Tos = uint8(pick(256))
	}
	switch pick(4) {
	case 0:
		r.Gw = v4()
	case 1:
		r.Gw = v6()
	}
	r.Dev = []string{"", "eth0", "sc0", "table", "proto", "metric", "scope", "via", "dev", "e$x", "a'b", "x (IPv4)", "ü", "e\x1b[2J", "tab\tx", `back\slash`, "1024", "global"}[pick(18)]
	if pick(4) == 0 {
		r.Src = v4()
	}
	r.Scope = []netcfg.Scope{netcfg.ScopeUniverse, netcfg.ScopeLink, netcfg.ScopeHost, 77}[pick(4)]
	r.Proto = []uint8{0, netcfg.ProtoNictab, 2, 99, 186}[pick(5)]
	r.Metric = []uint32{0, 5, 1024}[pick(3)]
	r.Onlink = pick(4) == 0
	switch pick(10) {
	case 0:
		r.MultiPath = []netcfg.NextHop{{Gw: v4(), Dev: "eth0", Weight: 2}, {Dev: "table"}}
	case 1:
		var m netcfg.Metrics
		m.Values[netcfg.RTAXMTU] = 1400
		r.Metrics = &m
	case 2:
		r.NHID = 7
	}
	return r
}

// randomPlan is a plan of n changes of random routes, with a rule and a
// name among them now and then.
func randomPlan(rng *rand.Rand, n int) netcfg.Plan {
	var p netcfg.Plan
	for range n {
		c := netcfg.Change{Action: netcfg.ChangeAction(1 + rng.IntN(3))}
		switch rng.IntN(20) {
		case 0:
			rl := netcfg.NewRule()
			rl.Family, rl.Priority, rl.IIF, rl.Table = netcfg.V4, 1000, "eth0", 13
			c.Before.Rule, c.After.Rule = &rl, &rl
		case 1:
			c.Before.Name, c.After.Name = &netcfg.TableName{ID: 13, Name: "vpn"}, &netcfg.TableName{ID: 13, Name: "v2"}
		default:
			c.Before.Route, c.After.Route = randomPlanRoute(rng), randomPlanRoute(rng)
			c.After.Route.Table = c.Before.Route.Table
		}
		p.Changes = append(p.Changes, c)
	}
	return p
}

// TestPlanTextFastSameOnRandomPlans: the printout whose route lines are
// written word by word is byte for byte the one made of RouteArgs' words
// (refChangeText), Commands and lipgloss, in every style set, on random plans, and the
// fast path is taken for most of their lines.
func TestPlanTextFastSameOnRandomPlans(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 18))
	sets := map[string]Styles{"plain": PlainStyles(), "mono": MonoStyles(), "dark": DefaultStyles(true), "light": DefaultStyles(false)}
	withNames := &netcfg.Names{Tables: []netcfg.TableName{{ID: 13, Name: "vpn"}}, Protos: []netcfg.ProtoName{{ID: 186, Name: "bgp"}, {ID: 99, Name: "we\x1bird"}}}
	for round := range 40 {
		p := randomPlan(rng, 300)
		names := withNames
		if round%4 == 3 {
			names = nil
		}
		for name, st := range sets {
			netns := []string{"", "lab 1", "pln1"}[round%3]
			nf := "/etc/iproute2/rt_tables.d/nictab.conf"
			if names == nil {
				// The table headings need names; RouteText takes none.
				for i := range p.Changes {
					c := &p.Changes[i]
					if c.Subject().Route == nil {
						continue // a rule's text needs names
					}
					want, got := refChangeText(c, nil), ""
					if b, ok := appendChangeText(nil, c, nil); ok {
						got = string(b)
					} else {
						got = want
					}
					if got != want {
						t.Fatalf("round %d, %+v: appendChangeText without names\n got %q\nwant %q", round, c, got, want)
					}
				}
				continue
			}
			want := lipglossPlanText(&p, names, nf, netns, true, st)
			var buf bytes.Buffer
			if err := WritePlanText(&buf, &p, names, nf, netns, true, st); err != nil {
				t.Fatal(err)
			}
			if buf.String() != want {
				t.Fatalf("round %d, %s, netns %q: WritePlanText differs:\n got %q\nwant %q", round, name, netns, buf.String(), want)
			}
		}
	}
	fast := 0
	p := randomPlan(rng, 1000)
	for i := range p.Changes {
		if _, ok := appendChangeText(nil, &p.Changes[i], withNames); ok {
			fast++
		}
	}
	if fast < 150 {
		t.Errorf("only %d of 1000 random changes took the fast path", fast)
	}
}

// refChangeText is ChangeText as it was before any line was written word
// by word: routes through routeTextWords. The reference the fast paths are
// held to.
func refChangeText(c *netcfg.Change, names *netcfg.Names) string {
	obj := func(o netcfg.Object) string {
		if o.Rule == nil && o.Route != nil {
			return "route " + routeTextWords(o.Route, names)
		}
		return ObjectText(o, names)
	}
	if c.Action == netcfg.ChangeReplace {
		before := obj(c.Before)
		after := obj(c.After)
		if i := strings.IndexByte(after, ' '); i > 0 && strings.HasPrefix(before, after[:i]) {
			after = strings.TrimLeft(after[i:], " ")
		}
		for _, fam := range [...]string{" (IPv4)", " (IPv6)"} {
			if strings.HasSuffix(before, fam) && strings.HasSuffix(after, fam) {
				before = strings.TrimSuffix(before, fam)
			}
		}
		return "~ " + before + "  →  " + after
	}
	return c.Action.Mark() + " " + obj(c.Subject())
}

// TestRouteTextAndChangeTextSameAsWords: RouteText and ChangeText, which
// take the fast path where they can, say what the word-built text says.
func TestRouteTextAndChangeTextSameAsWords(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 18))
	names := &netcfg.Names{Protos: []netcfg.ProtoName{{ID: 186, Name: "bgp"}, {ID: 99, Name: "we\x1bird"}}}
	for i := range 20000 {
		r := randomPlanRoute(rng)
		n := names
		if i%3 == 0 {
			n = nil
		}
		if got, want := RouteText(r, n), routeTextWords(r, n); got != want {
			t.Fatalf("%+v: RouteText\n got %q\nwant %q", r, got, want)
		}
	}
	p := randomPlan(rng, 5000)
	for i := range p.Changes {
		c := &p.Changes[i]
		if got, want := ChangeText(c, names), refChangeText(c, names); got != want {
			t.Fatalf("%+v: ChangeText\n got %q\nwant %q", c, got, want)
		}
	}
}
