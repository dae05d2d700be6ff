package snapshots

import (
	"encoding/json"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/nictab/nictab/internal/atomicfile"
	"github.com/nictab/nictab/netcfg"
)

func benchRoutes100k() []netcfg.Route {
	rs := make([]netcfg.Route, 0, 100_000)
	for i := range 100_000 {
		rs = append(rs, netcfg.Route{Table: 100, Type: netcfg.RouteUnicast,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + i>>16), byte(i >> 8), byte(i), 0}), 24),
			Gw:  netip.MustParseAddr("10.0.0.2"), Dev: "sc0", Proto: netcfg.ProtoNictab})
	}
	return rs
}

func BenchmarkRoutesSortedCheck100k(b *testing.B) {
	rs := benchRoutes100k()
	b.Run("IsSortedFunc", func(b *testing.B) {
		for b.Loop() {
			if !slices.IsSortedFunc(rs, compareRouteKeys) {
				b.Fatal("not sorted")
			}
		}
	})
	b.Run("inKeyOrder", func(b *testing.B) {
		for b.Loop() {
			if !routesInKeyOrder(rs) {
				b.Fatal("not sorted")
			}
		}
	})
}

// BenchmarkJournalBefore100k: what Prepare does for a rollback's
// journal of 100k routes: encode the state whole, or digest it as it is
// encoded.
func BenchmarkJournalBefore100k(b *testing.B) {
	d := netcfg.Desired{Owned: netcfg.Owned{Routes: benchRoutes100k()}, Tables: []uint32{100}}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := marshalDesired(canonEmpty(d)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode+digest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			enc, err := marshalDesired(canonEmpty(d))
			if err != nil {
				b.Fatal(err)
			}
			_ = stateDigest(enc)
		}
	})
	b.Run("beforeDigest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := beforeDigest(d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWriteIndex: the index of a short history replaced with and
// without its syncs.
func BenchmarkWriteIndex(b *testing.B) {
	dir, err := os.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer dir.Close()
	data := make([]byte, 2048)
	b.Run("synced", func(b *testing.B) {
		for b.Loop() {
			if err := atomicfile.WriteFileAt(dir, indexName, data, 0o600); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("replaceUnsynced", func(b *testing.B) {
		for b.Loop() {
			if err := replaceUnsynced(dir, indexName, data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeJournal100k: a journal holding a state before of 100k
// routes decoded as Journal, which also reads one naming a snapshot, and
// as the plain struct.
func BenchmarkDecodeJournal100k(b *testing.B) {
	j := &Journal{TxID: "261202-060000", Phase: PhaseApplying}
	if err := j.setBefore(netcfg.Desired{Owned: netcfg.Owned{Routes: benchRoutes100k()}, Tables: []uint32{100}}); err != nil {
		b.Fatal(err)
	}
	enc, err := j.encode()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Journal", func(b *testing.B) {
		for b.Loop() {
			var got Journal
			if err := got.decodeState(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		type plain Journal
		for b.Loop() {
			var got plain
			if err := json.Unmarshal(enc, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}
