package kernel

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// randomOpRuns makes n ops in runs that share all but the destination, as
// the routes of a file do, between ops that break a run: other kinds,
// rules, another family or length, next hops, metrics, a device the
// links do not know.
func randomOpRuns(rng *rand.Rand, n int) []netcfg.Op {
	gws := []netip.Addr{{}, netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("2001:db8::1")}
	devs := []string{"a0", "a1", "lo", "gone0", ""}
	kinds := []netcfg.OpKind{netcfg.OpAddRoute, netcfg.OpReplaceRoute, netcfg.OpDelRoute}
	var ops []netcfg.Op
	var base netcfg.Route
	kind := netcfg.OpAddRoute
	for len(ops) < n {
		if len(ops) == 0 || rng.IntN(8) == 0 {
			bits := []int{8, 24, 32, 64, 128}[rng.IntN(5)]
			var a netip.Addr
			if bits <= 32 && rng.IntN(4) > 0 {
				a = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(200)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0})
			} else {
				a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(256)), byte(rng.IntN(256))})
			}
			base = netcfg.Route{
				Table: []uint32{100, 254, 1000}[rng.IntN(3)], Type: netcfg.RouteUnicast,
				Dst: netip.PrefixFrom(a, bits).Masked(), Gw: gws[rng.IntN(len(gws))], Dev: devs[rng.IntN(len(devs))],
				Proto: []uint8{netcfg.ProtoNictab, 4}[rng.IntN(2)], Metric: uint32(rng.IntN(2) * 100),
				Tos: uint8(rng.IntN(2)) * 0x1c, Onlink: rng.IntN(6) == 0, Realms: uint32(rng.IntN(2)),
			}
			switch rng.IntN(8) {
			case 0:
				base.Metrics = &netcfg.Metrics{}
				base.Metrics.Values[2] = 1400
			case 1:
				base.Gw, base.Dev = netip.Addr{}, ""
				base.MultiPath = []netcfg.NextHop{{Gw: netip.MustParseAddr("10.0.0.2"), Dev: "a0", Weight: 1}, {Dev: "a1", Weight: 2}}
			case 2:
				base.Src = netip.MustParseAddr("10.0.0.1")
			}
			kind = kinds[rng.IntN(len(kinds))]
		}
		if rng.IntN(20) == 0 {
			ops = append(ops, netcfg.Op{Kind: netcfg.OpAddRule, Rule: &netcfg.Rule{Family: netcfg.V4, Priority: uint32(1000 + len(ops)), Action: netcfg.ActionLookup, Table: 100, Proto: netcfg.ProtoNictab}})
			continue
		}
		r := base
		r.MultiPath = slices.Clone(base.MultiPath)
		if rng.IntN(4) == 0 {
			// The route before but for one field: each field that
			// sameButDst compares, in turn.
			oneFieldOff(rng, &r)
		}
		if b := r.Dst.Addr().AsSlice(); true {
			// Another destination of the same length: its bytes within
			// the prefix changed.
			k := max(0, r.Dst.Bits()/8-1)
			b[k] ^= byte(1 + rng.IntN(255))
			a, _ := netip.AddrFromSlice(b)
			r.Dst = netip.PrefixFrom(a, r.Dst.Bits()).Masked()
		}
		ops = append(ops, netcfg.Op{Kind: kind, Route: &r})
	}
	return ops
}

// oneFieldOff changes one field of r that its request encodes, other than
// the destination's address.
func oneFieldOff(rng *rand.Rand, r *netcfg.Route) {
	switch rng.IntN(16) {
	case 14:
		// Another length.
		bits := r.Dst.Bits() + 1
		if bits > r.Dst.Addr().BitLen() {
			bits -= 2
		}
		r.Dst = netip.PrefixFrom(r.Dst.Addr(), bits).Masked()
	case 15:
		// The other family, the same length.
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 9})
		if !r.Dst.Addr().Is4() {
			a = netip.AddrFrom4([4]byte{10, 9, 9, 0})
		}
		r.Dst = netip.PrefixFrom(a, min(r.Dst.Bits(), 32)).Masked()
	case 0:
		r.Table++
	case 1:
		r.Type = netcfg.RouteBlackhole
	case 2:
		r.Gw = netip.MustParseAddr("10.9.9.9")
	case 3:
		r.Dev = "a1"
		if r.Dev == "a1" {
			r.Dev = "a0"
		}
	case 4:
		r.Src = netip.MustParseAddr("10.0.0.9")
	case 5:
		r.Scope = netcfg.ScopeLink
	case 6:
		r.Proto++
	case 7:
		r.Metric += 7
	case 8:
		r.Tos ^= 0x10
	case 9:
		r.Onlink = !r.Onlink
	case 10:
		r.From = netip.MustParsePrefix("2001:db8:9::/48")
	case 11:
		r.NHID = 7
	case 12:
		r.Pref = netcfg.PrefHigh
	default:
		r.Realms += 3
	}
}

// sendOrderByFirst is sendOrder as each op of a run of routes compared
// with the run's first: the oracle of the runs found op by op.
func sendOrderByFirst(ops []netcfg.Op) []int32 {
	order := make([]int32, len(ops))
	for i := range order {
		order[i] = int32(i)
	}
	for i := 0; i < len(ops); {
		if k := ops[i].Kind; (k == netcfg.OpAddRoute || k == netcfg.OpDelRoute) && spreadable(ops[i].Route) {
			j := i + 1
			for j < len(ops) && ops[j].Kind == k && spreadable(ops[j].Route) && ops[j].Route.Table == ops[i].Route.Table &&
				ops[j].Route.Gw.IsValid() == ops[i].Route.Gw.IsValid() && ops[j].Route.Family() == ops[i].Route.Family() {
				j++
			}
			spread(order[i:j])
			i = j
			continue
		}
		if ops[i].Kind != netcfg.OpAddRule {
			i++
			continue
		}
		j := i
		for j < len(ops) && ops[j].Kind == netcfg.OpAddRule {
			j++
		}
		// Rule runs are not this test's: sendOrder's own order of them.
		copy(order[i:j], sendOrder(ops[i:j]))
		for k := i; k < j; k++ {
			order[k] += int32(i)
		}
		i = j
	}
	return order
}

// TestEncodeOpsAsOneByOne holds encodeOps, which makes most route
// requests from the one before, to the requests encodeOp makes of each
// op alone: byte for byte, sequence numbers included, the same ops
// refused.
func TestEncodeOpsAsOneByOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	repeated := 0
	for round := range 300 {
		ops := randomOpRuns(rng, 1+rng.IntN(400))
		c := &rtnl{seq: uint32(rng.IntN(1 << 20))}
		seq := c.seq
		refused := map[int]bool{}
		runs := make([]bool, len(ops))
		arena, off := c.encodeOps(ops, fuzzLinks, runs, func(i int, err error) { refused[i] = true })
		if got, want := sendOrderOfRuns(ops, runs), sendOrderByFirst(ops); !slices.Equal(got, want) {
			t.Fatalf("round %d: the runs found while encoding send the ops in the order %v, each op compared with its run's first %v", round, got, want)
		}
		if c.seq != seq {
			t.Fatalf("round %d: encodeOps left the sequence at %d, not %d", round, c.seq, seq)
		}
		for i := range ops {
			one := &rtnl{seq: seq + uint32(i)}
			err := one.encodeOp(ops[i], fuzzLinks)
			if (err != nil) != refused[i] {
				t.Fatalf("round %d: op %d refused %v, alone: %v", round, i, refused[i], err)
			}
			want := one.wbuf
			if err != nil {
				want = nil
			}
			got := arena[off[i]:off[i+1]]
			if !bytes.Equal(got, want) {
				t.Fatalf("round %d: op %d (%v %s) encoded as\n%x\nalone\n%x", round, i, ops[i].Kind, netcfg.RouteString(ops[i].Route), got, want)
			}
			if i > 0 && ops[i].Route != nil && ops[i-1].Route != nil && ops[i].Kind == ops[i-1].Kind && sameButDst(ops[i].Route, ops[i-1].Route) && err == nil {
				repeated++
			}
		}
	}
	if repeated < 10000 {
		t.Errorf("only %d requests could be made from the one before: the test says little", repeated)
	}
}

// TestSameButDstKnowsEveryField fails when a field is added to
// netcfg.Route: sameButDst must then compare it (or refuse routes that
// set it), or requests would be made from a route that differs in it.
func TestSameButDstKnowsEveryField(t *testing.T) {
	known := []string{"Table", "Type", "Dst", "Gw", "Dev", "Src", "Scope", "Proto", "Metric", "Tos", "Onlink",
		"MultiPath", "From", "NHID", "Metrics", "Pref", "Realms", "Expires", "Encap", "Dead", "LinkDown", "Unmodelled"}
	var fields []string
	for f := range reflect.TypeFor[netcfg.Route]().Fields() {
		fields = append(fields, f.Name)
	}
	if !slices.Equal(fields, known) {
		t.Fatalf("netcfg.Route has the fields %v; sameButDst was written for %v", fields, known)
	}
}
