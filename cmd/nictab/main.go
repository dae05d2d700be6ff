// Command nictab is a terminal UI and CLI for Linux policy-based routing.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	nictabapp "github.com/nictab/nictab/internal/app"
	"github.com/nictab/nictab/internal/timeline"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/format"
)

// Exit statuses, as SPEC.md gives them.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitReverted = 3
	exitChanges  = 4
	// exitMovesSSH is plan --detailed-exitcode's status for changes that
	// move or cut the SSH session nictab runs in (or the one --ssh-client
	// names).
	exitMovesSSH = 5
)

// usageError is bad input or usage: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError carries an exit status other than 1 with its message, which
// may be empty when the command has said everything already.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e exitError) Unwrap() error { return e.err }

// atExit runs before main exits (the profiles of a -tags profile build).
var atExit []func()

func main() {
	timeline.Mark("start-up")
	code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	timeline.Mark("outcome printed")
	for _, f := range atExit {
		f()
	}
	os.Exit(code)
}

// flagError is a mistake in the command line itself (an unknown command
// or flag, a flag's value that does not parse, a wrong number of
// arguments): exit 2, and a pointer to --help.
type flagError struct{ err error }

func (e flagError) Error() string { return e.err.Error() }
func (e flagError) Unwrap() error { return e.err }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root, a := newRootApp(stdin, stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if msg := err.Error(); msg != "" {
		// Errors carry the kernel's and the file's text as it is; this is
		// where it reaches the terminal, so this is where it is escaped.
		fmt.Fprintf(stderr, "nictab: %s\n", netcfg.SafeLines(a.hints(strings.TrimSpace(msg))))
	}
	var fe flagError
	if cmd != nil && errors.As(err, &fe) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// exitCode maps an error to an exit status by its type alone: a message
// that happens to read like a usage error ("invalid argument" is also
// EINVAL's text, which a kernel refusal carries) must not change it.
func exitCode(err error) int {
	var (
		ee  exitError
		ue  usageError
		fe  flagError
		nse *kernel.NamespaceError
		fde *netcfg.FieldError
		fie *format.FileError
		te  *snapshots.TrustError
	)
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue), errors.As(err, &fe), errors.As(err, &nse), errors.As(err, &fde), errors.As(err, &fie), errors.As(err, &te),
		errors.Is(err, nictabapp.ErrUnknownLauncher):
		return exitUsage
	}
	return exitFailed
}

// typeArgErrors makes the errors of every command's argument check a
// flagError: cobra returns them as plain errors.
func typeArgErrors(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return flagError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		typeArgErrors(sub)
	}
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root, _ := newRootApp(stdin, stdout, stderr)
	return root
}

// newRootApp is newRoot with the wiring its flags fill in.
func newRootApp(stdin io.Reader, stdout, stderr io.Writer) (*cobra.Command, *app) {
	a := &app{stdin: stdin, out: stdout, errOut: stderr}
	root := &cobra.Command{
		Use:   "nictab",
		Short: "Policy-based routing for Linux: each NIC's traffic through its own table",
		Long: `nictab lists the host's NICs, sends each NIC's traffic through its own
routing table, previews every rule and route change with the equivalent ip
commands, applies it through netlink with a confirm window, keeps a snapshot
of every applied state, rolls back, and exports snapshots as NixOS
configuration.

Run without a command for the terminal UI. Try it safely first:
  sudo nictab sandbox`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runTUI(cmd.Context())
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(flagErrorFor)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return a.checkGlobals(cmd) }
	pf := root.PersistentFlags()
	pf.StringVar(&a.netns, "netns", "", "work inside the named network namespace (see `ip netns list`)")
	pf.StringVar(&a.stateDir, "state-dir", "", "where snapshots and the journal live (default /var/lib/nictab as root, $XDG_STATE_HOME/nictab otherwise)")
	pf.BoolVar(&a.noColor, "no-color", false, "no colour in output (NO_COLOR is honoured too)")
	pf.StringVar(&a.watchdogLauncher, "watchdog", nictabapp.LauncherAuto, "how a confirm window's watchdog is started: auto (systemd-run where systemd is PID 1), systemd-run, detached")
	_ = pf.MarkHidden("watchdog")
	_ = root.RegisterFlagCompletionFunc("netns", completeNetns)

	root.AddCommand(
		a.tuiCmd(),
		a.showCmd(),
		a.sandboxCmd(),
		a.versionCmd(),
	)
	for _, build := range registered {
		root.AddCommand(build(a))
	}
	a.addCompletions(root)
	checkSubcommands(root)
	typeArgErrors(root)
	return root, a
}

// registered holds the subcommands that files of this package add with
// register, so each subcommand lives in a file of its own.
var registered []func(*app) *cobra.Command

func register(build func(*app) *cobra.Command) { registered = append(registered, build) }

func completeNetns(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	ents, err := os.ReadDir("/run/netns")
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
