package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// A command that only groups others (nictab, snapshot, export) given a
// word that names none of them says so and offers the names it is close
// to: cobra's own check does not for a command with Args of its own, and
// nictab's root runs the terminal UI, so it has one.

// unknownCommand is the usage error for word under c.
func unknownCommand(c *cobra.Command, word string) error {
	msg := fmt.Sprintf("unknown command %q for %q", word, c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		// Two edits: a swapped pair of letters, as in "shwo".
		c.SuggestionsMinimumDistance = 2
	}
	if s := c.SuggestionsFor(word); len(s) > 0 {
		quoted := make([]string, len(s))
		for i, name := range s {
			quoted[i] = fmt.Sprintf("%q", name)
		}
		if len(s) == 1 {
			msg += "; did you mean " + quoted[0] + "?"
		} else {
			msg += "; did you mean one of " + strings.Join(quoted, ", ") + "?"
		}
	}
	return flagError{fmt.Errorf("%s", msg)}
}

// checkSubcommands gives every command that has subcommands the check
// above, for the arguments its own check refuses.
func checkSubcommands(c *cobra.Command) {
	if c.HasAvailableSubCommands() {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			var err error
			if check != nil {
				err = check(cmd, args)
			} else if len(args) > 0 {
				err = cobra.NoArgs(cmd, args)
			}
			if err != nil && len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return err
		}
	}
	for _, sub := range c.Commands() {
		checkSubcommands(sub)
	}
}

// flagErrorFor is the error of a flag that does not parse. Under a
// command that only groups others, a word before it was meant as a
// command ("nictab rolback --steps 1"): that mistake is the one to name,
// as the flag belongs to the command it was meant to be.
func flagErrorFor(c *cobra.Command, err error) error {
	if args := c.Flags().Args(); c.HasAvailableSubCommands() && len(args) > 0 {
		return unknownCommand(c, args[0])
	}
	return flagError{err}
}
