package netcfg

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// randomRoutes returns routes that vary every field RouteString prints and
// RouteKey holds, with many keys shared, so the fast paths meet every case
// the plain code handled.
func randomRoutes(rng *rand.Rand, n int) []Route {
	v4 := func() netip.Addr {
		return netip.AddrFrom4([4]byte{byte(rng.IntN(3)), byte(rng.IntN(2)), byte(rng.IntN(16)), 0})
	}
	v6 := func() netip.Addr {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(3)), 15: byte(rng.IntN(4))})
	}
	devs := []string{"", "eth0", "eno1", "we ird$", "a\x00b"}
	out := make([]Route, n)
	for i := range out {
		r := Route{
			Table:  uint32(rng.IntN(3)) + 100,
			Type:   RouteType(rng.IntN(4)),
			Dev:    devs[rng.IntN(len(devs))],
			Scope:  []Scope{ScopeUniverse, ScopeLink, ScopeHost, 17}[rng.IntN(4)],
			Proto:  []uint8{0, ProtoKernel, ProtoNictab}[rng.IntN(3)],
			Metric: uint32(rng.IntN(3)) * 100,
			Tos:    uint8(rng.IntN(2)) * 0x1c,
			Onlink: rng.IntN(5) == 0,
		}
		switch rng.IntN(10) {
		case 0:
			r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		case 1:
			r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		case 2, 3:
			r.Dst = netip.PrefixFrom(v6(), 64+rng.IntN(2)*64)
		case 4:
			r.Dst = netip.PrefixFrom(netip.AddrFrom16(v4().As16()), 120)
		default:
			r.Dst = netip.PrefixFrom(v4(), 23+rng.IntN(2))
		}
		switch rng.IntN(4) {
		case 0:
			r.Gw = v4()
		case 1:
			r.Gw = v6()
		case 2:
			r.MultiPath = []NextHop{{Gw: v4(), Dev: "eth0", Weight: rng.IntN(3)}, {Dev: "eno1", Onlink: true}}
		}
		if rng.IntN(3) == 0 {
			r.Src = v4()
		}
		out[i] = r
	}
	return out
}

func TestAppendRouteStringIsRouteString(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rs := append(randomRoutes(rng, 5000), Route{}, Route{Type: RouteBlackhole, Dst: netip.MustParsePrefix("10.0.0.0/8")})
	for i := range rs {
		if got, want := string(appendRouteString(nil, &rs[i])), RouteString(&rs[i]); got != want {
			t.Fatalf("route %d: appendRouteString = %q, RouteString = %q", i, got, want)
		}
	}
}

// fingerprintRoutesPlain is how Fingerprint hashed routes before
// hashRouteStrings; the two must agree, or every saved plan turns stale.
func fingerprintRoutesPlain(routes []Route) string {
	h := sha256.New()
	keys := make([]string, len(routes))
	for i := range routes {
		keys[i] = RouteString(&routes[i])
	}
	slices.Sort(keys)
	for _, k := range keys {
		h.Write([]byte("route " + k + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestHashRouteStringsMatchesPlainSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 17, 3000} {
		rs := randomRoutes(rng, n)
		h := sha256.New()
		hashRouteStrings(h, rs)
		if got, want := hex.EncodeToString(h.Sum(nil)), fingerprintRoutesPlain(rs); got != want {
			t.Errorf("%d routes: hash %s, plain sort gives %s", n, got, want)
		}
	}
}

// matchRoutesPlain is the map-based matching PlanChanges used before
// matchRoutes.
func matchRoutesPlain(live, want []Route) ([]int32, []bool) {
	byKey := map[RouteKey]int32{}
	for i := range live {
		k := live[i].Key()
		if _, ok := byKey[k]; !ok || live[i].Owned() {
			byKey[k] = int32(i)
		}
	}
	wantKeys := map[RouteKey]bool{}
	match := make([]int32, len(want))
	for i := range want {
		wantKeys[want[i].Key()] = true
		j, ok := byKey[want[i].Key()]
		if !ok {
			j = -1
		}
		match[i] = j
	}
	wanted := make([]bool, len(live))
	for i := range live {
		wanted[i] = wantKeys[live[i].Key()]
	}
	return match, wanted
}

func TestMatchRoutesMatchesMaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 20 {
		live, want := randomRoutes(rng, rng.IntN(400)), randomRoutes(rng, rng.IntN(400))
		gm, gw := matchRoutes(live, want)
		wm, ww := matchRoutesPlain(live, want)
		if !slices.Equal(gm, wm) || !slices.Equal(gw, ww) {
			t.Fatalf("round %d: matchRoutes disagrees with the map-based matching\n%s", round, fmt.Sprint(gm, wm))
		}
	}
}
