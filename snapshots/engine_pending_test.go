package snapshots

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// TestPendingEncodedAheadOnlyWhenSame: bytes encoded ahead for a snapshot
// that is not the read-back's (here, one route more than the kernel
// holds) are not written; the read-back's snapshot is encoded instead.
func TestPendingEncodedAheadOnlyWhenSame(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	e, err := NewEngine(EngineConfig{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	route := func(dst string) netcfg.Route {
		return netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix(dst), Dev: "eno1", Proto: netcfg.ProtoNictab}
	}
	mk := func(routes ...netcfg.Route) *format.Snapshot {
		return &format.Snapshot{Version: format.Version, Meta: &format.Meta{ID: "261202-060000", Time: at, Kind: "apply"}, Resolved: &netcfg.Owned{Routes: routes}}
	}
	read := mk(route("10.1.0.0/16"))
	ahead := mk(route("10.1.0.0/16"), route("10.2.0.0/16"))
	b, err := marshalStored(ahead)
	if err != nil {
		t.Fatal(err)
	}
	staged, err := e.store.stagePending(ahead, b)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan pendingBytes, 1)
	ch <- pendingBytes{snap: ahead, b: b, staged: staged}
	n := speculated.Load()
	if err := e.savePending(read, ch); err != nil {
		t.Fatal(err)
	}
	if speculated.Load() != n {
		t.Error("the bytes encoded ahead were used for another snapshot")
	}
	if names, err := os.ReadDir(filepath.Join(dir, pendingDir)); err != nil || len(names) != 1 {
		t.Errorf("the pending directory holds %v (%v); want the read-back's snapshot alone, the staged file gone", names, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, pendingDir, "261202-060000.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := format.Marshal(read)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("pending snapshot:\n%s\nwant:\n%s", got, want)
	}
}

// TestPendingRecordsAsRead: the digest of what a snapshot saved from
// bytes encoded ahead records, made with them, is the digest made from
// the snapshot itself.
func TestPendingRecordsAsRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	e, err := NewEngine(EngineConfig{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	mk := func() *format.Snapshot {
		rs := []netcfg.Route{
			{Table: 100, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("10.2.0.0/16"), Dev: "eno1", Proto: netcfg.ProtoNictab},
			{Table: 100, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("10.1.0.0/16"), Dev: "eno1", Proto: netcfg.ProtoNictab},
		}
		rules := []netcfg.Rule{{Family: netcfg.V4, Priority: 1000, Action: netcfg.ActionLookup, Table: 100, Proto: netcfg.ProtoNictab}}
		return &format.Snapshot{Version: format.Version, Meta: &format.Meta{ID: "261202-060000", Time: time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC), Kind: "apply"}, Resolved: &netcfg.Owned{Rules: rules, Routes: rs}}
	}
	ch := e.stagePending(encodeAhead(mk(), nil))
	read := mk()
	if err := e.savePending(read, ch); err != nil {
		t.Fatal(err)
	}
	want := recordsDigest(read.Resolved.Rules, read.Resolved.Routes, false)
	if read.Records() != want {
		t.Errorf("records of the saved snapshot %q; want %q", read.Records(), want)
	}
}

// TestJournalEncodedBeforeSameAsWhole: a journal whose state before was
// encoded once encodes as json.Marshal encodes it whole.
func TestJournalEncodedBeforeSameAsWhole(t *testing.T) {
	var d netcfg.Desired
	for i := range encodeBeforeMin + 1 {
		d.Routes = append(d.Routes, netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 32), Dev: "eno1", Proto: netcfg.ProtoNictab})
	}
	d.Tables = []uint32{100}
	j := &Journal{TxID: "261202-060000", Started: time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC), PID: 7, Phase: PhaseApplied,
		Tables: []uint32{100}, Foreign: []string{`route "before":{} 10.9.0.0/16`}, SnapshotID: "261202-060000", BootID: "b"}
	if err := j.setBefore(d); err != nil {
		t.Fatal(err)
	}
	if j.beforeJSON == nil {
		t.Fatal("a state before of many routes was not encoded once")
	}
	got, err := j.encode()
	if err != nil {
		t.Fatal(err)
	}
	type plain Journal
	want, err := json.Marshal((*plain)(j))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("encoded:\n%.300s\nwant:\n%.300s", got, want)
	}
}

// TestIdenticalSeesEveryField: routesIdentical and desiredIdentical
// compare every field of a route and of a desired state; a field added
// to either must be added to them.
func TestIdenticalSeesEveryField(t *testing.T) {
	if n := reflect.TypeFor[netcfg.Route]().NumField(); n != 22 {
		t.Errorf("netcfg.Route has %d fields: routesIdentical compares 22", n)
	}
	// Owned's fields are Desired's own, as desiredIdentical reads them.
	// An unexported field is not what a desired state holds (the room
	// Resolve makes for a plan's changes).
	n := 0
	for _, f := range reflect.VisibleFields(reflect.TypeFor[netcfg.Desired]()) {
		if !f.Anonymous && f.IsExported() {
			n++
		}
	}
	if n != 6 {
		t.Errorf("netcfg.Desired has %d fields: desiredIdentical compares 6", n)
	}
	base := netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("10.1.0.0/16"), Dev: "eno1"}
	rt := reflect.TypeFor[netcfg.Route]()
	for i := range rt.NumField() {
		other := base
		f := reflect.ValueOf(&other).Elem().Field(i)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(f.Uint() + 1)
		case reflect.Int, reflect.Int32, reflect.Int64:
			f.SetInt(f.Int() + 1)
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Struct:
			switch v := f.Addr().Interface().(type) {
			case *netip.Addr:
				*v = netip.MustParseAddr("192.0.2.1")
			case *netip.Prefix:
				*v = netip.MustParsePrefix("192.0.2.0/24")
			default:
				t.Fatalf("field %s: no way to change a %s here", rt.Field(i).Name, f.Type())
			}
		default:
			t.Fatalf("field %s: no way to change a %s here", rt.Field(i).Name, f.Type())
		}
		a, b := []netcfg.Route{base}, []netcfg.Route{other}
		if reflect.DeepEqual(a, b) {
			t.Fatalf("field %s: the change made no difference", rt.Field(i).Name)
		}
		if routesIdentical(a, b) {
			t.Errorf("routesIdentical does not see a change of %s", rt.Field(i).Name)
		}
	}
	if !routesIdentical([]netcfg.Route{base}, []netcfg.Route{base}) {
		t.Error("a route is not identical to itself")
	}
	// Metrics is a pointer: the loop above saw nil against a pointer; the
	// contents count too, not the pointer's address.
	mtu := func(v uint32) *netcfg.Metrics {
		var m netcfg.Metrics
		m.Values[netcfg.RTAXMTU] = v
		return &m
	}
	x, y := base, base
	x.Metrics, y.Metrics = mtu(1400), mtu(1400)
	if !routesIdentical([]netcfg.Route{x}, []netcfg.Route{y}) {
		t.Error("routesIdentical tells apart two routes with equal metrics at different addresses")
	}
	y.Metrics = mtu(1500)
	if routesIdentical([]netcfg.Route{x}, []netcfg.Route{y}) {
		t.Error("routesIdentical does not see a change inside Metrics")
	}
}

// TestBorrowedAddressingOnlyWhenSame: the read-back's snapshot takes the
// addressing of the one encoded ahead only when the links are the same,
// and the file saved holds the read-back's own addressing when the two
// snapshots differ (here a route through another NIC).
func TestBorrowedAddressingOnlyWhenSame(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	e, err := NewEngine(EngineConfig{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	links := []netcfg.Link{
		{Index: 2, Name: "eno1", Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("192.168.10.2/24")}}},
		{Index: 3, Name: "enp2s0", Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("192.168.20.2/24")}}},
	}
	route := func(dst, dev string) netcfg.Route {
		return netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix(dst), Dev: dev, Proto: netcfg.ProtoNictab}
	}
	p := &Proposal{Kind: "apply"}
	aheadOwned := netcfg.Owned{Routes: []netcfg.Route{route("10.1.0.0/16", "eno1")}}
	for _, c := range []struct {
		name   string
		routes []netcfg.Route
		links  []netcfg.Link
		borrow bool
	}{
		{"same", aheadOwned.Routes, links, true},
		{"another NIC", []netcfg.Route{route("10.1.0.0/16", "eno1"), route("10.2.0.0/16", "enp2s0")}, links, true},
		{"other links", aheadOwned.Routes, links[:1], false},
	} {
		ahead := e.snapshotFrom(p, aheadOwned, links, "261202-060000", at)
		pb := <-encodeAhead(ahead, links)
		after := netcfg.State{Links: c.links, Routes: c.routes}
		snap, borrowed := e.snapshotAhead(p, after, false, "261202-060000", at, &pb)
		if borrowed != c.borrow {
			t.Errorf("%s: borrowed %v, want %v", c.name, borrowed, c.borrow)
		}
		if err := e.savePendingFrom(snap, &pb, borrowed); err != nil {
			t.Fatal(err)
		}
		want := format.AddressingOf(netcfg.State{Links: c.links}, netcfg.Owned{Routes: c.routes}, p.Intent)
		if !reflect.DeepEqual(snap.Meta.Addressing, want) {
			t.Errorf("%s: addressing %+v, want %+v", c.name, snap.Meta.Addressing, want)
		}
		loaded, err := loadStored(mustPendingDir(t, e), "261202-060000.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(loaded.Meta.Addressing, want) {
			t.Errorf("%s: saved addressing %+v, want %+v", c.name, loaded.Meta.Addressing, want)
		}
	}
}

func mustPendingDir(t *testing.T, e *Engine) *os.File {
	t.Helper()
	d, err := e.store.pendingDirFile(false)
	if err != nil || d == nil {
		t.Fatalf("pending directory: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
