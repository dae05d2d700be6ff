package sshsession

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// Session is an SSH connection found without $SSH_CONNECTION: sudo's
// env_reset, doas, su - and a tmux server started earlier all drop it,
// while the sshd process serving the session is still among the parents.
type Session struct {
	Conn Conn
	// PID and Comm name the process the connection was read from.
	PID  int
	Comm string
	// FromEnviron is set when the sockets gave nothing and the connection
	// came from an ancestor's $SSH_CONNECTION.
	FromEnviron bool
	// Login is the terminal line ("pts/3") whose login record gave the
	// client's address, when neither sockets nor environments did.
	Login string
	// LoginHeld is set when that terminal is not the process's own but
	// one it holds open: a screen or tmux server holds the terminals of
	// the logins attached to it.
	LoginHeld bool
	// PTY is the terminal line nictab runs on when the session was found
	// above the process that holds its master side (PTYHolder,
	// PTYHolderComm), not above nictab: systemd-run --pty's shape.
	PTY           string
	PTYHolder     int
	PTYHolderComm string
	// NetNS is the network namespace of the sshd process
	// ("net:[4026531840]"), when its socket gave the connection.
	NetNS string
}

func (s Session) String() string {
	if s.PTY != "" {
		return fmt.Sprintf("%s (above process %d, %s, which holds the other end of %s)", s.found(), s.PTYHolder, s.PTYHolderComm, s.PTY)
	}
	return s.found()
}

func (s Session) found() string {
	switch {
	case s.Login != "" && s.LoginHeld:
		return fmt.Sprintf("SSH session found in the login record of %s (held open by process %d, %s): client %s", s.Login, s.PID, s.Comm, s.Conn.Client.Addr())
	case s.Login != "":
		return fmt.Sprintf("SSH session found in the login record of %s (terminal of process %d, %s): client %s", s.Login, s.PID, s.Comm, s.Conn.Client.Addr())
	case s.FromEnviron:
		return fmt.Sprintf("SSH session found through process %d (%s) environment: %s → %s", s.PID, s.Comm, s.Conn.Client, s.Conn.Server)
	}
	return fmt.Sprintf("SSH session found through process %d (%s): %s → %s", s.PID, s.Comm, s.Conn.Client, s.Conn.Server)
}

// maxAncestry bounds the walk: a loop in a forged or racing /proc must not
// hang nictab.
const maxAncestry = 128

type procInfo struct {
	pid, ppid int
	comm      string
}

// Find walks the ancestry of pid in procfs (a /proc tree: "PID/stat",
// "PID/fd", "PID/net/tcp", "PID/environ") up to a process named sshd or
// sshd-session and reads the endpoints of its established TCP connection,
// in the tables of that process's own network namespace. Failing that, the
// nearest ancestor whose environment holds $SSH_CONNECTION gives it.
// ok is false when neither finds a session; entries that cannot be read
// (another user's, as non-root) are passed over, not errors.
func Find(procfs fs.FS, pid int) (Session, bool) {
	chain := ancestry(procfs, pid)
	for _, pi := range chain {
		if pi.comm != "sshd" && pi.comm != "sshd-session" {
			continue
		}
		if c, ok := sshdConn(procfs, pi.pid); ok {
			ns, _ := fs.ReadLink(procfs, path.Join(strconv.Itoa(pi.pid), "ns", "net"))
			return Session{Conn: c, PID: pi.pid, Comm: pi.comm, NetNS: ns}, true
		}
	}
	for _, pi := range chain {
		env, err := fs.ReadFile(procfs, path.Join(strconv.Itoa(pi.pid), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte("SSH_CONNECTION=")); ok {
				if c, ok := ParseConn(string(v)); ok && !connClosed(procfs, pi.pid, c) {
					return Session{Conn: c, PID: pi.pid, Comm: pi.comm, FromEnviron: true}, true
				}
			}
		}
	}
	return Session{}, false
}

// connClosed reports whether an environment's $SSH_CONNECTION names a
// connection that is over: a screen or tmux server keeps the variable of
// the login that started it, and is attached later from another login,
// perhaps from another client. It is over when the namespace of the
// process still has sshd listening on the server's port but no such
// established connection. When the tables cannot be read, or nothing
// listens there (the process was moved to another namespace than
// sshd's), nothing tells it is over.
func connClosed(procfs fs.FS, pid int, c Conn) bool {
	socks := tcpTables(procfs, strconv.Itoa(pid))
	listening := false
	for _, s := range socks {
		switch {
		case s.state == tcpEstablished && s.local == c.Server && s.remote == c.Client:
			return false
		case s.state == tcpListen && s.local.Port() == c.Server.Port() && (s.local.Addr() == c.Server.Addr() || s.local.Addr().IsUnspecified()):
			listening = true
		}
	}
	return listening
}

// tcpTables reads the TCP sockets of the network namespace of the
// process whose /proc directory is dir; tables it cannot read give
// nothing.
func tcpTables(procfs fs.FS, dir string) []tcpSock {
	var socks []tcpSock
	for _, t := range []string{"tcp", "tcp6"} {
		b, err := fs.ReadFile(procfs, path.Join(dir, "net", t))
		if err != nil {
			continue
		}
		socks = append(socks, parseTCPTable(b)...)
	}
	return socks
}

// ancestry is pid and its parents, nearest first, as far as procfs can
// be read.
func ancestry(procfs fs.FS, pid int) []procInfo {
	var chain []procInfo
	seen := map[int]bool{}
	for p := pid; p > 0 && !seen[p] && len(chain) < maxAncestry; {
		seen[p] = true
		info, err := readStat(procfs, p)
		if err != nil {
			break
		}
		chain = append(chain, info)
		p = info.ppid
	}
	return chain
}

// readStat reads pid, comm and ppid from PID/stat. comm may hold spaces
// and parentheses, so the fields after it are found from the last ')'.
func readStat(procfs fs.FS, pid int) (procInfo, error) {
	b, err := fs.ReadFile(procfs, path.Join(strconv.Itoa(pid), "stat"))
	if err != nil {
		return procInfo{}, err
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procInfo{}, fmt.Errorf("%d/stat: no command name", pid)
	}
	rest := strings.Fields(s[closing+1:])
	if len(rest) < 2 {
		return procInfo{}, fmt.Errorf("%d/stat: no parent pid", pid)
	}
	ppid, err := strconv.Atoi(rest[1])
	if err != nil {
		return procInfo{}, fmt.Errorf("%d/stat: parent pid %q: %w", pid, rest[1], err)
	}
	return procInfo{pid: pid, ppid: ppid, comm: s[open+1 : closing]}, nil
}

// tcpSock is one line of /proc/net/tcp{,6}.
type tcpSock struct {
	local, remote netip.AddrPort
	state         uint8
	inode         uint64
}

const (
	tcpEstablished = 0x01
	tcpListen      = 0x0A
)

// sshdConn is the session's connection among the sockets pid holds: the
// established one whose local port is one the namespace listens on (sshd's
// port; an outgoing connection of the same process, say for a forwarded
// port, has its listener at the remote end). Exactly one must qualify.
func sshdConn(procfs fs.FS, pid int) (Conn, bool) {
	dir := strconv.Itoa(pid)
	inodes := socketInodes(procfs, path.Join(dir, "fd"))
	if len(inodes) == 0 {
		return Conn{}, false
	}
	socks := tcpTables(procfs, dir)
	listening := map[uint16]bool{}
	for _, s := range socks {
		if s.state == tcpListen {
			listening[s.local.Port()] = true
		}
	}
	var mine, served []Conn
	for _, s := range socks {
		if s.state != tcpEstablished || !inodes[s.inode] {
			continue
		}
		c := Conn{Client: s.remote, Server: s.local}
		mine = append(mine, c)
		if listening[s.local.Port()] {
			served = append(served, c)
		}
	}
	switch {
	case len(served) == 1:
		return served[0], true
	case len(served) == 0 && len(mine) == 1:
		return mine[0], true
	}
	return Conn{}, false
}

// socketInodes reads the inodes of the sockets open in an fd directory.
func socketInodes(procfs fs.FS, fdDir string) map[uint64]bool {
	ents, err := fs.ReadDir(procfs, fdDir)
	if err != nil {
		return nil
	}
	inodes := map[uint64]bool{}
	for _, e := range ents {
		target, err := fs.ReadLink(procfs, path.Join(fdDir, e.Name()))
		if err != nil {
			continue
		}
		if v, ok := strings.CutPrefix(target, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64); err == nil {
				inodes[n] = true
			}
		}
	}
	return inodes
}

// parseTCPTable reads /proc/net/tcp or tcp6; lines it cannot read are
// passed over.
func parseTCPTable(b []byte) []tcpSock {
	var out []tcpSock
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 10 {
			continue
		}
		local, err1 := parseHexAddrPort(f[1])
		remote, err2 := parseHexAddrPort(f[2])
		state, err3 := strconv.ParseUint(f[3], 16, 8)
		inode, err4 := strconv.ParseUint(f[9], 10, 64)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			continue
		}
		out = append(out, tcpSock{local: local, remote: remote, state: uint8(state), inode: inode})
	}
	return out
}

// parseHexAddrPort reads "0100007F:0016": the address is printed as 32-bit
// words in the kernel's byte order, the port as a number. IPv4-mapped
// IPv6 addresses (a dual-stack sshd) are read as IPv4.
func parseHexAddrPort(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || (len(a) != 8 && len(a) != 32) {
		return netip.AddrPort{}, fmt.Errorf("address %q is not hex words", s)
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %w", s, err)
	}
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %w", s, err)
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
