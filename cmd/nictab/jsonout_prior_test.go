package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
)

// TestPlanOutLazyPrior checks that the plan document of a plan made under
// a change monitor, whose Prior is made only when read, is byte for byte
// the one of the same plan made with its Prior at once.
func TestPlanOutLazyPrior(t *testing.T) {
	var live netcfg.State
	for i := range 300 {
		live.Routes = append(live.Routes, netcfg.Route{Table: 100, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{1, byte(i >> 8), byte(i), 0}), 24),
			Gw: netip.MustParseAddr("10.0.0.2"), Dev: "sc0", Proto: netcfg.ProtoNictab})
	}
	live.Complete, live.AllOwned = []uint32{100}, true
	want := netcfg.Desired{Owned: netcfg.Owned{Routes: live.Routes[100:]}, Tables: []uint32{100}}
	encode := func(p netcfg.Plan) []byte {
		b, err := json.Marshal(newPlanOut(&snapshots.Proposal{Live: live, Plan: p}))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	eager := encode(netcfg.PlanChanges(live, want))
	lazy := encode((&netcfg.Watched{State: live}).Plan(want))
	if !bytes.Equal(eager, lazy) {
		t.Fatalf("lazy Prior's document:\n%s\nwant\n%s", lazy, eager)
	}
	if fp := netcfg.Fingerprint(live); !strings.Contains(string(lazy), `"prior":"`+fp+`"`) {
		t.Errorf("the document does not hold the prior %s", fp)
	}
}
