package app

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nictab/nictab/snapshots"
)

// TestChooseLauncher: systemd-run only where systemd is PID 1 and the
// command exists, unless asked for by name.
func TestChooseLauncher(t *testing.T) {
	booted := t.TempDir()
	notBooted := filepath.Join(booted, "missing")
	have := func(string) (string, error) { return "/usr/bin/systemd-run", nil }
	lack := func(string) (string, error) { return "", exec.ErrNotFound }
	for _, c := range []struct {
		want, dir string
		look      func(string) (string, error)
		got       string
		fails     bool
	}{
		{"auto", booted, have, LauncherSystemd, false},
		{"auto", notBooted, have, LauncherDetached, false},
		{"auto", booted, lack, LauncherDetached, false},
		{"", booted, have, LauncherSystemd, false},
		{"detached", booted, have, LauncherDetached, false},
		{"systemd-run", notBooted, have, LauncherSystemd, false},
		{"systemd-run", booted, lack, "", true},
		{"cron", booted, have, "", true},
	} {
		got, err := chooseLauncher(c.want, c.dir, c.look)
		if got != c.got || (err != nil) != c.fails {
			t.Errorf("chooseLauncher(%q, booted=%v) = %q, %v; want %q (fails %v)", c.want, c.dir == booted, got, err, c.got, c.fails)
		}
	}
}

// TestDetachedWatchdogReaped: the detached watchdog a long-lived process
// (the TUI) starts is reaped when it ends, not left a zombie.
func TestDetachedWatchdogReaped(t *testing.T) {
	dir := t.TempDir()
	lock, err := snapshots.AcquireLock(dir, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	pid, err := startWatchdogDetached("/bin/sh", []string{"-c", "exit 0"}, lock)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the watchdog to be reaped", func() bool {
		_, err := os.Stat("/proc/" + strconv.Itoa(pid))
		return errors.Is(err, os.ErrNotExist)
	})
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
