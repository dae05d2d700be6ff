package app

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/nictab/nictab/snapshots"
)

// Watchdog launchers.
const (
	LauncherAuto     = "auto"
	LauncherSystemd  = "systemd-run"
	LauncherDetached = "detached"
)

// ErrUnknownLauncher is a launcher that is none of the three: bad input.
var ErrUnknownLauncher = errors.New("want auto, systemd-run or detached")

// systemdBootedDir exists when systemd is PID 1 (sd_booted(3) looks there).
const systemdBootedDir = "/run/systemd/system"

// StartWatchdog starts nictab's own executable with args (the command
// line of its watchdog) so that it outlives the terminal, the SSH
// connection and the login session the apply came from: as a systemd
// transient unit where systemd runs the host, else as a process in a
// session of its own. launcher is --watchdog.
func StartWatchdog(launcher string, args []string, l *snapshots.Lock) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	launcher, err = chooseLauncher(launcher, systemdBootedDir, exec.LookPath)
	if err != nil {
		return err
	}
	if launcher == LauncherSystemd {
		return startWatchdogUnit(exe, args)
	}
	_, err = startWatchdogDetached(exe, args, l)
	return err
}

// NOTE: a detached process (setsid) survives the terminal and sshd, but
// not logind: with KillUserProcesses=yes, or `loginctl terminate-session`,
// systemd kills every process of the session's cgroup, setsid or not. A
// transient service lives in system.slice, outside any session, so only
// an explicit `systemctl stop` (which the watchdog answers by reverting)
// ends it.

// chooseLauncher picks how to start the watchdog: want is --watchdog
// (auto, systemd-run, detached).
func chooseLauncher(want, bootedDir string, lookPath func(string) (string, error)) (string, error) {
	switch want {
	case LauncherDetached:
		return LauncherDetached, nil
	case LauncherSystemd:
		if _, err := lookPath("systemd-run"); err != nil {
			return "", fmt.Errorf("--watchdog systemd-run: %w", err)
		}
		return LauncherSystemd, nil
	case LauncherAuto, "":
		if fi, err := os.Stat(bootedDir); err != nil || !fi.IsDir() {
			return LauncherDetached, nil
		}
		if _, err := lookPath("systemd-run"); err != nil {
			return LauncherDetached, nil
		}
		return LauncherSystemd, nil
	}
	return "", fmt.Errorf("--watchdog %q: %w", want, ErrUnknownLauncher)
}

// systemdRunArgs is the systemd-run command line that starts the watchdog
// of a window as a transient service.
func systemdRunArgs(exe string, args []string, unit string) []string {
	return append([]string{
		"--unit=" + unit,
		"--description=nictab: revert an unconfirmed routing change at its deadline",
		// exec: systemd-run fails when the binary cannot be started,
		// rather than reporting a unit that dies at once.
		"--service-type=exec",
		"--collect",
		"--quiet",
		// Stopping the unit makes the watchdog revert; give it time to.
		"--property=TimeoutStopSec=60",
		"--property=KillMode=mixed",
		"--",
		exe,
	}, args...)
}

func startWatchdogUnit(exe string, args []string) error {
	// The unit cannot inherit the lock: the watchdog takes it when apply
	// lets go (snapshots.Engine.RunWatchdog).
	unit := fmt.Sprintf("nictab-watchdog-%d-%d.service", os.Getpid(), time.Now().UnixNano())
	out, err := exec.Command("systemd-run", systemdRunArgs(exe, args, unit)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemd-run: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// startWatchdogDetached starts the watchdog in a session of its own with
// the lock on descriptor 3, and returns its pid.
func startWatchdogDetached(exe string, args []string, l *snapshots.Lock) (int, error) {
	cmd := exec.Command(exe, append(args, "--inherited-lock")...)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	log, err := l.OpenLog("watchdog.log")
	if err != nil {
		return 0, fmt.Errorf("open watchdog log: %w", err)
	}
	defer log.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, log, log
	cmd.ExtraFiles = []*os.File{l.File()}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", exe, err)
	}
	// Reaped when it ends, so a long-lived TUI collects no zombies; a CLI
	// that exits first hands it to init, which reaps it.
	go func() { _ = cmd.Wait() }()
	return cmd.Process.Pid, nil
}
