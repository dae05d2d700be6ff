package ui

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// randomDst is a destination of the family of a (4 or 6, or 0 for
// either), now and then the default or an IPv4 address mapped into IPv6.
func randomDst(rng *rand.Rand, fam int) netip.Prefix {
	if fam == 0 {
		fam = []int{4, 6}[rng.IntN(2)]
	}
	switch rng.IntN(20) {
	case 0:
		if fam == 6 {
			return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	case 1:
		a := [16]byte{10: 0xff, 11: 0xff, 12: byte(rng.IntN(256)), 13: byte(rng.IntN(256))}
		return netip.PrefixFrom(netip.AddrFrom16(a), 96+rng.IntN(33)).Masked()
	}
	if fam == 6 {
		var a [16]byte
		for i := range a {
			a[i] = byte(rng.IntN(256))
		}
		return netip.PrefixFrom(netip.AddrFrom16(a), rng.IntN(129)).Masked()
	}
	a := [4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}
	return netip.PrefixFrom(netip.AddrFrom4(a), rng.IntN(33)).Masked()
}

// randomMemoPlan is a plan of n changes whose routes are a few random
// routes (randomPlanRoute: every type, scope, device, protocol and
// attribute) each to many destinations, the shape routeMemo writes from
// what it keeps, with replaced routes, rules and names among them, in
// one table or several.
func randomMemoPlan(rng *rand.Rand, n int) netcfg.Plan {
	// Now and then more kinds than the digest tells apart.
	kinds := make([]*netcfg.Route, []int{1 + rng.IntN(6), 3 * memoKinds}[rng.IntN(4)/3])
	for i := range kinds {
		kinds[i] = randomPlanRoute(rng)
		if i == 0 || rng.IntN(3) == 0 {
			continue
		}
		// A kind that differs from the first in one field.
		r, o := *kinds[0], randomPlanRoute(rng)
		switch rng.IntN(10) {
		case 0:
			r.Gw = o.Gw
		case 1:
			r.Dev = o.Dev
		case 2:
			r.Src = o.Src
		case 3:
			r.Scope = []netcfg.Scope{netcfg.ScopeUniverse, netcfg.ScopeLink, netcfg.ScopeHost, 77}[(slices.Index([]netcfg.Scope{netcfg.ScopeUniverse, netcfg.ScopeLink, netcfg.ScopeHost, 77}, r.Scope)+1+rng.IntN(3))%4]
		case 4:
			r.Proto = []uint8{0, netcfg.ProtoNictab, 2, 99, 186}[(slices.Index([]uint8{0, netcfg.ProtoNictab, 2, 99, 186}, r.Proto)+1+rng.IntN(4))%5]
		case 5:
			r.Metric = []uint32{0, 5, 1024}[(slices.Index([]uint32{0, 5, 1024}, r.Metric)+1+rng.IntN(2))%3]
		case 6:
			r.Tos += 1 + uint8(rng.IntN(255))
		case 7:
			r.Onlink = !r.Onlink
		case 8:
			r.Table++
		case 9:
			r.Type = netcfg.RouteType((int(r.Type) + 1 + rng.IntN(11)) % 12)
		}
		kinds[i] = &r
	}
	oneTable := rng.IntN(3) == 0
	var p netcfg.Plan
	for range n {
		c := netcfg.Change{Action: []netcfg.ChangeAction{netcfg.ChangeAdd, netcfg.ChangeDelete}[rng.IntN(2)]}
		switch rng.IntN(40) {
		case 0:
			rl := netcfg.NewRule()
			rl.Family, rl.Priority, rl.IIF, rl.Table = netcfg.V4, 1000, "eth0", 13
			c.Before.Rule, c.After.Rule = &rl, &rl
		case 1:
			c.Action = netcfg.ChangeReplace
			c.Before.Name, c.After.Name = &netcfg.TableName{ID: 13, Name: "vpn"}, &netcfg.TableName{ID: 13, Name: "v2"}
		default:
			k := kinds[rng.IntN(len(kinds))]
			r := *k
			fam := 4
			if netcfg.FamilyOf(k.Dst.Addr()) == netcfg.V6 {
				fam = 6
			}
			r.Dst = randomDst(rng, fam)
			if rng.IntN(30) == 0 {
				r.Dst = randomDst(rng, 0)
			}
			if oneTable {
				r.Table = 100
			}
			if rng.IntN(20) == 0 {
				c.Action = netcfg.ChangeReplace
				after := r
				after.Metric++
				c.Before.Route, c.After.Route = &r, &after
				break
			}
			if c.Action == netcfg.ChangeAdd {
				c.After.Route = &r
			} else {
				c.Before.Route = &r
			}
		}
		p.Changes = append(p.Changes, c)
	}
	if rng.IntN(2) == 0 {
		p.Notes = []netcfg.Note{{Text: "left as it is (`nictab snapshot save --adopt` takes it over): ip route add 10.0.0.0/8 dev eth0"}}
	}
	return p
}

// needleWriter is a LineRewriter that quotes each line holding one of its
// needles, as a writer whose rewrite only acts on some lines does.
type needleWriter struct {
	needles []string
	bytes.Buffer
}

func (w *needleWriter) rewrite(dst, lines []byte) []byte {
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n') + 1
		if i == 0 {
			i = len(lines)
		}
		line := lines[:i]
		if slices.ContainsFunc(w.needles, func(n string) bool { return bytes.Contains(line, []byte(n)) }) {
			dst = append(dst, "> "...)
		}
		dst = append(dst, line...)
		lines = lines[i:]
	}
	return dst
}

func (w *needleWriter) LineRewrite() LineRewrite {
	return LineRewrite{Rewrite: w.rewrite, Raw: &w.Buffer, Needles: w.needles}
}

// TestPlanTextMemoSameAsSequential: the printout whose route lines
// routeMemo writes from the text around their destination is byte for byte
// the one plan writes line by line (RenderPlanTextIn, and so the
// printout before the memo), on random plans of routes that differ in
// their destination, in every style set, with and without commands and a
// namespace, and through a rewrite whose needles are in some lines: in the
// text around the destinations, in the destinations or across their ends.
func TestPlanTextMemoSameAsSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 18))
	sets := []Styles{PlainStyles(), MonoStyles(), DefaultStyles(true), DefaultStyles(false)}
	withNames := &netcfg.Names{Tables: []netcfg.TableName{{ID: 13, Name: "vpn"}}, Protos: []netcfg.ProtoName{{ID: 186, Name: "bgp"}, {ID: 99, Name: "we\x1bird"}}}
	const nf = "/etc/iproute2/rt_tables.d/nictab.conf"
	needleSets := [][]string{
		nil, {"`nictab "}, {"`nictab ", "ip route ", "ip rule ", "ip -6 route ", "ip -6 rule "},
		{"dev e"}, {"0/2"}, {".1"}, {"2 via"}, {"del 1"}, {"ab "}, {"::"}, {"/64 "}, {"route add 1"}, {"m\x1b"}, {""},
	}
	sizes := []int{1, 7, 300, planChunkMin + planChunk + 3}
	for round := range 80 {
		n := sizes[round%len(sizes)]
		if n > 300 && round%3 != 0 {
			n = 300
		}
		p := randomMemoPlan(rng, n)
		st := sets[rng.IntN(len(sets))]
		netns := []string{"", "lab 1", "pln1", "x ip route y", "a'b"}[rng.IntN(5)]
		commands := rng.IntN(4) != 0
		plain := RenderPlanTextIn(&p, withNames, nf, netns, commands, st)
		for k, needles := range needleSets {
			if k > 2 && rng.IntN(3) != 0 {
				continue
			}
			var got []byte
			want := plain
			how := "no rewrite"
			if needles == nil {
				var buf bytes.Buffer
				if err := WritePlanText(&buf, &p, withNames, nf, netns, commands, st); err != nil {
					t.Fatal(err)
				}
				got = buf.Bytes()
				// And with the changes looked at in parts, whose kinds
				// are merged, in chunks of a few steps.
				parts, chunk := 2+rng.IntN(3), 1+rng.IntN(64)
				var parted bytes.Buffer
				if err := newPlanWriter(nil, st).writeChunked(&parted, newPlanStepsIn(&p, withNames, nf, netns, commands, parts), chunk, 2); err != nil {
					t.Fatal(err)
				}
				if parted.String() != want {
					t.Fatalf("round %d, %d changes in %d parts, chunks of %d: the printout differs", round, n, parts, chunk)
				}
			} else {
				w := &needleWriter{needles: needles}
				want = string(w.rewrite(nil, []byte(plain)))
				if err := WritePlanText(w, &p, withNames, nf, netns, commands, st); err != nil {
					t.Fatal(err)
				}
				got, how = w.Bytes(), fmt.Sprintf("needles %q", needles)
			}
			if string(got) != want {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("round %d, %d changes, netns %q, commands %v, %s: differs from byte %d:\n got %q\nwant %q",
					round, n, netns, commands, how, i, got[max(0, i-120):min(len(got), i+80)], want[max(0, i-120):min(len(want), i+80)])
			}
		}
	}
}

// TestPlanTextMemoTaken: on the plan of many routes that differ only in
// their destination, the memo writes every route line, its pieces need no
// rewrite by the CLI's needles, and a needle that can meet a destination
// sends its lines to the rewrite.
func TestPlanTextMemoTaken(t *testing.T) {
	var p netcfg.Plan
	for i := range 1000 {
		r := &netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Gw: netip.MustParseAddr("10.0.0.2"), Dev: "sc0", Proto: netcfg.ProtoNictab,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{20, byte(i >> 8), byte(i), 0}), 24)}
		c := netcfg.Change{Action: netcfg.ChangeAdd, After: netcfg.Object{Route: r}}
		if i%2 == 1 {
			c = netcfg.Change{Action: netcfg.ChangeDelete, Before: netcfg.Object{Route: r}}
		}
		p.Changes = append(p.Changes, c)
	}
	cli := []string{"`nictab ", "ip route ", "ip rule ", "ip -6 route ", "ip -6 rule "}
	for _, tc := range []struct {
		needles []string
		raw     bool
	}{{nil, true}, {cli, true}, {[]string{"2 via"}, false}, {[]string{"via 1"}, false}, {[]string{"0/"}, false}} {
		for _, st := range []Styles{PlainStyles(), DefaultStyles(true)} {
			s := newPlanSteps(&p, &netcfg.Names{}, "", "lab 1", true)
			w := &needleWriter{needles: tc.needles}
			rw := w.LineRewrite()
			if tc.needles == nil {
				rw = LineRewrite{}
			}
			cw := newPlanWriter(nil, st).chunkWriter(s, rw)
			cw.makeChunk(s, 0, s.len(), nil)
			if len(s.kinds) != 1 || slices.Contains(s.digest, 0) {
				t.Fatalf("needles %q: %d kinds of route, and routes without a digest", tc.needles, len(s.kinds))
			}
			for _, ways := range [][memoKinds]memoLine{cw.memo.diff[0], cw.memo.diff[1], cw.memo.cmd[0], cw.memo.cmd[1]} {
				if !ways[0].ok || ways[1].set {
					t.Fatalf("needles %q: the memo did not write the lines of one kind of route: %+v", tc.needles, ways)
				}
				if ways[0].raw != tc.raw {
					t.Errorf("needles %q: line %q…%q raw %v, want %v", tc.needles, ways[0].head, ways[0].tail, ways[0].raw, tc.raw)
				}
			}
		}
	}
}

// TestRouteMemoKnowsEveryField: sameButDst compares every field of a
// route that a basic route's line shows, and BasicRoute refuses the
// routes with any of the others set. A field added to Route fails here
// until it is placed in one of the two.
func TestRouteMemoKnowsEveryField(t *testing.T) {
	shown := []string{"Table", "Type", "Dst", "Gw", "Dev", "Src", "Scope", "Proto", "Metric", "Tos", "Onlink"}
	notBasic := []string{"MultiPath", "From", "NHID", "Metrics", "Pref", "Realms", "Expires", "Encap", "Unmodelled"}
	// Kernel state a line never shows and no comparison looks at.
	unshown := []string{"Dead", "LinkDown"}
	var fields []string
	for f := range reflect.TypeFor[netcfg.Route]().Fields() {
		fields = append(fields, f.Name)
	}
	known := slices.Concat(shown, notBasic, unshown)
	slices.Sort(fields)
	slices.Sort(known)
	if !slices.Equal(fields, known) {
		t.Fatalf("Route has fields %v; sameButDst and this test know %v", fields, known)
	}
	// Each shown field but the destination changes sameButDst's answer.
	base := netcfg.Route{Table: 1, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("10.0.0.0/8"), Dev: "a"}
	for _, name := range shown {
		r := base
		v := reflect.ValueOf(&r).Elem().FieldByName(name)
		switch name {
		case "Dst":
			r.Dst = netip.MustParsePrefix("11.0.0.0/9")
		case "Gw", "Src":
			v.Set(reflect.ValueOf(netip.MustParseAddr("10.0.0.1")))
		case "Dev":
			r.Dev = "b"
		case "Onlink":
			r.Onlink = true
		default:
			v.SetUint(v.Uint() + 1)
		}
		if got := sameButDst(&base, &r); got != (name == "Dst") {
			t.Errorf("a route with another %s: sameButDst says %v", name, got)
		}
	}
	// And the printout of routes one field apart, through the memo, is
	// the one plan writes.
	gw := netip.MustParseAddr("10.0.0.2")
	plain := netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Gw: gw, Dev: "sc0", Proto: netcfg.ProtoNictab}
	other := map[string]func(r *netcfg.Route){
		"Table": func(r *netcfg.Route) { r.Table = 101 }, "Type": func(r *netcfg.Route) { r.Type = netcfg.RouteBlackhole },
		"Gw": func(r *netcfg.Route) { r.Gw = netip.MustParseAddr("10.0.0.3") }, "Dev": func(r *netcfg.Route) { r.Dev = "sc1" },
		"Src": func(r *netcfg.Route) { r.Src = netip.MustParseAddr("10.0.0.1") }, "Scope": func(r *netcfg.Route) { r.Scope = netcfg.ScopeLink },
		"Proto": func(r *netcfg.Route) { r.Proto = 186 }, "Metric": func(r *netcfg.Route) { r.Metric = 5 },
		"Tos": func(r *netcfg.Route) { r.Tos = 4 }, "Onlink": func(r *netcfg.Route) { r.Onlink = true },
		"Dst": func(r *netcfg.Route) { r.Dst = netip.MustParsePrefix("2001:db8::/64") },
	}
	for _, name := range shown {
		var p netcfg.Plan
		for i := range 6 {
			r := plain
			r.Dst = netip.PrefixFrom(netip.AddrFrom4([4]byte{20, 0, byte(i), 0}), 24)
			if i%2 == 1 {
				other[name](&r)
			}
			p.Changes = append(p.Changes, netcfg.Change{Action: netcfg.ChangeAdd, After: netcfg.Object{Route: &r}}, netcfg.Change{Action: netcfg.ChangeDelete, Before: netcfg.Object{Route: &r}})
		}
		names := &netcfg.Names{Protos: []netcfg.ProtoName{{ID: 186, Name: "bgp"}}}
		var buf bytes.Buffer
		if err := WritePlanText(&buf, &p, names, "", "lab", true, PlainStyles()); err != nil {
			t.Fatal(err)
		}
		if want := RenderPlanTextIn(&p, names, "", "lab", true, PlainStyles()); buf.String() != want {
			t.Errorf("routes with another %s: the printout\n%s\nwant\n%s", name, buf.String(), want)
		}
	}
	for _, dst := range []string{"::/64", "::ffff:10.0.0.0/104"} {
		r := base
		r.Dst = netip.MustParsePrefix(dst)
		if sameButDst(&base, &r) {
			t.Errorf("a route to %s: sameButDst says its line is that of one to %s", dst, base.Dst)
		}
	}
}

// TestAppendPrefixAsNetip: appendPrefix writes what netip writes, for
// every length of IPv4 prefix and byte of an address, and for IPv6,
// mapped and invalid prefixes.
func TestAppendPrefixAsNetip(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 18))
	var ps []netip.Prefix
	for b := range 256 {
		for bits := range 33 {
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(b), byte(255 - b), byte(b * 7), byte(b / 3)}), bits))
		}
	}
	for range 20000 {
		ps = append(ps, randomDst(rng, 0))
	}
	ps = append(ps, netip.Prefix{}, netip.PrefixFrom(netip.MustParseAddr("1.2.3.4"), 33), netip.MustParsePrefix("255.255.255.255/32"))
	for _, p := range ps {
		want := string(p.AppendTo([]byte("x")))
		if got := string(appendPrefix([]byte("x"), p)); got != want {
			t.Fatalf("%v: appendPrefix gives %q, netip %q", p, got, want)
		}
		if s := p.String(); p.IsValid() && strings.Trim(s, prefixBytes) != "" {
			t.Fatalf("%v: %q holds a byte prefixBytes leaves out", p, s)
		}
	}
}
