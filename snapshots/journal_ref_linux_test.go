//go:build linux

package snapshots_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
)

// TestRefJournalRevertsOnTheKernel: on a real namespace, a change away
// from a snapshot of 1,200 routes of several kinds (IPv4 and IPv6,
// gateways, sources, metrics, MTU) writes a journal naming that
// snapshot, and both a confirm window's revert and a recovery after a
// kill bring the kernel back from the snapshot's file, exactly. Read
// under a change monitor, as the CLI reads, the journal's state before
// is the one the proposal's digest was made of.
func TestRefJournalRevertsOnTheKernel(t *testing.T) {
	for _, how := range []string{"revert", "recover after a kill", "revert, watched"} {
		t.Run(how, func(t *testing.T) {
			r := newRig(t)
			watched := how == "revert, watched"
			if watched {
				r.mod = func(c *snapshots.EngineConfig) { c.Watch = true }
				r.e = r.engine()
			}
			in := nicIntent("eno1", 13)
			for i := range 1200 {
				ri := netcfg.RouteIntent{Table: netcfg.TableRef{ID: 100}, Dev: "eno1"}
				switch i % 4 {
				case 0:
					ri.To, ri.Via = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(i >> 8), byte(i)}), 32), netip.MustParseAddr("192.168.10.1")
				case 1:
					ri.To, ri.Src, ri.Metric = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 201, byte(i >> 8), byte(i)}), 32), netip.MustParseAddr("192.168.10.2"), 50
				case 2:
					ri.To, ri.Via, ri.MTU = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 202, byte(i >> 8), byte(i)}), 32), netip.MustParseAddr("192.168.10.1"), 1400
				default:
					a := netip.MustParseAddr("2001:db8:99::").As16()
					a[14], a[15] = byte(i>>8), byte(i)
					ri.To, ri.Via = netip.PrefixFrom(netip.AddrFrom16(a), 128), netip.MustParseAddr("2001:db8:10::1")
				}
				in.Routes = append(in.Routes, ri)
			}
			r.apply(in, "1200 routes", 0)
			routing := r.ns.Routing()
			p, err := r.e.Propose(nicIntent("eno1", 14), "away")
			if err != nil {
				t.Fatal(err)
			}
			r.e.Prepare(p)
			n, live := snapshots.JournalsByRefForTest(), snapshots.BeforeFromLiveForTest()
			killed := how == "recover after a kill"
			if killed {
				snapshots.KillAfterAppliedForTest(t)
			}
			_, err = r.e.Apply(p, snapshots.ApplyOptions{Confirm: time.Minute})
			if !killed && err != nil || killed && err == nil {
				t.Fatalf("apply: %v", err)
			}
			if snapshots.JournalsByRefForTest() != n+1 {
				t.Fatal("the journal does not name the snapshot of 1200 routes")
			}
			if got := snapshots.BeforeFromLiveForTest() - live; got != map[bool]int64{true: 1}[watched] {
				t.Errorf("%d journals took their state before from the proposal's digest", got)
			}
			if r.ns.Routing() == routing {
				t.Fatal("the change is not live")
			}
			if !killed {
				res, err := r.e.Revert(context.Background())
				if err != nil || res.Result != "reverted" {
					t.Fatalf("revert = %+v, %v", res, err)
				}
			} else {
				what, err := r.e.Recover()
				if err != nil || !strings.Contains(what, "reverted") {
					t.Fatalf("recover = %q, %v", what, err)
				}
			}
			if got := r.ns.Routing(); got != routing {
				t.Errorf("after the %s:\n%.2000s\nwant:\n%.2000s", how, got, routing)
			}
		})
	}
}
