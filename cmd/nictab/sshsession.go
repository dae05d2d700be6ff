package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	nictabapp "github.com/nictab/nictab/internal/app"
	"github.com/nictab/nictab/netcfg"
)

// sshSessionNote is what nictab says of how it found the session: the
// process or login record it read it from, and whether that sshd works in
// another network namespace than the one being changed; or, run through
// sudo or doas on a terminal where the environment tells nothing, that
// it found none.
func (a *app) sshSessionNote() string {
	c, found := nictabapp.SSHSession()
	switch {
	case found != nil:
		note := found.String() + "\n"
		if found.NetNS != "" {
			if mine := a.targetNetNS(); mine != "" && mine != found.NetNS {
				note += "That sshd works in another network namespace (" + found.NetNS + ") than the one being changed (" + mine + "): the guard traces the client's address here all the same.\n"
			}
		}
		return note
	case !c.Client.IsValid() && (os.Getenv("SUDO_USER") != "" || os.Getenv("DOAS_USER") != "") && isTerminal(a.stdin):
		return "No SSH session found (no $SSH_CONNECTION, no sshd among the parent processes, no login record of this terminal): the SSH guard checks nothing; --ssh-client ADDR[,LOCAL] names a client.\n"
	}
	return ""
}

// targetNetNS is the network namespace nictab changes, as /proc names
// namespaces ("net:[4026531840]"), or "" when it cannot be read.
func (a *app) targetNetNS() string {
	if a.netns == "" {
		l, err := os.Readlink("/proc/self/ns/net")
		if err != nil {
			return ""
		}
		return l
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join("/run/netns", a.netns), &st); err != nil {
		return ""
	}
	return fmt.Sprintf("net:[%d]", st.Ino)
}

// parseSSHClient reads --ssh-client ADDR[,LOCAL]: the client's address
// and, after a comma, the server's own address the session reaches it
// from, so the guard traces replies from the source they really have.
// Either may carry a port (192.0.2.7:51000, [2001:db8::7]:51000).
func parseSSHClient(s string) (netcfg.SSHConn, error) {
	client, local, hasLocal := strings.Cut(s, ",")
	bad := func(what, v, why string) error {
		return usagef("--ssh-client %q: the %s %q %s (the form is ADDR[,LOCAL], say 192.0.2.7 or 192.0.2.7,192.168.30.2)", s, what, v, why)
	}
	c, err := sshEndpoint(strings.TrimSpace(client))
	if err != nil {
		return netcfg.SSHConn{}, bad("client address", client, err.Error())
	}
	conn := netcfg.SSHConn{Client: c}
	if !hasLocal {
		return conn, nil
	}
	l, err := sshEndpoint(strings.TrimSpace(local))
	if err != nil {
		return netcfg.SSHConn{}, bad("local address", local, err.Error())
	}
	if l.Addr().Is4() != c.Addr().Is4() {
		return netcfg.SSHConn{}, bad("local address", local, "is not of the client's family ("+c.Addr().String()+")")
	}
	conn.Server = l
	return conn, nil
}

// sshEndpoint reads an address with or without a port; IPv4-mapped IPv6
// is read as IPv4, as $SSH_CONNECTION is.
func sshEndpoint(s string) (netip.AddrPort, error) {
	var ap netip.AddrPort
	if a, err := netip.ParseAddr(s); err == nil {
		ap = netip.AddrPortFrom(a, 0)
	} else if p, err2 := netip.ParseAddrPort(s); err2 == nil {
		ap = p
	} else {
		return ap, fmt.Errorf("is not an address")
	}
	a := ap.Addr()
	if a.Is4In6() {
		a = a.Unmap()
	}
	switch {
	case a.IsUnspecified():
		return ap, fmt.Errorf("is unspecified: it names no host")
	case a.IsMulticast():
		return ap, fmt.Errorf("is a multicast address: no SSH session runs to it")
	}
	return netip.AddrPortFrom(a, ap.Port()), nil
}

// endpointText prints an address, with its port when it has one.
func endpointText(ap netip.AddrPort) string {
	if ap.Port() == 0 {
		return ap.Addr().String()
	}
	return ap.String()
}
