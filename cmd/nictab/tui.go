package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/ui"
)

func (a *app) tuiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tui",
		Short: "The terminal UI (the default when no command is given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runTUI(cmd.Context())
		},
	}
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

// runTUI starts the terminal UI. When stdin or stdout is not a terminal
// (a pipe, a script, cron) it prints what `nictab show` prints instead.
func (a *app) runTUI(ctx context.Context) error {
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
	m := ui.New(ui.Options{Backend: a.newTUIBackend(), Styles: ui.TerminalStyles(out, a.noColor), Context: ctx})
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	if _, err := p.Run(); err != nil {
		if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
			// Cancelled from outside (the sandbox is being removed).
			return nil
		}
		return fmt.Errorf("terminal UI: %w", err)
	}
	return nil
}
