// Package sandbox builds the namespace `nictab sandbox` makes, which the
// namespace tests use too: a dual-NIC home server whose gateways live in
// a second namespace.
package sandbox

import "net/netip"

// The sandbox's shape is plain data, apart from sandbox_linux.go that
// builds it, so the export tests that take their snapshot from it build
// on any OS.

// NIC describes one NIC of the sandbox and the gateway at the far
// end of its veth pair.
type NIC struct {
	Name, Peer    string
	Addr4, Gw4    netip.Prefix
	Addr6, Gw6    netip.Prefix
	DefaultMetric uint32
}

// NICs is the classic dual-NIC home server: the VPN NIC eno1 and the
// LAN NIC enp2s0, each with a gateway, and the two default routes a DHCP
// client leaves in main (enp2s0 preferred).
var NICs = []NIC{
	{Name: "eno1", Peer: "gw-eno1", Addr4: netip.MustParsePrefix("192.168.10.2/24"), Gw4: netip.MustParsePrefix("192.168.10.1/24"),
		Addr6: netip.MustParsePrefix("2001:db8:10::2/64"), Gw6: netip.MustParsePrefix("2001:db8:10::1/64"), DefaultMetric: 200},
	{Name: "enp2s0", Peer: "gw-enp2s0", Addr4: netip.MustParsePrefix("192.168.20.2/24"), Gw4: netip.MustParsePrefix("192.168.20.1/24"),
		Addr6: netip.MustParsePrefix("2001:db8:20::2/64"), Gw6: netip.MustParsePrefix("2001:db8:20::1/64"), DefaultMetric: 100},
}
