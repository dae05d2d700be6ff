package snapshots

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
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
	mk := func(routes ...netcfg.Route) *Snapshot {
		return &Snapshot{Version: Version, Meta: &Meta{ID: "261202-060000", Time: at, Kind: "apply"}, Resolved: &netcfg.Target{Routes: routes}}
	}
	read := mk(route("10.1.0.0/16"))
	ahead := mk(route("10.1.0.0/16"), route("10.2.0.0/16"))
	b, err := marshalStored(ahead)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan pendingBytes, 1)
	ch <- pendingBytes{snap: ahead, b: b}
	n := speculated.Load()
	if err := e.savePending(read, ch); err != nil {
		t.Fatal(err)
	}
	if speculated.Load() != n {
		t.Error("the bytes encoded ahead were used for another snapshot")
	}
	got, err := os.ReadFile(filepath.Join(dir, pendingDir, "261202-060000.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Marshal(read)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("pending snapshot:\n%s\nwant:\n%s", got, want)
	}
}
