package snapshots

import (
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// TestSnapshotAheadAsFromReadBack holds the snapshot of a read-back
// made with the one encoded ahead (whose routes it takes when nictab's
// among the read-back are the same in every field and order) to the one
// made from the read-back alone: the same resolved state, on random
// targets and read-backs that differ from them in an attribute the
// verify does not compare, in order, by a route more or less, or in
// nothing, with other owners' routes among them.
func TestSnapshotAheadAsFromReadBack(t *testing.T) {
	e, err := NewEngine(EngineConfig{StateDir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 18))
	at := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	links := []netcfg.Link{{Index: 2, Name: "eth0", Up: true}}
	taken := map[string]int{}
	for trial := range 600 {
		var target []netcfg.Route
		seen := map[netcfg.RouteKey]bool{}
		for range 1 + rng.IntN(30) {
			r := storableTestRoute(rng)
			r.Proto = netcfg.ProtoNictab
			if !seen[r.Key()] {
				seen[r.Key()] = true
				target = append(target, r)
			}
		}
		if trial%5 != 0 {
			slices.SortStableFunc(target, compareRouteKeys)
		}
		p := &Proposal{Kind: "apply", Comment: "c", Plan: netcfg.Plan{Target: netcfg.Owned{Routes: target}}}
		if trial%11 == 0 {
			p.unrecorded = &unrecordedSet{rules: map[string]bool{}, routes: map[netcfg.RouteKey]bool{target[0].Key(): true}}
		}
		pb := <-encodeAhead(e.snapshotFrom(p, dropUnrecorded(p.Plan.Target, p.unrecorded), links, "261204-010000", at), links)
		if pb.err != nil {
			t.Fatal(pb.err)
		}

		var routes []netcfg.Route
		for i := range target {
			if rng.IntN(4) == 0 {
				f := jsonTestRoute(rng)
				if f.Proto == netcfg.ProtoNictab {
					f.Proto = 4
				}
				routes = append(routes, f)
			}
			r := target[i]
			r.Dev = string([]byte(r.Dev)) // read, not shared
			routes = append(routes, r)
		}
		owned := func() []int {
			var out []int
			for i := range routes {
				if routes[i].Owned() {
					out = append(out, i)
				}
			}
			return out
		}()
		k := owned[rng.IntN(len(owned))]
		what := []string{"same", "same", "same", "expires", "dead", "linkdown", "metrics", "unmodelled", "order", "gone", "more"}[rng.IntN(11)]
		switch what {
		case "expires":
			routes[k].Expires++
		case "dead":
			routes[k].Dead = !routes[k].Dead
		case "linkdown":
			routes[k].LinkDown = !routes[k].LinkDown
		case "metrics":
			if routes[k].Metrics == nil {
				routes[k].Metrics = &netcfg.Metrics{}
			} else {
				routes[k].Metrics = nil
			}
		case "unmodelled":
			if routes[k].Unmodelled == nil {
				routes[k].Unmodelled = []netcfg.RawAttr{}
			} else {
				routes[k].Unmodelled = nil
			}
		case "order":
			if len(owned) == 1 {
				what = "same"
				break
			}
			i, j := owned[0], owned[len(owned)-1]
			routes[i], routes[j] = routes[j], routes[i]
		case "gone":
			routes = slices.Delete(routes, k, k+1)
		case "more":
			r := storableTestRoute(rng)
			r.Proto = netcfg.ProtoNictab
			routes = slices.Insert(routes, k, r)
		}
		after := netcfg.State{Links: links, Routes: routes}
		if _, ok := aheadRoutes(p, after, false, &pb); ok {
			taken[what]++
		}
		got, _ := e.snapshotAhead(p, after, false, "261204-010000", at, &pb)
		// The read-back alone, on a copy: its snapshot is sorted in place.
		alone := after
		alone.Routes = slices.Clone(routes)
		want, _ := e.snapshotAhead(p, alone, false, "261204-010000", at, nil)
		if !reflect.DeepEqual(got.Resolved, want.Resolved) {
			t.Fatalf("trial %d (%s): with the snapshot encoded ahead\n%+v\nfrom the read-back alone\n%+v", trial, what, got.Resolved.Routes, want.Resolved.Routes)
		}
		if same := sameSnapshot(pb.snap, got); same != sameSnapshot(pb.snap, want) {
			t.Fatalf("trial %d (%s): the snapshot encoded ahead is the one made with it: %v, the one from the read-back: %v", trial, what, same, !same)
		}
	}
	if taken["same"] == 0 || len(taken) != 1 {
		t.Errorf("routes taken from the snapshot encoded ahead, by read-back: %v; want only, and some, of those the same", taken)
	}
}

// storableTestRoute is a jsonTestRoute a snapshot file can hold.
func storableTestRoute(rng *rand.Rand) netcfg.Route {
	r := jsonTestRoute(rng)
	r.Dev = []string{"", "eth0", "sc0"}[rng.IntN(3)]
	r.Gw = r.Gw.WithZone("")
	if !r.Dst.IsValid() {
		r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	for i := range r.MultiPath {
		r.MultiPath[i].Dev = "eth0"
	}
	for i := range r.Unmodelled {
		r.Unmodelled[i].Name = "RTA_99"
	}
	return r
}
