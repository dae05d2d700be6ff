package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	nictabapp "github.com/nictab/nictab/internal/app"
	"github.com/nictab/nictab/ui"
)

func (a *app) tuiCmd() *cobra.Command {
	confirm := nictabapp.TUIConfirmWindow
	c := &cobra.Command{
		Use:   "tui [--confirm DURATION]",
		Short: "The terminal UI (the default when no command is given)",
		Long: `The terminal UI: the NICs and the tables their traffic uses, assign a NIC to
a table, preview the plan, apply it and confirm it, browse, compare, roll
back and export snapshots.

Every change made here opens a confirm window: unless you keep it (y) it is
reverted when the window closes, also when this terminal or SSH session is
gone by then. --confirm sets its length (default 60s).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if confirm < time.Second {
				return usagef("--confirm %v is too short: the terminal UI always keeps a confirm window of at least 1s", confirm)
			}
			return a.runTUIWith(cmd.Context(), confirm)
		},
	}
	c.Flags().DurationVar(&confirm, "confirm", nictabapp.TUIConfirmWindow, "how long a change waits for confirmation before it is reverted")
	return c
}

// runShowFallback prints the state where the terminal UI is not available.
func (a *app) runShowFallback(ctx context.Context) error {
	c := a.showCmd()
	c.SetContext(ctx)
	return c.RunE(c, nil)
}

// ttyFile returns v as a file when it is a terminal device.
func ttyFile(v any) (*os.File, bool) {
	f, ok := v.(*os.File)
	if !ok {
		return nil, false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return f, err == nil
}

// runTUI starts the terminal UI with the default confirm window.
func (a *app) runTUI(ctx context.Context) error { return a.runTUIWith(ctx, nictabapp.TUIConfirmWindow) }

// runTUIWith starts the terminal UI. When stdin or stdout is not a
// terminal (a pipe, a script, cron) it prints what `nictab show` prints
// instead.
func (a *app) runTUIWith(ctx context.Context, confirm time.Duration) error {
	out, outTTY := ttyFile(a.out)
	in, inTTY := ttyFile(a.stdin)
	if !outTTY || !inTTY {
		return a.runShowFallback(ctx)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	be := nictabapp.NewTUIBackend(a.config(), nictabapp.TUIOptions{CLIArgs: a.netnsArgs(), Confirm: confirm, Input: in})
	m := ui.New(ui.Options{Backend: be, Styles: ui.TerminalStyles(a.noColor), Context: ctx})
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	if _, err := p.Run(); err != nil {
		if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
			// Cancelled from outside (the sandbox is being removed).
			return nil
		}
		return fmt.Errorf("terminal UI: %w", err)
	}
	return nil
}
