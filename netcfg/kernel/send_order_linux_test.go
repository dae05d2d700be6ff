//go:build linux

package kernel_test

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

func routeOp(kind netcfg.OpKind, dst netip.Prefix) netcfg.Op {
	r := netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Dst: dst, Gw: netip.MustParseAddr("10.0.0.2"), Dev: "sc0", Proto: netcfg.ProtoNictab}
	if dst.Addr().Is6() {
		r.Gw = netip.MustParseAddr("2001:db8::2")
	}
	return netcfg.Op{Kind: kind, Route: &r}
}

// v4Run is n ops of kind on /24s, every step-th one from 20.0.0.0/24.
func v4Run(kind netcfg.OpKind, n, step int) []netcfg.Op {
	ops := make([]netcfg.Op, n)
	for i := range ops {
		a := uint32(20<<24) + uint32(i*step)<<8
		ops[i] = routeOp(kind, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24))
	}
	return ops
}

// TestSendOrderPermutesWithinRuns: whatever the ops, the send order is a
// permutation that moves no op out of its run (a run of one kind, table,
// family and gateway-ness), so the ops around a run go out as the plan
// orders them.
func TestSendOrderPermutesWithinRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 19))
	for trial := range 200 {
		var ops []netcfg.Op
		for len(ops) < 3000 {
			kind := []netcfg.OpKind{netcfg.OpAddRoute, netcfg.OpDelRoute}[rng.IntN(2)]
			n := 1 + rng.IntN(600)
			if rng.IntN(4) == 0 {
				for range n {
					var b [16]byte
					b[0], b[1], b[2] = 0x20, 0x01, byte(rng.IntN(256))
					b[3] = byte(rng.IntN(256))
					ops = append(ops, routeOp(kind, netip.PrefixFrom(netip.AddrFrom16(b), 64)))
				}
				continue
			}
			ops = append(ops, v4Run(kind, n, 1+rng.IntN(8))...)
		}
		run := make([]int, len(ops)) // the run each op is in
		for i := 1; i < len(ops); i++ {
			a, b := ops[i-1], ops[i]
			same := a.Kind == b.Kind && a.Route.Table == b.Route.Table && a.Route.Family() == b.Route.Family() && a.Route.Gw.IsValid() == b.Route.Gw.IsValid()
			run[i] = run[i-1]
			if !same {
				run[i]++
			}
		}
		order := kernel.SendOrder(ops)
		seen := make([]bool, len(ops))
		for p, i := range order {
			if i < 0 || int(i) >= len(ops) || seen[i] {
				t.Fatalf("trial %d: send order %v… is not a permutation", trial, order[:min(10, len(order))])
			}
			seen[i] = true
			if run[i] != run[p] {
				t.Fatalf("trial %d: op %d of run %d goes out at %d, in run %d", trial, i, run[i], p, run[p])
			}
		}
	}
}

// TestSendOrderSpreadsWholeRuns: a run of route writes is spread over all
// of it (see sendOrder), whether its routes lie close or far apart: the
// first 16,384 sent of a run of 40,000 reach past its first 16,384.
func TestSendOrderSpreadsWholeRuns(t *testing.T) {
	const n, block = 40_000, 16_384
	for _, c := range []struct {
		name string
		ops  []netcfg.Op
	}{
		{"dense additions", v4Run(netcfg.OpAddRoute, n, 1)},
		{"sparse additions", v4Run(netcfg.OpAddRoute, n, 50)},
		{"dense deletions", v4Run(netcfg.OpDelRoute, n, 1)},
		{"sparse deletions", v4Run(netcfg.OpDelRoute, n, 50)},
	} {
		order := kernel.SendOrder(c.ops)
		if first := slices.Max(order[:block]); first < block {
			t.Errorf("%s: the first %d sent reach only op %d", c.name, block, first)
		}
	}
}
