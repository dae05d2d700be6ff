// Package sshsession finds the SSH connection nictab runs under, so the
// guard can trace the path of its replies: $SSH_CONNECTION when it is
// set, else through /proc, above the processes (sudo, su -, doas, tmux,
// screen, systemd-run --pty) that drop it.
package sshsession

import (
	"net/netip"
	"strconv"
	"strings"
)

// Conn is the connection $SSH_CONNECTION describes.
type Conn struct {
	Client netip.AddrPort `json:"client"`
	Server netip.AddrPort `json:"server"`
}

// ParseConn reads $SSH_CONNECTION: "client_ip client_port server_ip
// server_port". IPv4-mapped IPv6 addresses are read as IPv4; a link-local
// client keeps its zone (fe80::1%eth0), which names the NIC it is on.
func ParseConn(s string) (Conn, bool) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return Conn{}, false
	}
	var c Conn
	for i, ap := range []*netip.AddrPort{&c.Client, &c.Server} {
		a, err := netip.ParseAddr(f[2*i])
		if err != nil {
			return Conn{}, false
		}
		if a.Is4In6() {
			a = a.Unmap()
		}
		p, err := strconv.ParseUint(f[2*i+1], 10, 16)
		if err != nil || p == 0 {
			return Conn{}, false
		}
		*ap = netip.AddrPortFrom(a, uint16(p))
	}
	if c.Client.Addr().Is4() != c.Server.Addr().Is4() {
		return Conn{}, false
	}
	return c, true
}

// ParseConnection reads the addresses of $SSH_CONNECTION.
func ParseConnection(s string) (client, server netip.Addr, ok bool) {
	c, ok := ParseConn(s)
	return c.Client.Addr(), c.Server.Addr(), ok
}
