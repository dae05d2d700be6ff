package netcfg

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

// TestRuleIdenticalSeesEveryField changes each field of a rule in turn
// and checks that ruleIdentical tells the two apart: verify takes
// identical rules for equal without their keys, so a field it did not
// compare would let a difference through. A field added to Rule fails
// here until ruleIdentical compares it.
func TestRuleIdenticalSeesEveryField(t *testing.T) {
	base := NewRule()
	base.Family, base.Priority, base.Table, base.Proto = V4, 1000, 100, ProtoNictab
	if b := base; !ruleIdentical(&base, &b) {
		t.Fatal("a rule is not identical to its copy")
	}
	rt := reflect.TypeOf(base)
	for i := range rt.NumField() {
		f := rt.Field(i)
		b := base
		v := reflect.ValueOf(&b).Elem().Field(i)
		switch {
		case f.Type == reflect.TypeOf(netip.Prefix{}):
			v.Set(reflect.ValueOf(netip.MustParsePrefix("10.9.0.0/16")))
		case v.Kind() == reflect.Pointer:
			v.Set(reflect.New(f.Type.Elem()))
		case v.Kind() == reflect.Slice:
			v.Set(reflect.MakeSlice(f.Type, 1, 1))
		case v.Kind() == reflect.Bool:
			v.SetBool(!v.Bool())
		case v.CanInt():
			v.SetInt(v.Int() + 7)
		case v.CanUint():
			v.SetUint(v.Uint() + 7)
		case v.Kind() == reflect.String:
			v.SetString(v.String() + "x")
		default:
			t.Errorf("field %s of kind %s: no way to change it here; teach the test", f.Name, v.Kind())
			continue
		}
		if ruleIdentical(&base, &b) || ruleIdentical(&b, &base) {
			t.Errorf("rules that differ in %s are taken for identical", f.Name)
		}
	}
}

// TestVerifyRoutesInOrderAsMatched checks that the merge of routes in key
// order finds what the matching through sorts finds, in the same order,
// on random routes of several owners, sorted or not, with duplicates.
func TestVerifyRoutesInOrderAsMatched(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	merged := 0
	for round := range 400 {
		live, want := randomRoutes(rng, rng.IntN(60)), randomRoutes(rng, rng.IntN(60))
		if rng.IntN(3) > 0 {
			keySort(live)
		}
		if rng.IntN(3) > 0 {
			keySort(want)
		}
		if rng.IntN(2) == 0 {
			// The same routes on both sides, some of them changed.
			want = slices.Clone(live)
			for i := range want {
				want[i].Proto = ProtoNictab
				if rng.IntN(4) == 0 {
					want[i].Dev = "changed"
				}
			}
		}
		got, ok := verifyRoutesInOrder(live, want)
		if !ok {
			continue
		}
		merged++
		if w := verifyRoutes(live, want); !slices.Equal(got, w) {
			t.Fatalf("round %d: the merge found\n%q\nthe matching\n%q", round, got, w)
		}
	}
	if merged < 100 {
		t.Errorf("only %d of 400 rounds were merged: the test says little", merged)
	}
}

// keySort sorts routes by key.
func keySort(rs []Route) {
	slices.SortStableFunc(rs, func(a, b Route) int { return a.Key().Compare(b.Key()) })
}

// BenchmarkVerifyTarget100k verifies a read-back table of 100k routes
// against the target that wanted them, as Apply does after its writes.
func BenchmarkVerifyTarget100k(b *testing.B) {
	gw := netip.MustParseAddr("10.0.0.2")
	want := make([]Route, 0, 100_000)
	for i := uint32(0); len(want) < cap(want); i++ {
		a := 1<<24 + uint32(uint64(i)*2654435761%(220<<16))<<8
		if a>>24 == 10 || a>>24 == 127 {
			continue
		}
		want = append(want, Route{Table: 100, Type: RouteUnicast, Dev: "sc0", Gw: gw, Proto: ProtoNictab,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24)})
	}
	keySort(want)
	live := State{Routes: slices.Clone(want)}
	for i := range live.Routes {
		// Its own string, as a decoded route's device name is.
		live.Routes[i].Dev = string([]byte("sc0"))
	}
	t := Owned{Routes: want}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if d := VerifyTarget(live, t); len(d) > 0 {
			b.Fatal(d[0])
		}
	}
}
