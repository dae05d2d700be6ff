package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/snapshots"
)

func init() {
	register(func(a *app) *cobra.Command { return a.watchdogCmd() })
}

// engine opens the transaction engine on --netns and --state-dir.
func (a *app) engine() (*snapshots.Engine, error) { return a.newEngine(false) }

// changeEngine is engine for a command that applies the proposal it
// makes right away (apply, rollback): it plans under a change monitor,
// which spares the apply's stale check a second read of the tables when
// nothing changed in between.
func (a *app) changeEngine() (*snapshots.Engine, error) { return a.newEngine(true) }

func (a *app) newEngine(watch bool) (*snapshots.Engine, error) {
	return snapshots.NewEngine(snapshots.EngineConfig{
		Watch:         watch,
		Netns:         a.netns,
		StateDir:      a.stateRoot(),
		NamePaths:     a.namePaths(),
		Open:          a.openKernel,
		Version:       nictabVersion(),
		Networkd:      a.netns == "" && networkdRunning(),
		StartWatchdog: a.startWatchdog,
		Priorities:    a.priorities,
	})
}

// networkdRunning reports whether systemd-networkd manages this host's
// links; exports default to its flavour then.
func networkdRunning() bool {
	_, err := os.Stat("/run/systemd/netif/state")
	return err == nil
}

// startWatchdog starts `nictab __watchdog` so that it outlives the
// terminal, the SSH connection and the login session the apply came from:
// as a systemd transient unit where systemd runs the host, else as a
// process in a session of its own.
func (a *app) startWatchdog(l *snapshots.Lock) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	args := []string{"--state-dir", a.stateBase()}
	if a.netns != "" {
		args = append(args, "--netns", a.netns)
	}
	args = append(args, "__watchdog")
	launcher, err := chooseLauncher(a.watchdogLauncher, systemdBootedDir, exec.LookPath)
	if err != nil {
		return err
	}
	if launcher == launcherSystemd {
		return a.startWatchdogUnit(exe, args)
	}
	_, err = a.startWatchdogDetached(exe, args, l)
	return err
}

// Watchdog launchers.
const (
	launcherAuto     = "auto"
	launcherSystemd  = "systemd-run"
	launcherDetached = "detached"
)

// systemdBootedDir exists when systemd is PID 1 (sd_booted(3) looks there).
const systemdBootedDir = "/run/systemd/system"

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
	case launcherDetached:
		return launcherDetached, nil
	case launcherSystemd:
		if _, err := lookPath("systemd-run"); err != nil {
			return "", fmt.Errorf("--watchdog systemd-run: %w", err)
		}
		return launcherSystemd, nil
	case launcherAuto, "":
		if fi, err := os.Stat(bootedDir); err != nil || !fi.IsDir() {
			return launcherDetached, nil
		}
		if _, err := lookPath("systemd-run"); err != nil {
			return launcherDetached, nil
		}
		return launcherSystemd, nil
	}
	return "", usagef("--watchdog %q: want auto, systemd-run or detached", want)
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

func (a *app) startWatchdogUnit(exe string, args []string) error {
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
func (a *app) startWatchdogDetached(exe string, args []string, l *snapshots.Lock) (int, error) {
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

func (a *app) watchdogCmd() *cobra.Command {
	var inherited bool
	c := &cobra.Command{
		Use:    "__watchdog",
		Short:  "reverts an unconfirmed change at its deadline (started by apply)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var lock *snapshots.Lock
			if inherited {
				f := os.NewFile(3, "lock")
				if f == nil {
					return errors.New("__watchdog --inherited-lock is started by apply with the lock on descriptor 3")
				}
				lock = snapshots.LockFromFile(f)
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			// A lost terminal is why the watchdog exists: ignore hang-ups.
			// Being terminated is not a confirmation: revert at once.
			signal.Ignore(syscall.SIGHUP)
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
			stop := make(chan struct{})
			go func() { <-sigs; close(stop) }()
			err = e.RunWatchdog(lock, stop)
			if err != nil {
				fmt.Fprintf(a.errOut, "nictab watchdog: %v\n", err)
			}
			return err
		},
	}
	c.Flags().BoolVar(&inherited, "inherited-lock", false, "the lock is open on descriptor 3")
	return c
}

// requireAdmin refuses a change up front when the process cannot make it.
func requireAdmin() error {
	if !kernel.CanAdmin() {
		return errors.New("changing routing needs CAP_NET_ADMIN: run nictab with sudo (nothing was changed)")
	}
	return nil
}
