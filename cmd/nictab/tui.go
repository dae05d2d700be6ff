package main

import (
	"context"

	"github.com/spf13/cobra"
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

// runTUI starts the terminal UI. Until it exists, nictab shows the state.
func (a *app) runTUI(ctx context.Context) error {
	return a.runShowFallback(ctx)
}
