package format

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// TestAddressingOf keeps the NICs a snapshot concerns, leaves IPv6
// link-local and loopback out, and tells static from dynamic.
func TestAddressingOf(t *testing.T) {
	p := netip.MustParsePrefix
	live := netcfg.State{Links: []netcfg.Link{
		{Name: "lo", Loopback: true, Addrs: []netcfg.Addr{{Prefix: p("127.0.0.1/8")}}},
		{Name: "wlan0", Addrs: []netcfg.Addr{{Prefix: p("192.168.50.23/24"), Dynamic: true}, {Prefix: p("fe80::1/64")}, {Prefix: p("10.0.0.2/24")}}},
		{Name: "other", Addrs: []netcfg.Addr{{Prefix: p("172.16.0.2/24")}}},
	}}
	target := netcfg.Owned{Routes: []netcfg.Route{{Table: 50, Dst: p("192.168.50.0/24"), Dev: "wlan0"}}}
	got := AddressingOf(live, target, netcfg.Intent{})
	want := []NICAddressing{{NIC: "wlan0", Static: []netip.Prefix{p("10.0.0.2/24")}, Dynamic: []netip.Prefix{p("192.168.50.23/24")}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("addressingOf = %+v, want %+v", got, want)
	}
}
