package main

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/nictab/nictab/internal/atomicfile"
	"github.com/nictab/nictab/snapshots/format"
)

// writeOutFile writes an exported file atomically. A file that exists
// keeps its mode (a script someone made 0700, a module kept 0600); a new
// one gets perm as open(2) would give it, less the umask, since the
// atomic write's temporary file is chmod'ed explicitly.
func writeOutFile(name string, data []byte, perm os.FileMode) error {
	mode := perm &^ umask()
	if fi, err := os.Stat(name); err == nil {
		mode = fi.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return atomicfile.WriteFile(name, data, mode)
}

// umask reads this process's umask without changing it (Linux 4.7 and
// later report it in /proc/self/status); older kernels get the classic
// set-and-restore.
func umask() os.FileMode {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return os.FileMode(m)
				}
			}
		}
	}
	m := syscall.Umask(0o22)
	syscall.Umask(m)
	return os.FileMode(m)
}

// exportNetns is the namespace an exported script acts on: the one its
// snapshot was taken in, else the one of --netns.
func exportNetns(s *format.Snapshot, flag string) string {
	if s.Meta != nil && s.Meta.Netns != "" {
		return s.Meta.Netns
	}
	return flag
}
