package snapshots

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// TestRecordsFromTheIndexDigest: the newest snapshot's index entry says
// what it records; a live state owning exactly that is recorded without
// reading the file, one owning a route more has that route unrecorded.
func TestRecordsFromTheIndexDigest(t *testing.T) {
	st, err := OpenStore(filepath.Join(t.TempDir(), "state"), nil)
	if err != nil {
		t.Fatal(err)
	}
	route := func(dst string) netcfg.Route {
		return netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix(dst), Dev: "eno1", Proto: netcfg.ProtoNictab}
	}
	a, b, c := route("10.1.0.0/16"), route("2001:db8::/32"), route("10.2.0.0/16")
	snap := &format.Snapshot{Version: format.Version, Meta: &format.Meta{ID: "261202-060000", Time: time.Now().UTC(), Kind: "apply"}, Resolved: &netcfg.Owned{Routes: []netcfg.Route{a, b}}}
	if err := st.Save(snap); err != nil {
		t.Fatal(err)
	}
	// The kernel's order, and a route of someone else's.
	foreign := route("10.3.0.0/16")
	foreign.Proto = 4
	rec, err := st.recordsOf(netcfg.State{Routes: []netcfg.Route{b, foreign, a}})
	if err != nil {
		t.Fatal(err)
	}
	if !rec.all || !rec.hasRoute(a.Key()) || !rec.hasRoute(b.Key()) {
		t.Errorf("live owning what the newest snapshot records: records %+v, want all", rec)
	}
	rec, err = st.recordsOf(netcfg.State{Routes: []netcfg.Route{a, b, c}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.all || rec.hasRoute(c.Key()) || !rec.hasRoute(a.Key()) {
		t.Errorf("live owning a route more: records %+v, want a and b only", rec)
	}
	// The same set in another order, and twice, has the same digest;
	// another set has another.
	d := recordsDigest(nil, []netcfg.Route{a, b}, false)
	if recordsDigest(nil, []netcfg.Route{b, a, b}, false) != d {
		t.Error("the digest depends on order or repetition")
	}
	for _, other := range [][]netcfg.Route{{a}, {a, c}, {a, b, c}, nil} {
		if recordsDigest(nil, other, false) == d {
			t.Errorf("routes %v have the digest of %v", other, []netcfg.Route{a, b})
		}
	}
	if len(d) != len("sha256:")+64 {
		t.Errorf("digest %q", d)
	}
}
