package app

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// TestUnknownSessionCheck: the TUI warns of a moved SSH login only when it
// leaves another way, and names its client; other moved flows, or an SSH
// login that only changes table, give no warning.
func TestUnknownSessionCheck(t *testing.T) {
	var names netcfg.Names
	login := netcfg.MovedFlow{IPProto: netcfg.ProtoTCP, Local: netip.MustParseAddrPort("192.168.20.2:22"), Remote: netip.MustParseAddrPort("198.51.100.7:50000"),
		Count: 1, SSH: true, Before: netcfg.Hop{Verdict: netcfg.VerdictRouted, Dev: "lan0"}, After: netcfg.Hop{Verdict: netcfg.VerdictRouted, Dev: "vpn0"}, Why: netcfg.PathCause{Reason: "rule 900"}}
	web := login
	web.SSH, web.Local = false, netip.MustParseAddrPort("192.168.20.2:443")
	sameWay := login
	sameWay.SameWay = true

	for _, c := range []struct {
		name  string
		moved []netcfg.MovedFlow
		warn  bool
	}{
		{"nothing moves", nil, false},
		{"a web connection moves", []netcfg.MovedFlow{web}, false},
		{"an SSH login changes table only", []netcfg.MovedFlow{sameWay}, false},
		{"an SSH login moves", []netcfg.MovedFlow{web, login}, true},
	} {
		r := netcfg.GuardReport{Flows: netcfg.FlowGuard{Moved: c.moved}}
		got := unknownSessionCheck(&r, &names)
		if (got != nil) != c.warn {
			t.Fatalf("%s: warning %+v, want one: %v", c.name, got, c.warn)
		}
		if got != nil && (got.Client != "198.51.100.7" || !got.Changed || !strings.Contains(got.Message, "198.51.100.7") || got.Culprit != "rule 900") {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
}
