package export

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/nictab/nictab/snapshots/format"
)

// TestAddressingRoundTrip: the addressing a snapshot records survives the
// file, NIC names that need quoting included, and reads back equal.
func TestAddressingRoundTrip(t *testing.T) {
	p := netip.MustParsePrefix
	s := sandboxSnapshot(t)
	s.Meta.Addressing = []format.NICAddressing{
		{NIC: "eno1", Static: []netip.Prefix{p("192.168.10.2/24"), p("2001:db8:10::2/64")}},
		{NIC: "p${q}: x", Dynamic: []netip.Prefix{p("10.0.0.7/8"), p("2001:db8::77/128")}},
		{NIC: "bare"},
	}
	data, err := format.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "  addressing:\n    - nic: eno1\n      static: [192.168.10.2/24, 2001:db8:10::2/64]\n") {
		t.Errorf("addressing not written as expected:\n%s", data)
	}
	back, err := format.Parse("rt.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Meta.Addressing, s.Meta.Addressing) {
		t.Errorf("read back %+v, want %+v", back.Meta.Addressing, s.Meta.Addressing)
	}
}
