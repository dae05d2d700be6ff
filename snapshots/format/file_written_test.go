package format

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nictab/nictab/netcfg"
)

// Values at the edges of what the simple form allows, and past them.
var (
	writtenTables = []uint32{100, 0, 1, 252, 253, 254, 255, 256, 1<<32 - 1}
	writtenNames  = []string{"", "vpn", "main", "local", "0100", "100", "1e3", "a b", "true", "null", "x.y", strings.Repeat("n", 65), "é"}
	writtenDevs   = []string{"sc0", "", "eth0.100", "true", "null", "1", "0x10", "a b", "-x", "a:b", "a/b", "é", strings.Repeat("d", 16), "lo:1", ".", "a,b"}
	writtenAddrs  = []string{"10.0.0.2", "", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.255", "2001:db8::1", "::ffff:10.0.0.2", "fe80::1"}
	writtenDsts   = []string{"11.0.0.0/24", "11.0.0.7/24", "0.0.0.0/0", "11.0.0.1/32", "2001:db8::/64", "::ffff:11.0.0.0/120", ""}
)

// pick is usually the first value, the simple one, and sometimes any:
// a route is then mostly simple, with an edge or two.
func pick[T any](r *rand.Rand, xs []T) T {
	if r.IntN(5) > 0 {
		return xs[0]
	}
	return xs[r.IntN(len(xs))]
}

func addrOf(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}

func prefixOf(s string) netip.Prefix {
	if s == "" {
		return netip.Prefix{}
	}
	return netip.MustParsePrefix(s)
}

func randomIntentRoute(r *rand.Rand) netcfg.RouteIntent {
	ri := netcfg.RouteIntent{
		Table: netcfg.TableRef{ID: pick(r, writtenTables), Name: pick(r, writtenNames)},
		To:    prefixOf(pick(r, writtenDsts)), Via: addrOf(pick(r, writtenAddrs)), Src: addrOf(pick(r, append([]string{""}, writtenAddrs...))),
		Dev: pick(r, writtenDevs), Metric: pick(r, []uint32{0, 0, 1, 1<<32 - 1}),
	}
	if ri.Table.Name != "" {
		ri.Table.ID = 0
	}
	switch r.IntN(12) {
	case 0:
		sc := netcfg.ScopeLink
		ri.Scope = &sc
	case 1:
		ri.Type = netcfg.RouteBlackhole
	case 2:
		ri.MTU = 1400
	}
	return ri
}

func randomSavedRoute(r *rand.Rand) netcfg.Route {
	rt := netcfg.Route{
		Table: pick(r, writtenTables), Type: pick(r, []netcfg.RouteType{netcfg.RouteUnicast, netcfg.RouteUnicast, netcfg.RouteLocal, netcfg.RouteBlackhole, netcfg.RouteType(99)}),
		Dst: prefixOf(pick(r, writtenDsts)), Gw: addrOf(pick(r, writtenAddrs)), Src: addrOf(pick(r, append([]string{""}, writtenAddrs...))),
		Dev: pick(r, writtenDevs), Scope: pick(r, []netcfg.Scope{netcfg.ScopeUniverse, netcfg.ScopeUniverse, netcfg.ScopeLink, netcfg.ScopeHost, netcfg.Scope(77)}),
		Proto: pick(r, []uint8{0, 2, 201, 255}), Metric: pick(r, []uint32{0, 1024, 1<<32 - 1}), Tos: pick(r, []uint8{0, 0, 8}), Onlink: r.IntN(4) == 0,
	}
	switch r.IntN(10) {
	case 0:
		rt.MultiPath = []netcfg.NextHop{{Gw: addrOf("10.0.0.2"), Dev: "sc0", Weight: 1}}
	case 1:
		rt.Realms = 3
	case 2:
		rt.Pref = netcfg.PrefHigh
	}
	return rt
}

// TestWrittenListsLoadAsWritten holds the simple form to Parse: a route
// Marshal takes as known to load is read back, from the file Marshal
// returns, as exactly that route; and the routes it does not take still
// give the file, or the error, that checking the whole file gives.
func TestWrittenListsLoadAsWritten(t *testing.T) {
	rnd := rand.New(rand.NewPCG(18, 2026))
	meta := &Meta{ID: "261124-120000", Kind: "apply", Time: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	simple, saved := 0, 0
	for range 2000 {
		ri, rt := randomIntentRoute(rnd), randomSavedRoute(rnd)
		s := &Snapshot{Intent: netcfg.Intent{Routes: []netcfg.RouteIntent{ri}}, Meta: meta, Resolved: &netcfg.Owned{Routes: []netcfg.Route{rt}}}
		out, err := Marshal(s)
		isSimple, isSaved := simpleRoutes(s.Intent.Routes), simpleSavedRoutes(s.Resolved.Routes)
		if isSimple {
			simple++
		}
		if isSaved {
			saved++
		}
		// The file as the check that skips nothing sees it.
		full := writeAll(s)
		wholeErr := checkLoads(full, -1)
		if (err == nil) != (wholeErr == nil) {
			t.Fatalf("Marshal: %v; the whole file checked: %v\n%s", err, wholeErr, full)
		}
		if err != nil {
			if !strings.HasSuffix(err.Error(), wholeErr.Error()) {
				t.Errorf("Marshal says %q, the whole file %q", err, wholeErr)
			}
			if isSimple && isSaved {
				t.Errorf("a file of simple lists does not load: %v\n%s", err, full)
			}
			continue
		}
		back, err := Parse("back", out)
		if err != nil {
			t.Fatalf("Parse(Marshal(s)): %v\n%s", err, out)
		}
		if isSimple {
			if diff := cmp.Diff(s.Intent.Routes, back.Intent.Routes, snapshotOpts); diff != "" {
				t.Errorf("a simple route reads back otherwise (-written +read):\n%s\n%s", diff, out)
			}
		}
		if isSaved {
			if diff := cmp.Diff(s.Resolved.Routes, back.Resolved.Routes, snapshotOpts); diff != "" {
				t.Errorf("a simple saved route reads back otherwise (-written +read):\n%s\n%s", diff, out)
			}
		}
	}
	// The rule must take the common routes, or it tests nothing.
	if simple < 200 || saved < 200 {
		t.Errorf("only %d intent and %d saved routes of 2000 were simple", simple, saved)
	}
}

// writeAll is Marshal's file, unchecked.
func writeAll(s *Snapshot) []byte {
	out, _, _ := marshalText(s)
	return out
}

// TestWrittenListsRefuseDuplicates keeps the intent's duplicate routes
// out of the simple form: the file would not load, and Marshal says why
// as Load would.
func TestWrittenListsRefuseDuplicates(t *testing.T) {
	r := netcfg.RouteIntent{Table: netcfg.TableRef{ID: 100}, To: prefixOf("11.0.0.0/24"), Via: addrOf("10.0.0.2"), Dev: "sc0"}
	other := r
	other.Via = addrOf("10.0.0.3")
	for _, c := range []struct {
		routes []netcfg.RouteIntent
		want   string
	}{
		{[]netcfg.RouteIntent{r, r}, "routes[1]: the same route as routes[0] (line 3)"},
		{[]netcfg.RouteIntent{r, other}, "routes[1]: clashes with routes[0] (line 3)"},
	} {
		s := &Snapshot{Intent: netcfg.Intent{Routes: c.routes}}
		if simpleRoutes(c.routes) {
			t.Errorf("%v taken as simple", c.routes)
		}
		_, err := Marshal(s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Marshal: %v; want %q", err, c.want)
		}
	}
}

// TestWrittenListsLeftOut checks the file the check parses: the file
// Marshal wrote with the simple lists' lines left out, and a checksum of
// its own.
func TestWrittenListsLeftOut(t *testing.T) {
	s := bigSaved(3)
	out, sumAt, skip := marshalText(s)
	if len(skip) != 2 {
		t.Fatalf("%d lists known to load, want 2", len(skip))
	}
	got := string(withoutSpans(out, sumAt, skip))
	want := "version: 1\ncomment: big\nroutes:\nsnapshot:\n  id: 261124-120000\n  time: 2026-11-24T12:00:00Z\n  kind: apply\nresolved:\n  routes:\n"
	if !strings.HasPrefix(got, want+"checksum: sha256:") {
		t.Errorf("checked:\n%s\nwant it to start:\n%s", got, want)
	}
	if _, err := Parse("left-out", []byte(got)); err != nil {
		t.Error(err)
	}
}
