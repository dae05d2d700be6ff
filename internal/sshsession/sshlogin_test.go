package sshsession

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"net/netip"
	"testing"
	"testing/fstest"
)

// utmpRecord lays out one glibc struct utmp.
func utmpRecord(typ int16, line, host string, addr netip.Addr) []byte {
	b := make([]byte, utmpSize)
	binary.NativeEndian.PutUint16(b[0:], uint16(typ))
	copy(b[utmpLineOff:utmpLineOff+utmpLineLen], line)
	copy(b[utmpHostOff:utmpHostOff+utmpHostLen], host)
	if addr.IsValid() {
		copy(b[utmpAddrOff:], addr.AsSlice())
	}
	return b
}

// procTTY writes a stat whose tty_nr is /dev/pts/n (0 = none).
func (p fakeProc) procTTY(pid, ppid int, comm string, pts int) {
	tty := 0
	if pts >= 0 {
		tty = (ptsMajorFirst+pts/256)<<8 | pts%256
	}
	p.MapFS[fmt.Sprintf("%d/stat", pid)] = &fstest.MapFile{Data: fmt.Appendf(nil, "%d (%s) S %d %d %d %d -1 4194560", pid, comm, ppid, pid, pid, tty)}
}

// openTTY makes fd of pid a /dev/pts/n.
func (p fakeProc) openTTY(pid, fd, pts int) {
	p.MapFS[fmt.Sprintf("%d/fd/%d", pid, fd)] = &fstest.MapFile{Mode: fs.ModeSymlink, Data: fmt.Appendf(nil, "/dev/pts/%d", pts)}
}

func TestPtsOf(t *testing.T) {
	for nr, want := range map[uint64]string{
		136<<8 | 3:   "pts/3",
		137<<8 | 4:   "pts/260",
		4<<8 | 1:     "", // tty1
		0:            "",
		143<<8 | 255: "pts/2047",
	} {
		if got := ptsOf(nr); got != want {
			t.Errorf("ptsOf(%#x) = %q, want %q", nr, got, want)
		}
	}
}

func TestFindSSHLogin(t *testing.T) {
	var utmp []byte
	utmp = append(utmp, utmpRecord(2, "~", "6.1.0", netip.Addr{})...)                               // BOOT_TIME
	utmp = append(utmp, utmpRecord(utmpUserProc, "pts/1", "192.0.2.9", netip.Addr{})...)            // an older login on pts/1…
	utmp = append(utmp, utmpRecord(utmpUserProc, "pts/1", "", netip.MustParseAddr("192.0.2.7"))...) // …the one in force
	utmp = append(utmp, utmpRecord(8, "pts/2", "198.51.100.1", netip.Addr{})...)                    // DEAD_PROCESS
	utmp = append(utmp, utmpRecord(utmpUserProc, "pts/4", "2001:db8::7", netip.Addr{})...)
	utmp = append(utmp, utmpRecord(utmpUserProc, "pts/5", "client.example", netip.Addr{})...)
	utmp = append(utmp, make([]byte, 100)...) // a record being written
	cases := []struct {
		name  string
		build func(p fakeProc)
		want  string
	}{
		{"su - under sudo's own terminal: the record of the shell's", func(p fakeProc) {
			p.procTTY(100, 1, "sshd", -1)
			p.procTTY(110, 100, "bash", 1)
			p.procTTY(120, 110, "su", 1)
			p.procTTY(130, 120, "sudo", 7) // use_pty: a terminal of its own
			p.procTTY(140, 130, "nictab", 7)
		}, "SSH session found in the login record of pts/1 (terminal of process 120, su): client 192.0.2.7"},
		{"the address from ut_host", func(p fakeProc) {
			p.procTTY(10, 1, "bash", 4)
			p.procTTY(11, 10, "nictab", 4)
		}, "SSH session found in the login record of pts/4 (terminal of process 11, nictab): client 2001:db8::7"},
		{"a host name is not an address to trace", func(p fakeProc) {
			p.procTTY(10, 1, "bash", 5)
		}, ""},
		{"a dead login", func(p fakeProc) {
			p.procTTY(10, 1, "bash", 2)
		}, ""},
		{"a screen server attached from pts/1 holds it open", func(p fakeProc) {
			p.procTTY(10, 1, "screen", -1)
			p.openTTY(10, 3, 9)  // a window's terminal: no record
			p.openTTY(10, 11, 1) // the attached login's
			p.openTTY(10, 5, 4)  // fd 5 comes before fd 11
			p.procTTY(11, 10, "bash", 9)
			p.openTTY(11, 0, 9)
			p.procTTY(12, 11, "sudo", 9)
			p.procTTY(13, 12, "nictab", 7)
		}, "SSH session found in the login record of pts/4 (held open by process 10, screen): client 2001:db8::7"},
		{"the controlling terminal before one held open", func(p fakeProc) {
			p.procTTY(10, 1, "screen", 1)
			p.procTTY(11, 10, "bash", 9)
			p.openTTY(11, 4, 4)
		}, "SSH session found in the login record of pts/1 (terminal of process 10, screen): client 192.0.2.7"},
		{"no terminal (a tmux server, cron)", func(p fakeProc) {
			p.procTTY(10, 1, "tmux: server", -1)
			p.procTTY(11, 10, "bash", 9)
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := fakeProc{fstest.MapFS{}}
			tc.build(p)
			start := 0
			for name := range p.MapFS {
				var pid int
				if _, err := fmt.Sscanf(name, "%d/stat", &pid); err == nil && pid > start {
					start = pid
				}
			}
			s, ok := FindLogin(p, utmp, start)
			got := ""
			if ok {
				got = s.String()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, ok := FindLogin(fakeProc{fstest.MapFS{}}, nil, 1); ok {
		t.Error("found a session without login records")
	}
}
