//go:build linux

package kernel_test

import (
	"runtime"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// TestExecEncodesIntoOneArena holds Exec of many route writes to about
// one allocation of their encoded requests: an arena grown by appends,
// doubling, allocated and copied four to five times their size.
func TestExecEncodesIntoOneArena(t *testing.T) {
	ns := scaleNS(t)
	k := openScale(t, ns)
	const n = 50_000
	routes := scaleRoutes(n, 100)
	adds := make([]netcfg.Op, n)
	dels := make([]netcfg.Op, n)
	for i := range routes {
		adds[i] = netcfg.Op{Kind: netcfg.OpAddRoute, Route: &routes[i]}
		dels[i] = netcfg.Op{Kind: netcfg.OpDelRoute, Route: &routes[i]}
	}
	// An IPv4 route through a gateway is a 60-byte request: header,
	// rtmsg, table, destination, gateway and device.
	const encoded = n * 60
	for _, ops := range [][]netcfg.Op{adds, dels} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if r := k.Exec(ops); r.Failed != nil {
			t.Fatal(r.Failed)
		}
		runtime.ReadMemStats(&after)
		// The arena, the offsets and states of the ops (5 bytes each)
		// and their order (4), with room to spare.
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(encoded*3/2+n*9+1<<20); got > limit {
			t.Errorf("Exec of %d %v ops allocated %d bytes, want at most %d", n, ops[0].Kind, got, limit)
		}
	}
}
