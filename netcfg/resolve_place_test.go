package netcfg

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"unsafe"
)

// placeRoutesBuilt is how Resolve made its routes before placeRoutes:
// every route built in intent order (oldIntentRoute is the code route
// had), its clashes found and the list sorted by keyRuns, routeClashes
// and sortRoutesKeyed over the built routes. TestPlaceRoutesAsBuilt holds
// placeRoutes to it.
func placeRoutesBuilt(r *resolver) []Route {
	routes := slices0(r.d.Routes)
	origin := slices0(r.origin)
	for p := int32(len(r.d.Routes)); p < int32(len(r.keys)); p++ {
		at := r.originOf(p)
		routes = append(routes, oldIntentRoute(&r.in.Routes[at], r.keys[p].table))
		origin = append(origin, at)
	}
	keys, order, runs := keyRuns(routes)
	for _, c := range routeClashes(keys, order, runs) {
		a, b := &routes[c.first], &routes[c.dup]
		if RouteEqual(a, b) {
			r.fail(fieldErr(originField(origin[c.dup]), "the route %s is planned twice", RouteString(a)))
			continue
		}
		r.fail(fieldErr(originField(origin[c.dup]), "%s clashes with %s: a table holds one route per destination and metric; give each NIC its own table, or set a metric", RouteString(b), RouteString(a)))
	}
	if len(r.errs) > 0 {
		return nil
	}
	sortRoutesKeyed(routes, order, runs)
	return routes
}

func slices0[T any](s []T) []T { return append([]T{}, s...) }

func oldIntentRoute(x *RouteIntent, table uint32) Route {
	typ := x.Type
	if typ == RouteUnspec {
		typ = RouteUnicast
	}
	rt := Route{Table: table, Type: typ, Dst: x.To.Masked(), Gw: x.Via, Dev: x.Dev, Src: x.Src, Proto: ProtoNictab, Metric: x.Metric}
	if x.MTU != 0 || x.AdvMSS != 0 {
		var m Metrics
		m.Values[RTAXMTU], m.Values[RTAXAdvMSS] = x.MTU, x.AdvMSS
		rt.Metrics = m.Ptr()
	}
	switch {
	case x.Scope != nil:
		rt.Scope = *x.Scope
	case typ == RouteUnicast && !x.Via.IsValid():
		rt.Scope = ScopeLink
	default:
		rt.Scope = ScopeUniverse
	}
	NormalizeRoute(&rt)
	return rt
}

// TestPlaceRoutesAsBuilt resolves random intents (duplicates, clashes,
// bad entries, IPv6 and IPv4-mapped destinations, several tables by id
// and by name, NICs, unsorted and sorted lists) both ways and requires
// the same Desired and the same errors, FieldError by FieldError.
func TestPlaceRoutesAsBuilt(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 18))
	live := State{
		Links: []Link{
			{Index: 1, Name: "lo", Loopback: true},
			{Index: 2, Name: "sc0", Addrs: []Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/16")}, {Prefix: netip.MustParsePrefix("2001:db8::1/64")}}},
			{Index: 3, Name: "sc1", Addrs: []Addr{{Prefix: netip.MustParsePrefix("192.168.5.2/24")}}},
		},
		Names: Names{Tables: []TableName{{ID: 300, Name: "far"}}},
	}
	link := ScopeLink
	defer func(n uintptr, t, s int) { placeMaxBytes, maxTemplates, placeSplitMin = n, t, s }(placeMaxBytes, maxTemplates, placeSplitMin)
	for c := range 400 {
		// Every other case past the size placed straight into sorted
		// slots: built in file order and moved as before.
		placeMaxBytes = 64 << 20
		if c%2 == 1 {
			placeMaxBytes = 0
		}
		// Placed in two halves at once, or on one core.
		placeSplitMin = 1 << 30
		if c%4 < 2 {
			placeSplitMin = 2
		}
		// Some routes placed from templates and the others from their
		// intent entries, or all from templates.
		maxTemplates = 1024
		if c%3 == 1 {
			maxTemplates = 2
		}
		in := randomRouteIntent(rng, c, &link)
		a, errA := resolveWith(in, live, (*resolver).placeRoutes)
		b, errB := resolveWith(in, live, placeRoutesBuilt)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("case %d (%d routes): Desired differs:\nplaced %+v\nbuilt  %+v", c, len(in.Routes), a.Routes, b.Routes)
		}
		if fmt.Sprint(errA) != fmt.Sprint(errB) || !reflect.DeepEqual(fieldErrs(errA), fieldErrs(errB)) {
			t.Fatalf("case %d: errors differ:\nplaced %v\nbuilt  %v", c, errA, errB)
		}
	}
}

func resolveWith(in Intent, live State, place func(*resolver) []Route) (Desired, error) {
	r := newResolver(in, live, DefaultPriorities)
	r.collect()
	return r.finish(place)
}

func fieldErrs(err error) []FieldError {
	var out []FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			var fe *FieldError
			if errors.As(e, &fe) {
				out = append(out, *fe)
			}
		}
	}
	return out
}

func randomRouteIntent(rng *rand.Rand, c int, link *Scope) Intent {
	in := Intent{Tables: []TableDef{{ID: 13, Name: "vpn"}}}
	if c%3 == 0 {
		in.NICs = append(in.NICs, NICIntent{Name: "sc0", Table: TableRef{ID: uint32(100 + rng.IntN(2))}, Gateways: []netip.Addr{netip.MustParseAddr("10.0.0.254")}})
	}
	if c%5 == 0 {
		in.NICs = append(in.NICs, NICIntent{Name: "sc1", Table: TableRef{Name: "vpn"}})
	}
	n := rng.IntN(600)
	if c%50 == 0 {
		n = 3000 + rng.IntN(3000) // past the sizes a comparison sort takes
	}
	bad := c%4 == 0
	for i := range n {
		x := RouteIntent{Via: netip.MustParseAddr("10.0.0.2"), Dev: "sc0"}
		switch rng.IntN(5) {
		case 0:
			x.Table = TableRef{ID: 101}
		case 1:
			x.Table = TableRef{Name: "vpn"}
		case 2:
			x.Table = TableRef{Name: "far"}
		default:
			x.Table = TableRef{ID: 100}
		}
		bits := 16 + rng.IntN(17)
		a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(3)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		switch rng.IntN(8) {
		case 0:
			var b [16]byte
			b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
			b[4], b[15] = byte(rng.IntN(4)), byte(rng.IntN(256))
			a, bits = netip.AddrFrom16(b), 48+rng.IntN(81)
			x.Via = netip.MustParseAddr("2001:db8::2")
		case 1:
			a, bits = netip.AddrFrom16(a.As16()), 96+bits // IPv4-mapped
			x.Via = netip.Addr{}
		case 2:
			x.Via = netip.Addr{}
		}
		x.To = netip.PrefixFrom(a, bits)
		switch rng.IntN(12) {
		case 0:
			x.Metric = uint32(rng.IntN(3))
		case 1:
			x.MTU = 1400
		case 2:
			x.Type, x.Via, x.Dev = RouteBlackhole, netip.Addr{}, ""
		case 3:
			x.Scope = link
		case 4:
			x.Dev = "sc1"
		case 5:
			x.Src = netip.MustParseAddr("10.0.0.1")
		}
		if bad && rng.IntN(40) == 0 {
			switch rng.IntN(5) {
			case 0:
				x.Dev = "nope0"
			case 1:
				x.To = netip.Prefix{}
			case 2:
				x.Table = TableRef{ID: 254}
			case 3:
				x.Table = TableRef{Name: "unknown"}
			case 4:
				x.Via, x.Dev = netip.Addr{}, ""
			}
		}
		in.Routes = append(in.Routes, x)
		if i > 0 && rng.IntN(60) == 0 {
			// A duplicate, or the same key with other attributes.
			d := in.Routes[rng.IntN(i)]
			if rng.IntN(2) == 0 {
				d.Src = netip.MustParseAddr("10.0.0.1")
			}
			in.Routes = append(in.Routes, d)
		}
	}
	if c%7 == 0 {
		// Sorted input: the path that finds the keys in order.
		d, err := Resolve(Intent{Routes: in.Routes}, State{Links: []Link{{Name: "sc0"}, {Name: "sc1"}}, Names: Names{Tables: []TableName{{ID: 13, Name: "vpn"}, {ID: 300, Name: "far"}}}}, DefaultPriorities)
		if err == nil {
			in.Routes = in.Routes[:0]
			for _, r := range d.Routes {
				in.Routes = append(in.Routes, RouteIntent{Table: TableRef{ID: r.Table}, Type: r.Type, To: r.Dst, Via: r.Gw, Dev: r.Dev, Src: r.Src, Metric: r.Metric})
			}
		}
	}
	return in
}

// TestChangeRoomTakenOnce holds the room Resolve maps for a plan's
// changes to its one plan: plans made from copies of one Desired, one
// after the other and at once, are the same plan, each in changes of its
// own.
func TestChangeRoomTakenOnce(t *testing.T) {
	live := State{Links: []Link{{Index: 2, Name: "sc0", Addrs: []Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/16")}}}}}
	var in Intent
	for i := range 20000 {
		a := netip.AddrFrom4([4]byte{byte(1 + i>>16), byte(i >> 8), byte(i), 0})
		in.Routes = append(in.Routes, RouteIntent{Table: TableRef{ID: 100}, To: netip.PrefixFrom(a, 24), Via: netip.MustParseAddr("10.0.0.2"), Dev: "sc0"})
	}
	d, err := Resolve(in, live, DefaultPriorities)
	if err != nil {
		t.Fatal(err)
	}
	if d.changes == nil {
		t.Fatal("Resolve made no room for the plan of 20000 routes: the test says nothing")
	}
	room := unsafe.SliceData(d.changes.s[:1])
	plans := make([]Plan, 4)
	var wg sync.WaitGroup
	for i := range plans {
		wg.Go(func() { plans[i] = PlanChanges(live, d) })
	}
	wg.Wait()
	inRoom := 0
	for i := range plans {
		if len(plans[i].Changes) != 20000 {
			t.Fatalf("plan %d: %d changes, want 20000", i, len(plans[i].Changes))
		}
		if !reflect.DeepEqual(plans[i].Changes, plans[0].Changes) {
			t.Fatalf("plan %d differs from plan 0", i)
		}
		if unsafe.SliceData(plans[i].Changes) == room {
			inRoom++
		}
		for j := range i {
			if unsafe.SliceData(plans[i].Changes) == unsafe.SliceData(plans[j].Changes) {
				t.Fatalf("plans %d and %d share their changes", j, i)
			}
		}
	}
	if inRoom != 1 {
		t.Errorf("%d plans took the room; want 1", inRoom)
	}
}
