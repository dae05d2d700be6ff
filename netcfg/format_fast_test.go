package netcfg

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// randomRoute is a route with any mix of what a route's text holds:
// each type, scope and family, device names that need quoting or
// escaping or read as `ip route` words, and now and then what only the
// word-by-word path writes (next hops, metrics, a nexthop object).
func randomRoute(rng *rand.Rand) Route {
	pick := func(n int) int { return rng.IntN(n) }
	v4 := func() netip.Addr {
		return netip.AddrFrom4([4]byte{byte(pick(256)), byte(pick(256)), byte(pick(256)), byte(pick(256))})
	}
	v6 := func() netip.Addr {
		var a [16]byte
		a[0], a[1], a[15] = 0x20, 0x01, byte(pick(256))
		return netip.AddrFrom16(a)
	}
	r := Route{Table: []uint32{13, 100, 254, 4000000000}[pick(4)], Type: RouteType(pick(12))}
	switch pick(8) {
	case 0:
		r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	case 1:
		r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	case 2, 3:
		r.Dst = netip.PrefixFrom(v6(), 64+pick(65)).Masked()
	case 4:
		r.Dst = netip.PrefixFrom(netip.AddrFrom16(v4().As16()), 120)
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
	r.Dev = []string{"", "eth0", "sc0", "table", "proto", "metric", "scope", "via", "dev", "e$x", "a'b", "x (IPv4)", "ü", "e\x1b[2J", "tab\tx", `back\slash`, "-6", "no space"}[pick(18)]
	if pick(4) == 0 {
		r.Src = v4()
	}
	r.Scope = []Scope{ScopeUniverse, ScopeLink, ScopeHost, ScopeSite, ScopeNowhere, 77}[pick(6)]
	r.Proto = []uint8{0, ProtoNictab, 2, 4, 99, 186}[pick(6)]
	r.Metric = []uint32{0, 5, 1024, 4294967295}[pick(4)]
	r.Onlink = pick(4) == 0
	switch pick(12) {
	case 0:
		r.MultiPath = []NextHop{{Gw: v4(), Dev: "eth0", Weight: 2}, {Dev: "table"}}
	case 1:
		var m Metrics
		m.Values[RTAXMTU] = 1400
		r.Metrics = &m
	case 2:
		r.NHID = 7
	case 3:
		r.Realms = 3
	}
	return r
}

// TestBasicRouteCommandSameAsWords: the command of a basic route written
// word by word is the one built from RouteArgs, quoting and all.
func TestBasicRouteCommandSameAsWords(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 18))
	basic := 0
	for i := 0; i < 20000; i++ {
		r := randomRoute(rng)
		verb := []string{"add", "del", "replace"}[i%3]
		want := routeCommandWords(verb, &r)
		if got := RouteCommand(verb, &r); got != want {
			t.Fatalf("%+v: RouteCommand\n got %q\nwant %q", r, got, want)
		}
		if BasicRoute(&r) {
			basic++
		}
		kind := []OpKind{OpAddRoute, OpDelRoute, OpReplaceRoute}[i%3]
		for _, netns := range []string{"", "lab 1", "pln1"} {
			o := Op{Kind: kind, Route: &r}
			want := CommandIn(netns, routeCommandWords(verb, &r))
			if got := string(o.AppendCommand([]byte("x"), netns)); got != "x"+want {
				t.Fatalf("%+v in %q: AppendCommand\n got %q\nwant %q", r, netns, got, "x"+want)
			}
		}
	}
	if basic < 10000 {
		t.Errorf("only %d of 20000 routes took the word-by-word path", basic)
	}
}

// TestShellQuoteAndSafeTextAsBefore: the byte-wise checks in front of
// ShellQuote and SafeText say what the character-wise ones said.
func TestShellQuoteAndSafeTextAsBefore(t *testing.T) {
	quoteRunes := func(s string) string {
		if s == "" {
			return "''"
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:/,@%+=", c)) {
				return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
			}
		}
		return s
	}
	safeRunes := func(s string) string {
		for _, c := range s {
			if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\\' || c == 0xfffd {
				q := strconv.QuoteToGraphic(s)
				return q[1 : len(q)-1]
			}
		}
		return s
	}
	rng := rand.New(rand.NewPCG(2, 18))
	texts := []string{"", "eth0", "a b", "'", "''x'", "ü", "\xff", "\x7f", "\\", "10.0.0.0/8", "=%+@,:", "\u00a0", "\u0085", "é'"}
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.IntN(6))
		for j := range b {
			b[j] = byte(rng.IntN(256))
			if rng.IntN(2) == 0 {
				b[j] = "az09-'\\ \x1b"[rng.IntN(9)]
			}
		}
		texts = append(texts, string(b))
	}
	for _, s := range texts {
		if got, want := ShellQuote(s), quoteRunes(s); got != want {
			t.Errorf("ShellQuote(%q) = %q, want %q", s, got, want)
		}
		if got, want := string(appendShellQuote([]byte("x"), s)), "x"+quoteRunes(s); got != want {
			t.Errorf("appendShellQuote(%q) = %q, want %q", s, got, want)
		}
		if got, want := SafeText(s), safeRunes(s); got != want {
			t.Errorf("SafeText(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestSortRoutesAsSortFunc: routes compare as their keys do, and sorted
// through their positions end in the order a stable sort by key gives,
// whatever order they came in.
func TestSortRoutesAsSortFunc(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 18))
	for n := range 200 {
		routes := make([]Route, n)
		for i := range routes {
			routes[i] = randomRoute(rng)
			if i > 0 && rng.IntN(5) == 0 {
				routes[i].Dst, routes[i].Table, routes[i].Tos, routes[i].Metric = routes[i-1].Dst, routes[i-1].Table, routes[i-1].Tos, routes[i-1].Metric
			}
		}
		if n%7 == 0 {
			slices.SortFunc(routes, func(a, b Route) int { return a.Key().Compare(b.Key()) })
		}
		for i := 1; i < n; i++ {
			a, b := &routes[i-1], &routes[i]
			if got, want := compareRouteKeys(a, b), a.Key().Compare(b.Key()); got != want {
				t.Fatalf("compareRouteKeys(%v, %v) = %d, Key().Compare %d", a.Key(), b.Key(), got, want)
			}
		}
		want := slices.Clone(routes)
		slices.SortStableFunc(want, func(a, b Route) int { return a.Key().Compare(b.Key()) })
		sortRoutes(routes)
		if !reflect.DeepEqual(routes, want) {
			t.Fatalf("%d routes: sortRoutes gave another order", n)
		}
	}
}
