package sshsession

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// A command can run on a terminal whose other end a process of the
// session holds while the command itself descends from no process of the
// session: systemd-run --pty runs it as a service of PID 1 on a
// pseudo-terminal that systemd-run, started in the session, allocated and
// serves. No sshd is among its parents, its environment is the service's,
// and no login record names that terminal. The session is found from
// the process that holds the terminal's master side.

// maxPTYScan bounds the processes read to find a master's holder: a
// host with more is not searched further.
const maxPTYScan = 65536

// FindThroughPTY finds the session of pid through the holder of the
// master side of the controlling terminal of pid or of its nearest
// ancestor that has one, or of a terminal they hold open, when that
// holder is not pid's ancestor: it
// walks from the holder as Find does. The holder is found in
// each process's open files (/dev/ptmx) and their fdinfo's tty-index.
func FindThroughPTY(procfs fs.FS, pid int) (Session, bool) {
	chain := ancestry(procfs, pid)
	inChain := map[int]bool{}
	for _, pi := range chain {
		inChain[pi.pid] = true
	}
	var lines []string
	seen := map[string]bool{}
	// The controlling terminals, then the ones the same processes hold
	// open: a terminal that already is another session's controlling one
	// cannot become nictab's, yet its stdio may be on it.
	for _, held := range []bool{false, true} {
		for _, pi := range chain {
			ls := []string{controllingPTS(procfs, pi.pid)}
			if held {
				ls = openPTS(procfs, pi.pid)
			}
			for _, l := range ls {
				if l != "" && !seen[l] {
					seen[l] = true
					lines = append(lines, l)
				}
			}
		}
	}
	// A terminal whose other end a parent holds (sshd, sudo's use_pty,
	// a tmux or screen server, a terminal emulator) tells nothing the
	// walk up has not: only the others are searched for among every
	// process, which costs a read of every process's open files.
	var chainPIDs []int
	for _, pi := range chain {
		chainPIDs = append(chainPIDs, pi.pid)
	}
	for line := range ptyMasterHolders(procfs, chainPIDs, seen) {
		delete(seen, line)
	}
	if len(seen) == 0 {
		return Session{}, false
	}
	holders := ptyMasterHolders(procfs, nil, seen)
	for _, line := range lines {
		h, ok := holders[line]
		if !ok || inChain[h.pid] {
			continue
		}
		if s, ok := Find(procfs, h.pid); ok {
			s.PTY, s.PTYHolder, s.PTYHolderComm = line, h.pid, h.comm
			return s, true
		}
	}
	return Session{}, false
}

// ptyMasterHolders finds, for each wanted line ("pts/3"), a process that
// holds its master side open: among pids, or when pids is nil among at
// most maxPTYScan processes of procfs.
func ptyMasterHolders(procfs fs.FS, pids []int, want map[string]bool) map[string]procInfo {
	found := map[string]procInfo{}
	if pids == nil {
		ents, err := fs.ReadDir(procfs, ".")
		if err != nil {
			return found
		}
		for _, e := range ents {
			if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
				pids = append(pids, pid)
			}
		}
	}
	for i, pid := range pids {
		if i >= maxPTYScan || len(found) == len(want) {
			break
		}
		dir := strconv.Itoa(pid)
		fdDir := path.Join(dir, "fd")
		fds, err := fs.ReadDir(procfs, fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			target, err := fs.ReadLink(procfs, path.Join(fdDir, fd.Name()))
			if err != nil || (target != "/dev/ptmx" && target != "/dev/pts/ptmx") {
				continue
			}
			line, ok := ptmxLine(procfs, path.Join(dir, "fdinfo", fd.Name()))
			if !ok || !want[line] {
				continue
			}
			if _, dup := found[line]; dup {
				continue
			}
			if info, err := readStat(procfs, pid); err == nil {
				found[line] = info
			}
		}
	}
	return found
}

// ptmxLine reads the terminal line a /dev/ptmx descriptor is the master
// of, from its fdinfo's "tty-index:" (a kernel that does not print it
// gives nothing here).
func ptmxLine(procfs fs.FS, fdinfo string) (string, bool) {
	b, err := fs.ReadFile(procfs, fdinfo)
	if err != nil {
		return "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "tty-index:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return "", false
			}
			return fmt.Sprintf("pts/%d", n), true
		}
	}
	return "", false
}
