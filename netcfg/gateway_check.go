package netcfg

import (
	"fmt"
	"net/netip"
)

// gatewayProblem says why g, on the link of a NIC with addrs, cannot be
// its gateway, or "" when it can. The kernel accepts all of these, and the
// result is a black hole that trace would still describe as a way out: the
// NIC's own address, the network or broadcast address of its IPv4 subnet
// (below /31, where they are not hosts), and addresses that are no one's
// (unspecified, multicast, loopback).
func gatewayProblem(g netip.Addr, addrs []netip.Prefix) string {
	switch {
	case g.IsUnspecified():
		return "the unspecified address, not a host"
	case g.IsMulticast():
		return "a multicast address, not a host"
	case g.IsLoopback():
		return "a loopback address, not a host on the link"
	}
	for _, p := range addrs {
		if p.Addr() == g {
			return "the own address"
		}
		if !g.Is4() || !p.Addr().Is4() || p.Bits() >= 31 || !p.Masked().Contains(g) {
			continue
		}
		net := p.Masked().Addr()
		if g == net {
			return fmt.Sprintf("the network address of %s", p.Masked())
		}
		if g == broadcast(p) {
			return fmt.Sprintf("the broadcast address of %s", p.Masked())
		}
	}
	return ""
}

// broadcast is the last address of an IPv4 prefix.
func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
