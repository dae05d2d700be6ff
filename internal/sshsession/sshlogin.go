package sshsession

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"sort"
	"strconv"
	"strings"
)

// The login record (utmp) is the last way to the session: a user who
// went through `su -` to another account can read neither sshd's sockets
// nor its environment, but the record sshd wrote for the terminal is
// readable by everyone. It holds the client's address, not the ports nor
// the server's address.

// utmpSize and the offsets are glibc's struct utmp on Linux, the same on
// every 64- and 32-bit architecture it supports (ut_tv is two int32s).
const (
	utmpSize       = 384
	utmpLineOff    = 8
	utmpLineLen    = 32
	utmpHostOff    = 76
	utmpHostLen    = 256
	utmpAddrOff    = 348
	utmpUserProc   = 7
	ptsMajorFirst  = 136
	ptsMajorsCount = 8
)

// loginRecord is the part of a utmp entry that names a remote login.
type loginRecord struct {
	line string
	host string
	addr [16]byte
}

// parseUtmp reads the USER_PROCESS entries of a utmp file; a short tail
// (a record being written) is passed over.
func parseUtmp(b []byte) []loginRecord {
	var out []loginRecord
	for ; len(b) >= utmpSize; b = b[utmpSize:] {
		if int16(binary.NativeEndian.Uint16(b[0:2])) != utmpUserProc {
			continue
		}
		r := loginRecord{line: utmpString(b[utmpLineOff : utmpLineOff+utmpLineLen]), host: utmpString(b[utmpHostOff : utmpHostOff+utmpHostLen])}
		copy(r.addr[:], b[utmpAddrOff:utmpAddrOff+16])
		out = append(out, r)
	}
	return out
}

func utmpString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// client is the address the record names: ut_addr_v6 when sshd filled it
// in (an IPv4 address in its first word, the rest zero), else ut_host
// when it is an address (UseDNS no, the default). A host name is not
// resolved: the guard must trace the address the session uses.
func (r loginRecord) client() (netip.Addr, bool) {
	if r.addr != [16]byte{} {
		if bytes.Equal(r.addr[4:], make([]byte, 12)) {
			return netip.AddrFrom4([4]byte(r.addr[:4])), true
		}
		return netip.AddrFrom16(r.addr).Unmap(), true
	}
	host := r.host
	// Some writers append the display (":0") or the port.
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(host); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// ptsOf is the terminal line ("pts/3") of a tty_nr from /proc/PID/stat,
// or "" when it is not a pseudo-terminal (a console, none).
func ptsOf(ttyNr uint64) string {
	major := (ttyNr >> 8) & 0xfff
	minor := (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00)
	if major < ptsMajorFirst || major >= ptsMajorFirst+ptsMajorsCount {
		return ""
	}
	return fmt.Sprintf("pts/%d", (major-ptsMajorFirst)*256+minor)
}

// controllingPTS reads the controlling terminal of pid from PID/stat.
func controllingPTS(procfs fs.FS, pid int) string {
	b, err := fs.ReadFile(procfs, path.Join(strconv.Itoa(pid), "stat"))
	if err != nil {
		return ""
	}
	s := string(b)
	closing := strings.LastIndexByte(s, ')')
	if closing < 0 {
		return ""
	}
	// state ppid pgrp session tty_nr
	rest := strings.Fields(s[closing+1:])
	if len(rest) < 5 {
		return ""
	}
	n, err := strconv.ParseUint(rest[4], 10, 64)
	if err != nil {
		return ""
	}
	return ptsOf(n)
}

// FindLogin finds the session in the login records (the contents of
// /run/utmp): the record of the controlling terminal of pid or, as sudo
// with use_pty runs a command on a terminal of its own, of the nearest
// ancestor's; else of a terminal one of them holds open. Only the
// client's address is known then; ok is false when no terminal on the
// way has a remote login record.
func FindLogin(procfs fs.FS, utmp []byte, pid int) (Session, bool) {
	records := parseUtmp(utmp)
	if len(records) == 0 {
		return Session{}, false
	}
	chain := ancestry(procfs, pid)
	tried := map[string]bool{}
	// The controlling terminals first, nearest first: the one nictab is
	// typed into. Then the terminals the same processes hold open: a
	// screen or tmux server attached from a login holds that login's
	// terminal, while its windows' terminals have no record.
	for _, held := range []bool{false, true} {
		for _, pi := range chain {
			lines := []string{controllingPTS(procfs, pi.pid)}
			if held {
				lines = openPTS(procfs, pi.pid)
			}
			for _, line := range lines {
				if line == "" || tried[line] {
					continue
				}
				tried[line] = true
				if a, ok := loginClient(records, line); ok {
					return Session{Conn: Conn{Client: netip.AddrPortFrom(a, 0)}, PID: pi.pid, Comm: pi.comm, Login: line, LoginHeld: held}, true
				}
			}
		}
	}
	return Session{}, false
}

// loginClient is the client of the remote login in force on a terminal
// line: the newest record of the line (a reused pts keeps its earlier
// entries' slots).
func loginClient(records []loginRecord, line string) (netip.Addr, bool) {
	for i := len(records) - 1; i >= 0; i-- {
		if records[i].line == line {
			return records[i].client()
		}
	}
	return netip.Addr{}, false
}

// openPTS is the pseudo-terminals ("pts/3") among the files pid holds
// open, in the order of its file descriptors.
func openPTS(procfs fs.FS, pid int) []string {
	fdDir := path.Join(strconv.Itoa(pid), "fd")
	ents, err := fs.ReadDir(procfs, fdDir)
	if err != nil {
		return nil
	}
	type fdLine struct {
		fd   int
		line string
	}
	var found []fdLine
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := fs.ReadLink(procfs, path.Join(fdDir, e.Name()))
		if err != nil {
			continue
		}
		if n, ok := strings.CutPrefix(target, "/dev/pts/"); ok {
			if _, err := strconv.ParseUint(n, 10, 32); err == nil {
				found = append(found, fdLine{fd, "pts/" + n})
			}
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].fd < found[j].fd })
	lines := make([]string, len(found))
	for i, f := range found {
		lines[i] = f.line
	}
	return lines
}
