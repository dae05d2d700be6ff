package netcfg

import (
	"net/netip"
	"strings"
	"testing"
)

func TestGatewayProblem(t *testing.T) {
	addrs := []netip.Prefix{netip.MustParsePrefix("192.168.10.2/24"), netip.MustParsePrefix("2001:db8:10::2/64"), netip.MustParsePrefix("10.9.9.1/31")}
	for _, c := range []struct{ gw, want string }{
		{"192.168.10.1", ""},
		{"192.168.10.254", ""},
		{"2001:db8:10::1", ""},
		{"10.9.9.0", ""}, // a /31 has no network or broadcast address
		{"192.168.10.2", "own address"},
		{"2001:db8:10::2", "own address"},
		{"192.168.10.0", "network address of 192.168.10.0/24"},
		{"192.168.10.255", "broadcast address of 192.168.10.0/24"},
		{"0.0.0.0", "unspecified"},
		{"ff02::1", "multicast"},
		{"224.0.0.1", "multicast"},
		{"127.0.0.1", "loopback"},
	} {
		got := gatewayProblem(netip.MustParseAddr(c.gw), addrs)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("gatewayProblem(%s) = %q, want %q", c.gw, got, c.want)
		}
	}
}
