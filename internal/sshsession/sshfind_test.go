package sshsession

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
)

// hexAddrPort prints an address as the kernel does in /proc/net/tcp.
func hexAddrPort(s string) string {
	ap := netip.MustParseAddrPort(s)
	raw := ap.Addr().AsSlice()
	var b strings.Builder
	for i := 0; i < len(raw); i += 4 {
		fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(raw[i:]))
	}
	return fmt.Sprintf("%s:%04X", b.String(), ap.Port())
}

func tcpTable(lines ...string) string {
	s := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	for i, l := range lines {
		f := strings.Fields(l) // local remote state inode
		s += fmt.Sprintf("%4d: %s %s %s 00000000:00000000 00:00000000 00000000     0        0 %s 1 0000000000000000 20 4 30 10 -1\n",
			i, hexAddrPort(f[0]), hexAddrPort(f[1]), f[2], f[3])
	}
	return s
}

type fakeProc struct{ fstest.MapFS }

func (p fakeProc) proc(pid, ppid int, comm string) {
	p.MapFS[fmt.Sprintf("%d/stat", pid)] = &fstest.MapFile{Data: fmt.Appendf(nil, "%d (%s) S %d %d 0 0", pid, comm, ppid, pid)}
}

func (p fakeProc) socket(pid, fd int, inode uint64) {
	p.MapFS[fmt.Sprintf("%d/fd/%d", pid, fd)] = &fstest.MapFile{Mode: fs.ModeSymlink, Data: fmt.Appendf(nil, "socket:[%d]", inode)}
}

func TestParseHexAddrPortLiteral(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the literals are those of a little-endian kernel")
	}
	for in, want := range map[string]string{
		"0100007F:0016":                         "127.0.0.1:22",
		"0214A8C0:C738":                         "192.168.20.2:51000",
		"0000000000000000FFFF00000214A8C0:0016": "192.168.20.2:22",
		"B80D0120000000000000000001000000:0016": "[2001:db8::1]:22",
	} {
		got, err := parseHexAddrPort(in)
		if err != nil || got.String() != want {
			t.Errorf("parseHexAddrPort(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"0100007F", "zz00007F:0016", "0100007F:10000", "01007F:0016"} {
		if got, err := parseHexAddrPort(bad); err == nil {
			t.Errorf("parseHexAddrPort(%q) = %v, want an error", bad, got)
		}
	}
}

func TestFindSSHSession(t *testing.T) {
	const listen4, listen6 = "0.0.0.0:22 0.0.0.0:0 0A 100", "[::]:22 [::]:0 0A 101"
	cases := []struct {
		name  string
		build func(p fakeProc)
		want  string // "" = none found
	}{
		{"sudo under sshd-session, IPv4", func(p fakeProc) {
			p.proc(900, 1, "sshd")
			p.proc(1234, 900, "sshd-session")
			p.proc(1240, 1234, "bash")
			p.proc(1300, 1240, "sudo")
			p.socket(1234, 3, 5000)
			p.socket(1234, 4, 77) // not a TCP socket of the table
			p.MapFS["1234/net/tcp"] = &fstest.MapFile{Data: []byte(tcpTable(listen4, "192.168.20.2:22 192.168.20.5:51000 01 5000"))}
		}, "SSH session found through process 1234 (sshd-session): 192.168.20.5:51000 → 192.168.20.2:22"},
		{"tcp6, the connection of the sshd process", func(p fakeProc) {
			p.proc(50, 1, "sshd")
			p.proc(60, 50, "zsh")
			p.socket(50, 3, 42)
			p.MapFS["50/net/tcp"] = &fstest.MapFile{Data: []byte(tcpTable(listen4))}
			p.MapFS["50/net/tcp6"] = &fstest.MapFile{Data: []byte(tcpTable(listen6, "[2001:db8::2]:2222 [2001:db8::5]:40000 01 42"))}
		}, "SSH session found through process 50 (sshd): [2001:db8::5]:40000 → [2001:db8::2]:2222"},
		{"IPv4-mapped on a dual-stack socket", func(p fakeProc) {
			p.proc(50, 1, "sshd")
			p.proc(60, 50, "sh")
			p.socket(50, 5, 43)
			p.MapFS["50/net/tcp6"] = &fstest.MapFile{Data: []byte(tcpTable(listen6, "[::ffff:10.0.0.1]:22 [::ffff:10.0.0.9]:33000 01 43"))}
		}, "SSH session found through process 50 (sshd): 10.0.0.9:33000 → 10.0.0.1:22"},
		{"several sockets: a forwarded outgoing one, another's session, a closing one", func(p fakeProc) {
			p.proc(70, 1, "sshd")
			p.proc(71, 70, "sshd-session")
			p.proc(72, 71, "tmux: client")
			for fd, ino := range []uint64{10, 11, 12, 13} {
				p.socket(71, fd+3, ino)
			}
			p.MapFS["71/net/tcp"] = &fstest.MapFile{Data: []byte(tcpTable(listen4,
				"10.1.0.2:45000 10.1.0.8:5432 01 10", // outgoing: its listener is remote
				"10.1.0.2:22 10.1.0.7:50001 01 99",   // another session, not held by 71
				"10.1.0.2:22 10.1.0.6:50002 08 12",   // CLOSE_WAIT
				"10.1.0.2:22 10.1.0.5:50003 01 13"))}
		}, "SSH session found through process 71 (sshd-session): 10.1.0.5:50003 → 10.1.0.2:22"},
		{"two served connections are not guessed between", func(p fakeProc) {
			p.proc(70, 1, "sshd")
			p.proc(72, 70, "bash")
			p.socket(70, 3, 10)
			p.socket(70, 4, 11)
			p.MapFS["70/net/tcp"] = &fstest.MapFile{Data: []byte(tcpTable(listen4, "10.1.0.2:22 10.1.0.7:50001 01 10", "10.1.0.2:22 10.1.0.6:50002 01 11"))}
		}, ""},
		{"no sshd among the parents", func(p fakeProc) {
			p.proc(10, 1, "systemd")
			p.proc(20, 10, "login")
			p.proc(30, 20, "bash")
			p.socket(20, 3, 10)
			p.MapFS["20/net/tcp"] = &fstest.MapFile{Data: []byte(tcpTable(listen4, "10.1.0.2:22 10.1.0.7:50001 01 10"))}
		}, ""},
		{"sshd's fds unreadable: the environment of an ancestor", func(p fakeProc) {
			p.proc(80, 1, "sshd-session")
			p.proc(81, 80, "bash")
			p.proc(82, 81, "su")
			p.MapFS["80/net/tcp"] = &fstest.MapFile{Data: []byte(tcpTable(listen4, "10.1.0.2:22 10.1.0.7:50001 01 10"))}
			p.MapFS["81/environ"] = &fstest.MapFile{Data: []byte("HOME=/root\x00SSH_CONNECTION=10.1.0.7 50001 10.1.0.2 22\x00TERM=xterm\x00")}
		}, "SSH session found through process 81 (bash) environment: 10.1.0.7:50001 → 10.1.0.2:22"},
		{"a screen server's environment names a login that is over", func(p fakeProc) {
			p.proc(80, 1, "screen")
			p.proc(81, 80, "bash")
			p.proc(82, 81, "sudo")
			p.MapFS["80/environ"] = &fstest.MapFile{Data: []byte("SSH_CONNECTION=10.1.0.7 50001 10.1.0.2 22\x00")}
			p.MapFS["81/environ"] = p.MapFS["80/environ"]
			for _, pid := range []int{80, 81} {
				p.MapFS[fmt.Sprintf("%d/net/tcp", pid)] = &fstest.MapFile{Data: []byte(tcpTable(listen4, "10.1.0.2:22 10.1.0.9:40000 01 10"))}
			}
		}, ""},
		{"an environment in a namespace where sshd does not listen is not judged", func(p fakeProc) {
			p.proc(80, 1, "tmux: server")
			p.proc(81, 80, "bash")
			p.MapFS["80/environ"] = &fstest.MapFile{Data: []byte("SSH_CONNECTION=10.1.0.7 50001 10.1.0.2 22\x00")}
			p.MapFS["80/net/tcp"] = &fstest.MapFile{Data: []byte(tcpTable("0.0.0.0:80 0.0.0.0:0 0A 100"))}
		}, "SSH session found through process 80 (tmux: server) environment: 10.1.0.7:50001 → 10.1.0.2:22"},
		{"the live login's environment, past a closed one", func(p fakeProc) {
			p.proc(80, 1, "screen")
			p.proc(81, 80, "bash")
			p.MapFS["81/environ"] = &fstest.MapFile{Data: []byte("SSH_CONNECTION=10.1.0.7 50001 10.1.0.2 22\x00")}
			p.MapFS["80/environ"] = &fstest.MapFile{Data: []byte("SSH_CONNECTION=10.1.0.9 40000 10.1.0.2 22\x00")}
			for _, pid := range []int{80, 81} {
				p.MapFS[fmt.Sprintf("%d/net/tcp", pid)] = &fstest.MapFile{Data: []byte(tcpTable("10.1.0.2:22 0.0.0.0:0 0A 100", "10.1.0.2:22 10.1.0.9:40000 01 10"))}
			}
		}, "SSH session found through process 80 (screen) environment: 10.1.0.9:40000 → 10.1.0.2:22"},
		{"unreadable stat ends the walk", func(p fakeProc) {
			p.proc(91, 90, "bash")
			p.proc(89, 1, "sshd")
			p.MapFS["90/stat/x"] = &fstest.MapFile{} // 90/stat cannot be read
		}, ""},
		{"garbled stat ends the walk", func(p fakeProc) {
			p.MapFS["91/stat"] = &fstest.MapFile{Data: []byte("91 bash S x")}
			p.proc(92, 91, "bash")
		}, ""},
		{"garbled tables", func(p fakeProc) {
			p.proc(9, 1, "sshd")
			p.proc(10, 9, "bash")
			p.socket(9, 3, 10)
			p.MapFS["9/net/tcp"] = &fstest.MapFile{Data: []byte("header\n 0: nonsense\n 1: 0100007F:0016 zz:0016 01 0 0 0 0 0 0 10\n")}
		}, ""},
		{"a parent loop ends", func(p fakeProc) {
			p.proc(5, 6, "a")
			p.proc(6, 5, "b")
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
			s, ok := Find(p, start)
			got := ""
			if ok {
				got = s.String()
			}
			if got != tc.want {
				t.Errorf("from %d: got %q, want %q", start, got, tc.want)
			}
		})
	}
}
