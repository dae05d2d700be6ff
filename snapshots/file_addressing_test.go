package snapshots

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// TestAddressingRoundTrip: the addressing a snapshot records survives the
// file, NIC names that need quoting included, and reads back equal.
func TestAddressingRoundTrip(t *testing.T) {
	p := netip.MustParsePrefix
	s := sandboxSnapshot(t)
	s.Meta.Addressing = []NICAddressing{
		{NIC: "eno1", Static: []netip.Prefix{p("192.168.10.2/24"), p("2001:db8:10::2/64")}},
		{NIC: "p${q}: x", Dynamic: []netip.Prefix{p("10.0.0.7/8"), p("2001:db8::77/128")}},
		{NIC: "bare"},
	}
	data, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "  addressing:\n    - nic: eno1\n      static: [192.168.10.2/24, 2001:db8:10::2/64]\n") {
		t.Errorf("addressing not written as expected:\n%s", data)
	}
	back, err := Parse("rt.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Meta.Addressing, s.Meta.Addressing) {
		t.Errorf("read back %+v, want %+v", back.Meta.Addressing, s.Meta.Addressing)
	}
}

// TestAddressingOf keeps the NICs a snapshot concerns, leaves IPv6
// link-local and loopback out, and tells static from dynamic.
func TestAddressingOf(t *testing.T) {
	p := netip.MustParsePrefix
	live := netcfg.State{Links: []netcfg.Link{
		{Name: "lo", Loopback: true, Addrs: []netcfg.Addr{{Prefix: p("127.0.0.1/8")}}},
		{Name: "wlan0", Addrs: []netcfg.Addr{{Prefix: p("192.168.50.23/24"), Dynamic: true}, {Prefix: p("fe80::1/64")}, {Prefix: p("10.0.0.2/24")}}},
		{Name: "other", Addrs: []netcfg.Addr{{Prefix: p("172.16.0.2/24")}}},
	}}
	target := netcfg.Target{Routes: []netcfg.Route{{Table: 50, Dst: p("192.168.50.0/24"), Dev: "wlan0"}}}
	got := addressingOf(live, target, netcfg.Intent{})
	want := []NICAddressing{{NIC: "wlan0", Static: []netip.Prefix{p("10.0.0.2/24")}, Dynamic: []netip.Prefix{p("192.168.50.23/24")}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("addressingOf = %+v, want %+v", got, want)
	}
}
