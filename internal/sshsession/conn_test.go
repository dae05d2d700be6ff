package sshsession

import (
	"net/netip"
	"testing"
)

func TestParseSSHConnection(t *testing.T) {
	for _, c := range []struct {
		in             string
		client, server string
		ok             bool
	}{
		{"203.0.113.5 51234 192.168.20.2 22", "203.0.113.5", "192.168.20.2", true},
		{"2001:db8:99::5 40000 2001:db8:20::2 22", "2001:db8:99::5", "2001:db8:20::2", true},
		{"::ffff:203.0.113.5 51234 ::ffff:192.168.20.2 22", "203.0.113.5", "192.168.20.2", true},
		{"fe80::1%eno1 40000 fe80::2%eno1 22", "fe80::1%eno1", "fe80::2%eno1", true},
		{"  203.0.113.5   51234 192.168.20.2 22\n", "203.0.113.5", "192.168.20.2", true},
		{"", "", "", false},
		{"203.0.113.5 51234 192.168.20.2", "", "", false},
		{"203.0.113.5 51234 192.168.20.2 22 extra", "", "", false},
		{"203.0.113.5 port 192.168.20.2 22", "", "", false},
		{"203.0.113.5 51234 192.168.20.2 65536", "", "", false},
		{"203.0.113.5 0 192.168.20.2 22", "", "", false},
		{"example.org 51234 192.168.20.2 22", "", "", false},
		{"203.0.113.5 51234 2001:db8:20::2 22", "", "", false},
	} {
		client, server, ok := ParseConnection(c.in)
		if ok != c.ok || addrText(client) != c.client || addrText(server) != c.server {
			t.Errorf("ParseConnection(%q) = %s, %s, %v; want %s, %s, %v", c.in, client, server, ok, c.client, c.server, c.ok)
		}
	}
	conn, ok := ParseConn("203.0.113.5 51234 192.168.20.2 2222")
	if !ok || conn.Client.Port() != 51234 || conn.Server.Port() != 2222 {
		t.Errorf("ParseConn kept ports %v, %v", conn.Client, conn.Server)
	}
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
