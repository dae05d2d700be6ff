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

// TestRoutesAsWantedFindsOnlyNothing holds VerifyTarget's shortcut to
// the merge and the matching it stands in for: on random tables, read
// back as wanted or with random mismatches (a route changed, gone, added,
// moved, or doubled, on either side), VerifyTarget reports exactly what
// the merge, or where it cannot run the matching, reports, and the
// shortcut answers only where both report nothing.
func TestRoutesAsWantedFindsOnlyNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	short, notIdentical := 0, 0
	for round := range 2000 {
		live := randomRoutes(rng, rng.IntN(40))
		if rng.IntN(4) > 0 {
			keySort(live)
		}
		var want []Route
		for _, r := range live {
			if r.Owned() {
				want = append(want, r)
			}
		}
		if rng.IntN(4) > 0 {
			want = slices.Clone(want)
			for range 1 + rng.IntN(2) {
				mismatch(rng, &live, &want)
			}
		} else if len(live) > 0 && rng.IntN(2) == 0 {
			// What RouteEqual overlooks and a snapshot's bytes do not: the
			// read-back as wanted, yet not identical.
			want = slices.Clone(want)
			switch r := &live[rng.IntN(len(live))]; rng.IntN(3) {
			case 0:
				r.Dead = !r.Dead
			case 1:
				r.LinkDown = !r.LinkDown
			default:
				r.Expires += 7
			}
		}
		old, ok := verifyRoutesInOrder(live, want)
		if !ok {
			old = verifyRoutes(live, want)
		}
		if m := verifyRoutes(live, want); len(m) != len(old) {
			t.Fatalf("round %d: the merge found %q, the matching %q", round, old, m)
		}
		got := VerifyTarget(State{Routes: live}, Owned{Routes: want})
		if !slices.Equal(got, old) {
			t.Fatalf("round %d: VerifyTarget found\n%q\nthe merge or the matching\n%q", round, got, old)
		}
		if ok, same := routesAsWanted(live, want); ok {
			if deep := ownedDeepEqual(live, want); same != deep {
				t.Fatalf("round %d: routesAsWanted says identical %v, reflect.DeepEqual of each %v", round, same, deep)
			}
			if !same {
				notIdentical++
			}
			short++
			if len(old) > 0 {
				t.Fatalf("round %d: taken as wanted, with differences %q", round, old)
			}
		}
	}
	if short < 200 {
		t.Errorf("only %d of 2000 rounds took the shortcut: the test says little", short)
	}
	if notIdentical < 20 {
		t.Errorf("only %d of the rounds taking the shortcut held routes equal but not identical", notIdentical)
	}
}

// mismatch makes one random difference between live and want.
func mismatch(rng *rand.Rand, live, want *[]Route) {
	side := live
	if rng.IntN(2) == 0 {
		side = want
	}
	rs := *side
	other := randomRoutes(rng, 1)[0]
	other.Proto = ProtoNictab
	if len(rs) == 0 {
		*side = append(rs, other)
		return
	}
	i := rng.IntN(len(rs))
	switch rng.IntN(9) {
	case 0:
		rs[i].Dev += "x"
	case 1:
		m := Metrics{}
		m.Values[2] = 1400
		rs[i].Metrics = m.Ptr()
	case 2:
		rs[i].Unmodelled = append(slices.Clone(rs[i].Unmodelled), RawAttr{Type: 99, Name: "RTA_99", Data: []byte{1}})
	case 3:
		rs[i].Expires = 30
	case 4:
		rs[i].Proto = ProtoKernel
	case 5:
		*side = slices.Delete(rs, i, i+1)
	case 6:
		*side = slices.Insert(rs, i, other)
	case 7:
		*side = slices.Insert(rs, i, rs[i])
	case 8:
		j := rng.IntN(len(rs))
		rs[i], rs[j] = rs[j], rs[i]
	}
}

// ownedDeepEqual reports whether nictab's routes among live are, in their
// order, reflect.DeepEqual to want's.
func ownedDeepEqual(live, want []Route) bool {
	var owned []Route
	for _, r := range live {
		if r.Owned() {
			owned = append(owned, r)
		}
	}
	if len(owned) != len(want) {
		return false
	}
	for i := range owned {
		if !reflect.DeepEqual(owned[i], want[i]) {
			return false
		}
	}
	return true
}
