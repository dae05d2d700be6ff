package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nictab/nictab/internal/sandbox"
)

func (a *app) sandboxCmd() *cobra.Command {
	var (
		keep bool
		name string
	)
	c := &cobra.Command{
		Use:   "sandbox [--keep] [-- COMMAND [ARGS...]]",
		Short: "Try nictab in a throwaway network namespace",
		Long: fmt.Sprintf(`Create the network namespace %[1]s, shaped like the classic dual-NIC
home server (eno1 192.168.10.2/24 via 192.168.10.1, enp2s0 192.168.20.2/24
via 192.168.20.1, with IPv6 twins and the gateways in %[1]s-gw), and
run nictab inside it: the terminal UI, or the nictab command given after --.
Nothing done there touches this host's own routing.

Without --keep both namespaces, and the snapshots made in them, are removed
when nictab exits, also on Ctrl-C or a lost SSH session; with --state-dir
the snapshots go there and stay (nictab removes only the temporary
directory it made itself). With --keep they
stay, for:  nictab --netns %[1]s …`, sandbox.Name),
		RunE: func(cmd *cobra.Command, args []string) error {
			if os.Geteuid() != 0 {
				return usagef("sandbox needs root to create network namespaces: run it with sudo")
			}
			if name == "" || strings.ContainsAny(name, "/ ") || len(name) > 40 {
				return usagef("--name %q is not a usable namespace name", name)
			}
			return a.runSandbox(cmd.Context(), name, keep, args)
		},
	}
	c.Flags().BoolVar(&keep, "keep", false, "leave the namespaces in place on exit")
	c.Flags().StringVar(&name, "name", sandbox.Name, "name of the sandbox namespace (its gateways live in NAME-gw)")
	return c
}

func (a *app) runSandbox(ctx context.Context, name string, keep bool, args []string) (err error) {
	inner := *a
	inner.netns = name
	// NOTE: nictab removes only what it made. Without --keep and without
	// --state-dir, the sandbox's history lives in a temporary directory
	// made here and removed on exit; a --state-dir given (which may be the
	// host's own history) is used and left as it is, and so is the default
	// one under --keep.
	tmpState := ""
	if !keep && a.stateDir == "" {
		tmpState, err = os.MkdirTemp("", "nictab-sandbox-")
		if err != nil {
			return fmt.Errorf("sandbox: make its state directory: %w", err)
		}
		inner.stateDir = tmpState
	}
	stateBase := inner.stateBase()
	if err := sandbox.Create(name); err != nil {
		if tmpState != "" {
			err = errors.Join(err, os.RemoveAll(tmpState))
		}
		return err
	}
	cleanup := func() error {
		if keep {
			return nil
		}
		var rm error
		if tmpState != "" {
			rm = os.RemoveAll(tmpState)
		}
		return errors.Join(sandbox.Delete(name), rm)
	}
	defer func() {
		if cerr := cleanup(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("remove sandbox: %w", cerr))
		}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if keep {
		fmt.Fprintf(a.errOut, "sandbox %s is ready and stays after exit: nictab%s …\n", name, inner.netnsArgs())
	} else {
		fmt.Fprintf(a.errOut, "sandbox %s is ready; it is removed when nictab exits\n", name)
	}
	done := make(chan error, 1)
	go func() {
		if len(args) == 0 {
			done <- inner.runTUI(ctx)
			return
		}
		root := newRoot(a.stdin, a.out, a.errOut)
		full := append([]string{"--netns", name, "--state-dir", stateBase}, args...)
		if a.noColor {
			full = append([]string{"--no-color"}, full...)
		}
		root.SetArgs(full)
		root.SetContext(ctx)
		done <- root.Execute()
	}()
	select {
	case err := <-done:
		return err
	case s := <-sigs:
		cancel()
		fmt.Fprintf(a.errOut, "\nnictab sandbox: %v, removing the sandbox\n", s)
		return exitError{code: 128 + int(s.(syscall.Signal)), err: nil}
	}
}
