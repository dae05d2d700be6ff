package snapshots

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// TestDigestDesiredAsMarshal: the digest made while encoding, spilling
// the bytes as it goes, is the digest of marshalDesired's bytes, for
// states of few routes and of many more than a spill holds.
func TestDigestDesiredAsMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 18))
	for i, n := range []int{0, 1, 20, 700, 3000} {
		d := netcfg.Desired{Tables: []uint32{13, 100}}
		for range n {
			d.Routes = append(d.Routes, jsonTestRoute(rng))
		}
		if i%2 == 0 {
			ru := netcfg.NewRule()
			ru.Priority, ru.Table = 1000, 13
			d.Rules = append(d.Rules, ru)
		}
		b, err := marshalDesired(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := digestDesired(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := stateDigest(b); got != want {
			t.Errorf("%d routes (%d bytes): digest %s, of the encoding %s", n, len(b), got, want)
		}
	}
}

// TestJournalBeforeForms: a journal holding its state before and one
// naming a snapshot both read back as written; a name that is not a
// snapshot's is refused.
func TestJournalBeforeForms(t *testing.T) {
	d := netcfg.Desired{Tables: []uint32{100}}
	for i := range encodeBeforeMin + 1 {
		d.Routes = append(d.Routes, netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 32), Dev: "eno1", Proto: netcfg.ProtoNictab})
	}
	base := Journal{TxID: "261202-060000", Started: time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC), PID: 7, Phase: PhaseApplying,
		Tables: []uint32{100}, Foreign: []string{`route "before":{} 10.9.0.0/16`}}
	held := base
	if err := held.setBefore(d); err != nil {
		t.Fatal(err)
	}
	named := base
	named.Before, named.beforeRef, named.beforeLoaded = d, &beforeRef{ID: "261202-055959", Digest: "sha256:ab"}, true
	for _, c := range []struct {
		name string
		j    *Journal
	}{{"held", &held}, {"named", &named}} {
		b, err := c.j.encode()
		if err != nil {
			t.Fatal(err)
		}
		var got Journal
		if err := got.decodeState(b); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(got.beforeRef, c.j.beforeRef) || got.TxID != c.j.TxID || !slices.Equal(got.Foreign, c.j.Foreign) {
			t.Errorf("%s: read back %+v", c.name, got)
		}
		if c.j.beforeRef == nil && !desiredIdentical(&got.Before, &d) {
			t.Errorf("%s: the state before did not read back", c.name)
		}
		if c.j.beforeRef != nil && (len(got.Before.Routes) != 0 || got.beforeLoaded) {
			t.Errorf("%s: a named state before reads as %d routes, loaded %v", c.name, len(got.Before.Routes), got.beforeLoaded)
		}
	}
	for _, bad := range []string{`"snapshot"`, `"snapshot x"`, `"snapshot ../x sha256:ab"`, `"x sha256:ab"`, `"snapshot x md5:ab"`} {
		var j Journal
		if err := j.decodeState([]byte(`{"txid":"t","before":` + bad + `}`)); err == nil {
			t.Errorf("before %s was read as %+v", bad, j.beforeRef)
		}
	}
}

// TestBeforeEncodingOrderFree: the kernel's order and a snapshot's give
// one encoding, and a state already in a snapshot's order is encoded
// from its own arrays.
func TestBeforeEncodingOrderFree(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 18))
	var d netcfg.Desired
	seen := map[netcfg.RouteKey]bool{}
	for len(d.Routes) < 200 {
		// One route per identity, as a kernel holds them.
		if r := jsonTestRoute(rng); !seen[r.Key()] {
			seen[r.Key()] = true
			d.Routes = append(d.Routes, r)
		}
	}
	for i := range 5 {
		ru := netcfg.NewRule()
		ru.Family, ru.Priority, ru.Table = []netcfg.Family{netcfg.V4, netcfg.V6}[i%2], uint32(1000+10*(i/2)), 13
		d.Rules = append(d.Rules, ru)
	}
	slices.SortStableFunc(d.Rules, func(a, b netcfg.Rule) int { return int(a.Family) - int(b.Family) })
	shuffled := d
	shuffled.Routes = slices.Clone(d.Routes)
	rng.Shuffle(len(shuffled.Routes), func(i, j int) {
		shuffled.Routes[i], shuffled.Routes[j] = shuffled.Routes[j], shuffled.Routes[i]
	})
	a, err := beforeEncoding(d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := beforeEncoding(shuffled)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("two orders of one state encode differently:\n%.200s\n%.200s", a, b)
	}
	for _, x := range []netcfg.Desired{d, shuffled} {
		got, err := beforeDigest(x)
		if err != nil {
			t.Fatal(err)
		}
		if got != stateDigest(a) {
			t.Errorf("beforeDigest %s, the encoding's %s", got, stateDigest(a))
		}
	}
	if _, order := canonOrderOf(canonOrder(shuffled)); order != nil {
		t.Error("a state in a snapshot's order is ordered again")
	}
	if strings.Contains(string(a), `"notes":[]`) {
		t.Error("an empty list encoded as one")
	}
}

// TestSameRuns: runs of one table and family in another order are the
// same set; a route moved within a run, a changed one, or a table and
// family in two runs are not.
func TestSameRuns(t *testing.T) {
	r := func(table uint32, dst string) netcfg.Route {
		return netcfg.Route{Table: table, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix(dst), Dev: "eno1", Proto: netcfg.ProtoNictab}
	}
	a := []netcfg.Route{r(13, "10.0.0.0/24"), r(13, "10.0.1.0/24"), r(13, "2001:db8::/64"), r(100, "10.1.0.0/24"), r(100, "2001:db8:1::/64")}
	b := []netcfg.Route{r(13, "10.0.0.0/24"), r(13, "10.0.1.0/24"), r(100, "10.1.0.0/24"), r(13, "2001:db8::/64"), r(100, "2001:db8:1::/64")}
	if !sameRuns(a, b) || !desiredSameSet(&netcfg.Desired{Owned: netcfg.Owned{Routes: a}}, &netcfg.Desired{Owned: netcfg.Owned{Routes: b}}) {
		t.Error("runs in another order are not the same set")
	}
	da, _ := beforeDigest(netcfg.Desired{Owned: netcfg.Owned{Routes: a}})
	db, _ := beforeDigest(netcfg.Desired{Owned: netcfg.Owned{Routes: b}})
	if da != db {
		t.Error("runs in another order digest differently")
	}
	within := slices.Clone(a)
	within[0], within[1] = within[1], within[0]
	changed := slices.Clone(b)
	changed[4].Metric = 7
	split := []netcfg.Route{r(13, "10.0.0.0/24"), r(100, "10.1.0.0/24"), r(13, "10.0.1.0/24"), r(13, "2001:db8::/64"), r(100, "2001:db8:1::/64")}
	for name, c := range map[string][]netcfg.Route{"moved within a run": within, "changed": changed, "a run split": split, "shorter": a[:4]} {
		if sameRuns(a, c) {
			t.Errorf("%s: taken as the same set", name)
		}
	}
	if desiredSameSet(&netcfg.Desired{Owned: netcfg.Owned{Routes: a}, Tables: []uint32{13}}, &netcfg.Desired{Owned: netcfg.Owned{Routes: b}, Tables: []uint32{100}}) {
		t.Error("states of other tables taken as one")
	}
}
