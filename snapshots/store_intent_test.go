package snapshots

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// snapshotOpts compares snapshots by what they say, as the format's own
// tests do (snapshots/format/file_roundtrip_test.go).
var snapshotOpts = cmp.Options{
	cmpopts.IgnoreUnexported(format.Snapshot{}),
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

// TestLatestIntentReadsOnlyTheIntent: the newest snapshot's intent comes
// from the part of the file before its snapshot: section while the index
// vouches for the file, and from the whole file, checked, once it changed.
func TestLatestIntentReadsOnlyTheIntent(t *testing.T) {
	st, snapDir := indexTestStore(t)
	s := &format.Snapshot{Version: 1, Comment: "with intent",
		Intent: netcfg.Intent{Routes: []netcfg.RouteIntent{
			{Table: netcfg.TableRef{ID: 100}, To: netip.MustParsePrefix("10.2.0.0/24"), Dev: "eno1"},
			{Table: netcfg.TableRef{ID: 100}, To: netip.MustParsePrefix("10.2.1.0/24"), Dev: "eno1"},
		}},
		Meta:     &format.Meta{Time: time.Date(2026, 11, 24, 18, 30, 0, 0, time.UTC), Kind: "apply"},
		Resolved: &netcfg.Owned{Routes: []netcfg.Route{{Table: 100, Type: netcfg.RouteUnicast, Proto: netcfg.ProtoNictab, Dev: "eno1", Dst: netip.MustParsePrefix("10.2.0.0/24")}}},
	}
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.LatestIntent()
	if err != nil || !ok {
		t.Fatalf("LatestIntent: %v, %v", ok, err)
	}
	if diff := cmp.Diff(s.Intent, got, snapshotOpts); diff != "" {
		t.Fatalf("LatestIntent differs from what was saved (-saved +read):\n%s", diff)
	}

	// Point the index's entry at the end of the first route: what is
	// read is then one route, so only the head of the file was read.
	path := filepath.Join(snapDir, s.Meta.ID+".yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Index(data, []byte("  - {table: 100, to: 10.2.1.0/24"))
	if cut < 0 {
		t.Fatalf("no second route in:\n%s", data)
	}
	d, err := os.Open(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var entries []indexEntry
	for _, e := range readIndex(d) {
		if e.Name == s.Meta.ID+".yaml" {
			e.Intent = int64(cut)
		}
		entries = append(entries, *e)
	}
	if err := writeIndex(d, entries); err != nil {
		t.Fatal(err)
	}
	st2, _ := OpenStore(filepath.Dir(snapDir), time.Now)
	got, _, err = st2.LatestIntent()
	if err != nil || len(got.Routes) != 1 {
		t.Fatalf("with the index cut after one route: %d routes, %v; the head of the file was not what was read", len(got.Routes), err)
	}

	// Any change to the file moves its ctime: the index no longer vouches
	// for it, and the whole file is read.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	st3, _ := OpenStore(filepath.Dir(snapDir), time.Now)
	got, _, err = st3.LatestIntent()
	if err != nil || len(got.Routes) != 2 {
		t.Fatalf("after the file changed: %d routes, %v; want both, read from the whole file", len(got.Routes), err)
	}
}
