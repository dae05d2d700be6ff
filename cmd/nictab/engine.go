package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	nictabapp "github.com/nictab/nictab/internal/app"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/snapshots"
)

func init() {
	register(func(a *app) *cobra.Command { return a.watchdogCmd() })
}

// engine opens the transaction engine on --netns and --state-dir.
func (a *app) engine() (*snapshots.Engine, error) { return a.config().Engine() }

// changeEngine is engine for a command that applies the proposal it
// makes right away (apply, rollback), planned under a change monitor.
func (a *app) changeEngine() (*snapshots.Engine, error) { return a.config().ChangeEngine() }

// startWatchdog starts `nictab __watchdog` on this namespace and state
// directory, as --watchdog says.
func (a *app) startWatchdog(l *snapshots.Lock) error {
	args := []string{"--state-dir", a.stateBase()}
	if a.netns != "" {
		args = append(args, "--netns", a.netns)
	}
	return nictabapp.StartWatchdog(a.watchdogLauncher, append(args, "__watchdog"), l)
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
