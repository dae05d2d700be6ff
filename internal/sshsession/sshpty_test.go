package sshsession

import (
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"
)

// ptmx makes fd of pid the master side of /dev/pts/n.
func (p fakeProc) ptmx(pid, fd, n int) {
	p.MapFS[fmt.Sprintf("%d/fd/%d", pid, fd)] = &fstest.MapFile{Mode: fs.ModeSymlink, Data: []byte("/dev/ptmx")}
	p.MapFS[fmt.Sprintf("%d/fdinfo/%d", pid, fd)] = &fstest.MapFile{Data: fmt.Appendf(nil, "pos:\t0\nflags:\t02100002\nmnt_id:\t24\nino:\t91\ntty-index:\t%d\n", n)}
}

// rootReads counts the reads of the /proc directory itself: the search
// among every process.
type rootReads struct {
	fakeProc
	n *int
}

func (r rootReads) ReadDir(name string) ([]fs.DirEntry, error) {
	if name == "." {
		*r.n++
	}
	return r.fakeProc.ReadDir(name)
}

func TestFindSSHThroughPTY(t *testing.T) {
	const listen4 = "0.0.0.0:22 0.0.0.0:0 0A 100"
	session := func(p fakeProc) {
		p.proc(1, 0, "systemd")
		p.proc(400, 1, "sshd")
		p.procTTY(410, 400, "bash", 1)
		p.procTTY(420, 410, "systemd-run", 1)
		p.socket(400, 3, 5000)
		p.ptmx(400, 9, 1) // the login's terminal
		p.MapFS["400/net/tcp"] = &fstest.MapFile{Data: []byte(tcpTable(listen4, "192.168.20.2:22 192.168.20.5:51000 01 5000"))}
	}
	cases := []struct {
		name  string
		build func(p fakeProc)
		want  string
		scans int // searches among every process
	}{
		{"systemd-run --pty: the command under PID 1, the master in the session", func(p fakeProc) {
			session(p)
			p.ptmx(420, 7, 3)
			p.ptmx(420, 8, 9) // another terminal it serves
			p.procTTY(500, 1, "sudo", 3)
			p.procTTY(510, 500, "nictab", 4) // sudo's use_pty
			p.ptmx(500, 4, 4)                // …whose master sudo holds
		}, "SSH session found through process 400 (sshd): 192.168.20.5:51000 → 192.168.20.2:22 (above process 420, systemd-run, which holds the other end of pts/3)", 1},
		{"a holder among the parents tells nothing new", func(p fakeProc) {
			session(p)
			p.procTTY(430, 420, "script", 1)
			p.ptmx(430, 3, 3)
			p.procTTY(440, 430, "nictab", 3)
			// Nothing above sshd's socket either: only the holder
			// could tell, and it is already on the way.
			p.MapFS["400/net/tcp"] = &fstest.MapFile{Data: []byte(tcpTable(listen4))}
		}, "", 0},
		{"no tty-index in fdinfo", func(p fakeProc) {
			session(p)
			p.ptmx(420, 7, 3)
			p.MapFS["420/fdinfo/7"] = &fstest.MapFile{Data: []byte("pos:\t0\nflags:\t02\n")}
			p.procTTY(500, 1, "nictab", 3)
		}, "", 1},
		{"no terminal", func(p fakeProc) {
			session(p)
			p.ptmx(420, 7, 3)
			p.procTTY(500, 1, "nictab", -1)
		}, "", 0},
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
			scans := 0
			s, ok := FindThroughPTY(rootReads{p, &scans}, start)
			got := ""
			if ok {
				got = s.String()
			}
			if got != tc.want {
				t.Errorf("from %d: got %q, want %q", start, got, tc.want)
			}
			if scans != tc.scans {
				t.Errorf("searched every process %d times, want %d", scans, tc.scans)
			}
		})
	}
}
