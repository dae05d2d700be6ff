package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/nstest"
)

// TestStateDirSymlinkRace is the review's race: an unprivileged user swaps
// a link to a root-owned directory in and out of a world-writable parent
// of --state-dir while root runs `nictab recover` there, a bounded number
// of times. On the old main, try 156 of such a loop overwrote a root-owned
// file with lock JSON. Now every run must refuse the directory (exit 2),
// the victim's files must be unchanged, and root must have made nothing
// in the parent.
func TestStateDirSymlinkRace(t *testing.T) {
	nstest.RequireRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("setpriv (util-linux) is needed to run the attacker as nobody")
		}
		t.Skip("no setpriv")
	}
	base := t.TempDir()
	// nobody must reach the parent: t.TempDir's folders are 0700.
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The victim: a root-owned directory whose files look like a state
	// directory's, so that following the link would write into them.
	victim := filepath.Join(base, "victim")
	if err := os.Mkdir(victim, 0o700); err != nil {
		t.Fatal(err)
	}
	const sentinel = "root's own file\n"
	for _, f := range []string{"lock", "journal.json", "watchdog.log"} {
		if err := os.WriteFile(filepath.Join(victim, f), []byte(sentinel), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, mode := range []uint32{0o777, 0o1777} {
		parent := filepath.Join(base, "parent")
		if err := os.Mkdir(parent, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Chmod(parent, mode); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(parent, "link")
		ctx, cancel := context.WithCancel(context.Background())
		// The attacker, as nobody: a directory of its own, then a link to
		// the victim, over and over.
		swap := exec.CommandContext(ctx, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
			"/bin/sh", "-c", `while :; do rm -rf "$1"; mkdir "$1" 2>/dev/null; rm -rf "$1"; ln -s "$2" "$1" 2>/dev/null; done`, "sh", link, victim)
		if err := swap.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		// However the test ends, the attacker's loop ends with it: left
		// running it would keep a core busy for every later test.
		var once sync.Once
		stop := func() { once.Do(func() { cancel(); _ = swap.Wait() }) }
		t.Cleanup(stop)
		// The attacker runs from the start: wait until it has made its
		// link once.
		for i := 0; i < 1000; i++ {
			if _, err := os.Lstat(link); err == nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		refused := 0
		for i := 0; i < 200; i++ {
			cmd := exec.Command(nictabBin, "--state-dir", link, "recover")
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			r := runCmd(t, cmd)
			if mode&syscall.S_ISVTX != 0 && r.code == 0 {
				// In a sticky parent, as in /tmp, nothing there (recover
				// then makes nothing) is fine, and so would be a directory
				// root made: the attacker can neither remove nor swap it.
				// The victim's files below say whether a link was followed.
				continue
			}
			if r.code != 2 || !strings.Contains(r.stderr, "refusing to trust it") {
				// A missing link (caught between rm and ln) is also refused:
				// nictab never makes the directory in an untrusted parent.
				if r.code == 2 && strings.Contains(r.stderr, "no such file") {
					continue
				}
				t.Errorf("mode %04o, try %d: %s", mode, i, r)
			}
			refused++
		}
		stop()
		if refused == 0 {
			t.Errorf("mode %04o: no try met the directory at all", mode)
		}
		for _, f := range []string{"lock", "journal.json", "watchdog.log"} {
			b, err := os.ReadFile(filepath.Join(victim, f))
			if err != nil || string(b) != sentinel {
				t.Errorf("mode %04o: %s is now %q, %v", mode, f, b, err)
			}
		}
		ents, _ := os.ReadDir(victim)
		if len(ents) != 3 {
			t.Errorf("mode %04o: the victim directory holds %d files, want 3", mode, len(ents))
		}
		// In a parent others may swap entries in, whatever is left is the
		// attacker's, never root's.
		left, _ := os.ReadDir(parent)
		for _, e := range left {
			var st syscall.Stat_t
			if err := syscall.Lstat(filepath.Join(parent, e.Name()), &st); err == nil && st.Uid == 0 && mode&syscall.S_ISVTX == 0 {
				t.Errorf("mode %04o: root made %s in the untrusted parent", mode, e.Name())
			}
		}
		if err := os.RemoveAll(parent); err != nil {
			t.Fatal(err)
		}
	}
}
