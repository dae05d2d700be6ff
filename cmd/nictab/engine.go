package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
)

func init() {
	register(func(a *app) *cobra.Command { return a.watchdogCmd() })
}

// engine opens the transaction engine on --netns and --state-dir.
func (a *app) engine() (*snapshots.Engine, error) {
	return snapshots.NewEngine(snapshots.EngineConfig{
		Netns:         a.netns,
		StateDir:      a.stateRoot(),
		NamePaths:     a.namePaths(),
		Open:          a.openKernel,
		Version:       nictabVersion(),
		Networkd:      a.netns == "" && networkdRunning(),
		StartWatchdog: a.startWatchdog,
	})
}

// networkdRunning reports whether systemd-networkd manages this host's
// links; exports default to its flavour then.
func networkdRunning() bool {
	_, err := os.Stat("/run/systemd/netif/state")
	return err == nil
}

// startWatchdog runs `nictab __watchdog` as a new session, so that it
// outlives the terminal and the SSH connection the apply came from; it
// inherits the lock as file descriptor 3.
func (a *app) startWatchdog(l *snapshots.Lock) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	args := []string{"--state-dir", a.stateBase()}
	if a.netns != "" {
		args = append(args, "--netns", a.netns)
	}
	cmd := exec.Command(exe, append(args, "__watchdog")...)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	log, err := l.OpenLog("watchdog.log")
	if err != nil {
		return fmt.Errorf("open watchdog log: %w", err)
	}
	defer log.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, log, log
	cmd.ExtraFiles = []*os.File{l.File()}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", exe, err)
	}
	return cmd.Process.Release()
}

func (a *app) watchdogCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "__watchdog",
		Short:  "reverts an unconfirmed change at its deadline (started by apply)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			f := os.NewFile(3, "lock")
			if f == nil {
				return errors.New("__watchdog is started by apply with the lock on descriptor 3")
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
			err = e.RunWatchdog(snapshots.LockFromFile(f), stop)
			if err != nil {
				fmt.Fprintf(a.errOut, "nictab watchdog: %v\n", err)
			}
			return err
		},
	}
}

// requireAdmin refuses a change up front when the process cannot make it.
func requireAdmin() error {
	if !netcfg.CanAdmin() {
		return errors.New("changing routing needs CAP_NET_ADMIN: run nictab with sudo (nothing was changed)")
	}
	return nil
}
