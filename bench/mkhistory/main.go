// Command mkhistory writes a snapshot history for the listing benchmark
// (bench/snapshot-list.sh): into the state directory -dir, -small
// snapshots of one route and then one of -routes routes, saved through the
// store as nictab saves them (checksummed, indexed).
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/format"
)

func main() {
	dir := flag.String("dir", "", "state directory to write (made if missing)")
	routes := flag.Int("routes", 100_000, "routes of the big snapshot (0: none)")
	small := flag.Int("small", 2, "snapshots of one route saved before it")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "mkhistory: -dir is needed")
		os.Exit(2)
	}
	if err := run(*dir, *small, *routes); err != nil {
		fmt.Fprintln(os.Stderr, "mkhistory:", err)
		os.Exit(1)
	}
}

func run(dir string, small, routes int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	st, err := snapshots.OpenStore(dir, func() time.Time { return now })
	if err != nil {
		return err
	}
	save := func(n int, comment string) error {
		res := &netcfg.Owned{Routes: make([]netcfg.Route, 0, n)}
		for i := range n {
			res.Routes = append(res.Routes, netcfg.Route{
				Table: 100, Type: netcfg.RouteUnicast, Proto: netcfg.ProtoNictab,
				Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(11 + i>>16), byte(i >> 8), byte(i), 0}), 24),
				Gw:  netip.MustParseAddr("10.0.0.2"), Dev: "sc0",
			})
		}
		s := &format.Snapshot{Version: format.Version, Comment: comment,
			Meta: &format.Meta{Time: now, Kind: "apply"}, Resolved: res}
		now = now.Add(time.Minute)
		return st.Save(s)
	}
	for i := range small {
		if err := save(1, fmt.Sprintf("small %d", i+1)); err != nil {
			return err
		}
	}
	if routes > 0 {
		return save(routes, fmt.Sprintf("%d routes", routes))
	}
	return nil
}
