package snapshots

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// jsonTestRoute is a route with any mix of what a route holds: each type,
// scope and family, devices encoding/json escapes, zones, and now and then
// the fields only encoding/json writes (next hops, metrics, a nexthop
// object, a source prefix, expiry, kernel flags, raw attributes).
func jsonTestRoute(rng *rand.Rand) netcfg.Route {
	pick := rng.IntN
	v4 := func() netip.Addr {
		return netip.AddrFrom4([4]byte{byte(pick(256)), byte(pick(256)), byte(pick(256)), byte(pick(256))})
	}
	v6 := func() netip.Addr {
		var a [16]byte
		a[0], a[1], a[15] = 0x20, 0x01, byte(pick(256))
		return netip.AddrFrom16(a)
	}
	r := netcfg.Route{Table: []uint32{0, 13, 100, 254, 4000000000}[pick(5)], Type: netcfg.RouteType(pick(14))}
	switch pick(8) {
	case 0:
		// The zero prefix: encoding/json writes it as "".
	case 1:
		r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	case 2, 3:
		r.Dst = netip.PrefixFrom(v6(), 64+pick(65)).Masked()
	case 4:
		r.Dst = netip.PrefixFrom(netip.AddrFrom16(v4().As16()), 120)
	default:
		r.Dst = netip.PrefixFrom(v4(), pick(33)).Masked()
	}
	switch pick(5) {
	case 0:
		r.Gw = v4()
	case 1:
		r.Gw = v6()
	case 2:
		r.Gw = netip.MustParseAddr("fe80::1%eth0")
	}
	r.Dev = []string{"", "eth0", "sc0", "a<b", "x&y", `q"q`, `back\slash`, "ü", "e\x1b[2J", "tab\tx", "\xff", "del\x7f", "no space"}[pick(13)]
	if pick(4) == 0 {
		r.Src = v4()
	}
	r.Scope = []netcfg.Scope{netcfg.ScopeUniverse, netcfg.ScopeLink, netcfg.ScopeHost, netcfg.ScopeSite, netcfg.ScopeNowhere, 77}[pick(6)]
	r.Proto = uint8(pick(256))
	r.Metric = []uint32{0, 5, 1024, 4294967295}[pick(4)]
	if pick(5) == 0 {
		r.Tos = uint8(pick(256))
	}
	r.Onlink = pick(4) == 0
	switch pick(16) {
	case 0:
		r.MultiPath = []netcfg.NextHop{{Gw: v4(), Dev: "eth0", Weight: 2}, {Dev: "x<y"}}
	case 1:
		var m netcfg.Metrics
		m.Values[netcfg.RTAXMTU] = 1400
		r.Metrics = &m
	case 2:
		r.NHID = 7
	case 3:
		r.Realms = 3
	case 4:
		r.From = netip.PrefixFrom(v6(), 64).Masked()
	case 5:
		r.Expires = 30
	case 6:
		r.Dead, r.LinkDown = true, pick(2) == 0
	case 7:
		r.Unmodelled = []netcfg.RawAttr{{Type: 99, Data: []byte{1, 2, 3}}}
	case 8:
		r.Pref = 1
	}
	return r
}

// TestMarshalDesiredAsEncodingJSON holds the hand-written journal encoding
// to encoding/json on random states: the same bytes, whichever routes take
// which path, and states that encoding/json reads back as they were.
func TestMarshalDesiredAsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 18))
	basic := 0
	for i := range 3000 {
		d := netcfg.Desired{Tables: []uint32{13, 100}}
		if i%7 == 0 {
			d.Routes = []netcfg.Route{}
		}
		for range rng.IntN(20) {
			r := jsonTestRoute(rng)
			// Half the states in runs of one type and scope, as a table
			// holds them, the device changing or not from one to the next.
			if n := len(d.Routes); i%2 == 0 && n > 0 {
				r.Type, r.Scope = d.Routes[n-1].Type, d.Routes[n-1].Scope
				if rng.IntN(2) == 0 {
					r.Dev = d.Routes[n-1].Dev
				}
			}
			if basicJSONRoute(&r) {
				basic++
			}
			d.Routes = append(d.Routes, r)
		}
		if i%3 == 0 {
			ru := netcfg.NewRule()
			ru.Priority, ru.Table, ru.IIF = 1000, 13, `in"routes":null`
			d.Rules = append(d.Rules, ru)
			d.Names = []netcfg.TableName{{ID: 13, Name: "vpn"}}
			d.Notes = []netcfg.Note{{Text: `"routes":null`}}
		}
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshalDesired(d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("state %d:\n got %s\nwant %s", i, got, want)
		}
	}
	if basic < 2000 {
		t.Fatalf("only %d basic routes were drawn: the hand-written path was hardly tried", basic)
	}
}

func BenchmarkMarshalDesired100k(b *testing.B) {
	d := netcfg.Desired{Tables: []uint32{100}}
	for i := range 100_000 {
		d.Routes = append(d.Routes, netcfg.Route{Table: 100, Type: netcfg.RouteUnicast,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + i>>16), byte(i >> 8), byte(i), 0}), 24),
			Gw:  netip.MustParseAddr("10.0.0.2"), Dev: "sc0", Proto: netcfg.ProtoNictab})
	}
	for _, c := range []struct {
		name string
		f    func(netcfg.Desired) ([]byte, error)
	}{{"encoding/json", func(d netcfg.Desired) ([]byte, error) { return json.Marshal(d) }}, {"marshalDesired", marshalDesired}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				if _, err := c.f(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
