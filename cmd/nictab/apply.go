package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	nictabapp "github.com/nictab/nictab/internal/app"
	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/internal/timeline"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/netcfg/lookup"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/format"
	"github.com/nictab/nictab/ui"
)

func init() {
	register(func(a *app) *cobra.Command { return a.planCmd() })
	register(func(a *app) *cobra.Command { return a.applyCmd() })
	register(func(a *app) *cobra.Command { return a.confirmCmd() })
}

// defaultConfirm is the confirm window over SSH when none is given.
const defaultConfirm = 60 * time.Second

// loadIntent reads a snapshot file; its problems are bad input (exit 2).
func loadIntent(path string) (*format.Snapshot, error) {
	if path == "" {
		return nil, usagef("-f FILE is required: the snapshot file to plan from")
	}
	s, err := format.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return s, nil
}

// propose resolves a file's intent; resolve errors point at its lines.
func (a *app) propose(e *snapshots.Engine, s *format.Snapshot, comment string) (*snapshots.Proposal, error) {
	if comment == "" {
		comment = s.Comment
	}
	p, err := e.Propose(s.Intent, comment)
	if err != nil {
		var fe *netcfg.FieldError
		if errors.As(err, &fe) {
			return nil, usageError{s.Locate(err)}
		}
		return nil, err
	}
	return p, nil
}

// printQuietGCMin is the number of changes from which printPlan holds
// the collector off (printGCPercent) while it prints: a printout of
// 100k changes takes 10 ms, one of 4096 under 1 ms.
const (
	printQuietGCMin = 4096
	printGCPercent  = 1000
)

func (a *app) printPlan(p *snapshots.Proposal, asJSON, commands bool) error {
	if asJSON {
		return a.writeJSON(newPlanOut(p))
	}
	names := ui.PlanNames(p.Live.Names, &p.Plan)
	file := netcfg.NamesFile{Paths: a.namePaths()}.TablesPath()
	st := a.styles()
	// NOTE: while a big plan prints, Prepare's encodings fill new memory
	// on the other core, and a collection they bring on stopped the
	// printout for 10–20 ms: its worker spun waiting to scan the stack of
	// a goroutine held in page faults, the printout's goroutines waiting
	// for a core. The collector is held off for the printout's few
	// milliseconds and put back as it was after; the collection comes
	// after it (the apply's peak RSS stayed the same, 159–162 MB).
	if len(p.Plan.Changes) >= printQuietGCMin {
		// Never lower, nor turn on, what GOGC chose.
		old := debug.SetGCPercent(printGCPercent)
		defer debug.SetGCPercent(old)
		if old < 0 || old > printGCPercent {
			debug.SetGCPercent(old)
		}
	}
	return a.writePlanText(a.out, func(w io.Writer) error {
		return ui.WritePlanText(w, &p.Plan, &names, file, a.netns, commands, st)
	})
}

func (a *app) planCmd() *cobra.Command {
	var (
		file             string
		asJSON, detailed bool
		noCommands       bool
		sshClient        string
	)
	c := &cobra.Command{
		Use:   "plan -f FILE",
		Short: "Show what applying a snapshot file would change, with the equivalent ip commands",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			s, err := loadIntent(file)
			if err != nil {
				return err
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			p, err := a.propose(e, s, "")
			if err != nil {
				return err
			}
			var g *lookup.GuardReport
			if asJSON {
				out := newPlanOut(p)
				r, err := a.guardVerdict(e, p, sshClient)
				if err != nil {
					return err
				}
				out.setGuard(r)
				g = r
				if err := a.writeJSON(out); err != nil {
					return err
				}
			} else {
				if err := a.printPlan(p, false, !noCommands); err != nil {
					return err
				}
				if g, err = a.guard(e, p, sshClient); err != nil {
					return err
				}
			}
			if len(p.Plan.Conflicts) > 0 {
				return exitError{code: exitFailed, err: errors.New("the plan has conflicts; it cannot be applied as it is")}
			}
			switch {
			case detailed && g != nil && g.MovesSSH():
				return exitError{code: exitMovesSSH}
			case detailed && !p.Plan.Empty():
				return exitError{code: exitChanges}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "snapshot file to plan from")
	c.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON (see the README's Headless use)")
	c.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when nothing would change, 4 when something would, 5 when the change moves or cuts the SSH session")
	c.Flags().BoolVar(&noCommands, "no-commands", false, "leave out the equivalent ip commands")
	c.Flags().StringVar(&sshClient, "ssh-client", "", "check the path to this SSH client, ADDR[,LOCAL] with LOCAL the server's own address of the session (default: the one $SSH_CONNECTION, the parent sshd or the login record names)")
	return a.withJSON(c, &asJSON)
}

// applyFlags are the choices apply and rollback share.
type applyFlags struct {
	yes       bool
	confirm   time.Duration
	message   string
	sshClient string
	force     bool
	asJSON    bool
	noWait    bool
	// rollbackTo is the snapshot a rollback returns to, for --json.
	rollbackTo string
}

func (f *applyFlags) add(c *cobra.Command) {
	c.Flags().BoolVarP(&f.yes, "yes", "y", false, `answer "apply?" with yes`)
	c.Flags().DurationVar(&f.confirm, "confirm", 0, "keep the change only if `nictab confirm` comes within this time (default 60s over SSH with a terminal; 0 turns it off)")
	c.Flags().StringVarP(&f.message, "message", "m", "", "comment for the snapshot")
	c.Flags().StringVar(&f.sshClient, "ssh-client", "", "check the path to this SSH client, ADDR[,LOCAL] with LOCAL the server's own address of the session (default: the one $SSH_CONNECTION, the parent sshd or the login record names)")
	c.Flags().BoolVar(&f.force, "force", false, "allow --confirm 0 when the change moves or cuts the SSH session")
	c.Flags().BoolVar(&f.asJSON, "json", false, "print the outcome as one JSON document and ask nothing (needs --yes; see the README's Headless use)")
	c.Flags().BoolVar(&f.noWait, "no-wait", false, "with a confirm window: return once the change is applied; it reverts at the deadline unless `nictab confirm` keeps it")
}

// sshConn is the SSH connection to guard: --ssh-client, else
// $SSH_CONNECTION, else the sshd among the parent processes. ok is false
// when nictab is not run over SSH.
func sshConn(flag string) (sshsession.Conn, bool, error) {
	if flag != "" {
		c, err := parseSSHClient(flag)
		if err != nil {
			return sshsession.Conn{}, false, err
		}
		return c, true, nil
	}
	c, _ := nictabapp.SSHSession()
	return c, c.Client.IsValid(), nil
}

// startGuard starts what the guard reads before it looks at the plan,
// the SSH session's search and the namespace's connections (~5 ms), on
// other goroutines: they run while the file is parsed and the plan made.
func startGuard(e *snapshots.Engine) {
	go nictabapp.SSHSession()
	e.StartGuard()
}

// guard traces the SSH session's replies now and after the plan and says
// so; over SSH it always speaks, loudly when the change moves or cuts the
// session. Then it lists the other live connections and the foreign
// rules the plan moves. The Guard is nil when nictab does not run over
// SSH.
func (a *app) guard(e *snapshots.Engine, p *snapshots.Proposal, clientFlag string) (*lookup.GuardReport, error) {
	if !p.Plan.Empty() {
		note := a.sshSessionNote()
		if clientFlag != "" {
			note = ""
			if c, err := parseSSHClient(clientFlag); err == nil {
				note = "SSH session given by --ssh-client: client " + endpointText(c.Client)
				if c.Server.IsValid() {
					note += ", replies from " + endpointText(c.Server)
				}
				note += "\n"
			}
		}
		if note != "" {
			fmt.Fprint(a.out, "\n"+note)
		}
	}
	r, err := a.guardVerdict(e, p, clientFlag)
	if err != nil || r == nil {
		return nil, err
	}
	if r.SSH != nil {
		fmt.Fprint(a.out, "\n"+ui.RenderGuard(*r.SSH, 80, a.styles()))
	}
	names := ui.PlanNames(p.Live.Names, &p.Plan)
	if lines := ui.FlowLines(&r.Flows, &names, 80, 8, a.styles()); len(lines) > 0 {
		fmt.Fprint(a.out, "\n"+strings.Join(lines, "\n")+"\n")
	}
	if r.SSH == nil && r.MovesSSH() {
		fmt.Fprint(a.out, "\n"+ui.RenderUnknownSessionWarning(80, a.styles()))
	}
	return r, nil
}

// guardVerdict is guard without a word on the terminal: nil when the
// plan changes nothing.
func (a *app) guardVerdict(e *snapshots.Engine, p *snapshots.Proposal, clientFlag string) (*lookup.GuardReport, error) {
	c, ok, err := sshConn(clientFlag)
	if err != nil || p.Plan.Empty() {
		return nil, err
	}
	var cp *sshsession.Conn
	if ok {
		cp = &c
	}
	r, err := e.GuardPlan(p, cp)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func (a *app) applyCmd() *cobra.Command {
	var (
		file string
		f    applyFlags
	)
	c := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Apply a snapshot file: preview, apply through netlink, verify, keep or revert",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireAdmin(); err != nil {
				return err
			}
			timeline.Mark("flags")
			gc := holdCollector(file)
			defer gc.release()
			s, err := loadIntent(file)
			if err != nil {
				return err
			}
			timeline.Mark("file parsed")
			e, err := a.changeEngine()
			if err != nil {
				return err
			}
			gc.fits(e.Store().NewestRoutes())
			startGuard(e)
			p, err := a.propose(e, s, f.message)
			if err != nil {
				return err
			}
			timeline.Mark("plan made")
			return a.runApply(cmd, e, p, f)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "snapshot file to apply")
	f.add(c)
	return a.withJSON(c, &f.asJSON)
}

// runApply shows a proposal, asks, applies, and runs the confirm window.
func (a *app) runApply(cmd *cobra.Command, e *snapshots.Engine, p *snapshots.Proposal, f applyFlags) error {
	if f.asJSON {
		return a.runApplyJSON(cmd, e, p, f)
	}
	// What the apply can do before it knows the answer is done on the
	// other core while the plan prints.
	if len(p.Plan.Conflicts) == 0 {
		e.Prepare(p)
	}
	if err := a.printPlan(p, false, true); err != nil {
		return err
	}
	timeline.Mark("plan printed")
	if len(p.Plan.Conflicts) > 0 {
		return errors.New("the plan has conflicts; nothing was changed")
	}
	if p.Plan.Empty() {
		return nil
	}
	g, err := a.guard(e, p, f.sshClient)
	if err != nil {
		return err
	}
	timeline.Mark("guard")
	window, err := a.confirmFor(cmd, g != nil && g.MovesSSH(), f)
	if err != nil {
		return err
	}
	if !f.yes {
		if !isTerminal(a.stdin) {
			return usagef("not asking on a non-terminal: pass --yes to apply")
		}
		if !a.ask(fmt.Sprintf("\nApply these changes (%s)? [y/N] ", ui.PlanCounts(&p.Plan))) {
			fmt.Fprintln(a.out, "Nothing was changed.")
			return nil
		}
	}
	// With a confirm window, Ctrl-C from the moment the change starts going
	// out is a no, answered once it is out: the window's own question
	// sees the signal and reverts now, rather than the default action
	// killing nictab mid-apply and leaving the change to the watchdog.
	var intr chan os.Signal
	if window > 0 {
		intr = make(chan os.Signal, 1)
		signal.Notify(intr, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(intr)
	}
	prog := newProgress(a.errOut, writerIsTerminal(a.errOut), nil)
	out, err := e.Apply(p, snapshots.ApplyOptions{
		Confirm:  window,
		Progress: prog.update,
	})
	prog.finish()
	timeline.Mark("kept")
	if err != nil {
		return err
	}
	if out.Recovered != "" {
		fmt.Fprintf(a.errOut, "recovered first: %s\n", out.Recovered)
	}
	if out.Result.NamesNote != "" {
		fmt.Fprintf(a.errOut, "note: %s\n", out.Result.NamesNote)
	}
	if out.Baseline != nil {
		fmt.Fprintf(a.out, "First change here: the state before it is snapshot %s (%q); `%s` returns to it.\n", out.Baseline.Meta.ID, snapshots.BaselineComment, a.nictabCmd("rollback "+out.Baseline.Meta.ID))
	}
	if out.Pending == nil {
		fmt.Fprintf(a.out, "%s and verified. Snapshot %s saved.\n", appliedText(&p.Plan, out.Result.Steps), out.Snapshot.Meta.ID)
		return nil
	}
	if f.noWait {
		fmt.Fprintf(a.out, "%s and verified. It reverts at %s unless `%s` keeps it.\n", appliedText(&p.Plan, out.Result.Steps), out.Pending.Deadline.Local().Format("15:04:05"), a.nictabCmd("confirm "+out.Pending.SnapshotID))
		return nil
	}
	// Over SSH (or for the client --ssh-client names) keeping needs the
	// code that proves the replies arrive.
	needCode := nictabapp.OverSSH() || f.sshClient != ""
	return a.confirmWindow(cmd.Context(), e, out, appliedText(&p.Plan, out.Result.Steps), needCode, intr)
}

// appliedText says what an apply did in the plan's own counts, so they
// match the "Apply these changes (…)?" question; kernel writes differ (a
// changed rule is two, a table name none).
//
// NOTE: one walk over the changes counts both: a walk each was 1 ms of
// the 100k changes of an apply, after its change was kept.
func appliedText(p *netcfg.Plan, steps int) string {
	var add, del, repl, names int
	for i := range p.Changes {
		c := &p.Changes[i]
		switch c.Action {
		case netcfg.ChangeAdd:
			add++
		case netcfg.ChangeDelete:
			del++
		case netcfg.ChangeReplace:
			repl++
		}
		if c.Subject().Name != nil {
			names++
		}
	}
	s := fmt.Sprintf("Applied %d changes (%s): %d kernel writes", len(p.Changes), ui.PlanCountsOf(add, del, repl), steps)
	if names > 0 {
		s += fmt.Sprintf(", %d table names", names)
	}
	return s
}

// confirmFor is the confirm window of an apply: --confirm, else 60 s when
// the guard says the change moves or cuts the SSH session (movesSSH), or
// over SSH with a terminal.
func (a *app) confirmFor(cmd *cobra.Command, movesSSH bool, f applyFlags) (time.Duration, error) {
	window := f.confirm
	explicit := cmd.Flags().Lookup("confirm") != nil && cmd.Flags().Changed("confirm")
	switch {
	case movesSSH && explicit && window == 0 && !f.force:
		return 0, usagef("this change moves or cuts your SSH session, so it needs a confirm window: drop --confirm 0, or add --force; nothing was changed")
	case movesSSH && !explicit:
		window = defaultConfirm
	case !explicit && nictabapp.OverSSH() && isTerminal(a.stdin):
		window = defaultConfirm
	}
	return window, nil
}

// confirmWindow waits for a pending change to be kept or reverted. On a
// terminal it asks (for the keep code with needCode, else y/N); elsewhere
// it waits for `nictab confirm`.
//
// intr carries SIGINT and SIGTERM, caught since before the apply began.
func (a *app) confirmWindow(ctx context.Context, e *snapshots.Engine, out *snapshots.Outcome, applied string, needCode bool, intr <-chan os.Signal) error {
	if ctx == nil {
		ctx = context.Background()
	}
	p := out.Pending
	left := p.Left.Round(time.Second)
	fmt.Fprintf(a.out, "%s and verified.\n", applied)
	// Ctrl-C at the question is a no, said loudly: the change is reverted
	// now rather than left for the watchdog with nobody watching.
	var res *snapshots.TxOutcome
	var err error
	if isTerminal(a.stdin) {
		answer := make(chan keepAnswer, 1)
		if needCode {
			restore, code, cerr := a.keepCodePrompt(p.Deadline, left)
			if cerr != nil {
				fmt.Fprintf(a.out, "Cannot ask for the keep code here (%v): the change reverts at %s unless `%s` from another login keeps it.\n", cerr, p.Deadline.Local().Format("15:04:05"), a.nictabCmd("confirm"))
				return a.reportOutcome(e.Wait(ctx, p))
			}
			defer restore()
			go func() { answer <- readKeepCode(a.stdin, code, a.out) }()
		} else {
			fmt.Fprintf(a.out, "Keep these changes? Reverting in %s (at %s) unless you answer y here or run `%s`. [y/N] ", left, p.Deadline.Local().Format("15:04:05"), a.nictabCmd("confirm"))
			go func() {
				line, _ := bufio.NewReader(a.stdin).ReadString('\n')
				line = strings.TrimSpace(line)
				ans := keepAnswer{keep: strings.EqualFold(line, "y") || strings.EqualFold(line, "yes"), why: "you answered no at the prompt"}
				if line == "" {
					ans.why = "you answered the prompt without a yes"
				}
				answer <- ans
			}()
		}
		waited := make(chan struct{})
		go func() { res, err = e.Wait(ctx, p); close(waited) }()
		select {
		case ans := <-answer:
			if ans.keep {
				snap, cerr := e.Confirm()
				if cerr != nil {
					fmt.Fprintf(a.errOut, "%v\n", cerr)
					<-waited
					return a.reportOutcome(res, err)
				}
				<-waited
				fmt.Fprintf(a.out, "Kept. Snapshot %s saved.\n", snap.Meta.ID)
				return nil
			}
			if needCode {
				fmt.Fprintf(a.out, "Not the code (%s): reverting the change now.\n", ans.why)
			}
			r, rerr := e.RevertBecause(ctx, ans.why)
			<-waited
			if rerr == nil {
				return a.reportOutcome(r, nil)
			}
		case <-intr:
			fmt.Fprintln(a.out, "\nInterrupted: reverting the change now.")
			r, rerr := e.RevertBecause(context.Background(), "interrupted at the prompt (Ctrl-C)")
			<-waited
			if rerr == nil {
				return a.reportOutcome(r, nil)
			}
			return a.reportOutcome(res, err)
		case <-waited:
			fmt.Fprintln(a.out)
		}
	} else {
		fmt.Fprintf(a.out, "Waiting for `%s` until %s; without it the change reverts by itself.\n", a.nictabCmd("confirm"), p.Deadline.Local().Format("15:04:05"))
		res, err = e.Wait(ctx, p)
	}
	return a.reportOutcome(res, err)
}

func (a *app) reportOutcome(res *snapshots.TxOutcome, err error) error {
	if err != nil {
		return err
	}
	switch res.Result {
	case "kept":
		fmt.Fprintln(a.out, "Kept (confirmed).")
		return nil
	case "reverted":
		return exitError{code: exitReverted, err: fmt.Errorf("reverted (%s): nictab's rules and routes were read back and are as they were before the apply", res.Detail)}
	}
	return fmt.Errorf("the revert is NOT complete (%s): %s — the journal is kept; `%s` finishes it", res.Result, res.Detail, a.nictabCmd("recover"))
}

func (a *app) ask(prompt string) bool {
	fmt.Fprint(a.out, prompt)
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	line = strings.TrimSpace(line)
	return strings.EqualFold(line, "y") || strings.EqualFold(line, "yes")
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (a *app) confirmCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "confirm [ID]",
		Short: "Keep the change the last apply made (inside its confirm window); with ID, only if it is that snapshot",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			want := ""
			if len(args) == 1 {
				want = args[0]
			}
			return a.confirmChange(e, want, asJSON)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the outcome as one JSON document (see the README's Headless use)")
	return a.withJSON(c, &asJSON)
}

// noticeWindow has the engine look at an open confirm window whose
// watchdog may be gone, and says loudly what it found or did.
func (a *app) noticeWindow(e *snapshots.Engine, who string) {
	msg, err := e.CheckWindow(who, kernel.CanAdmin())
	if err != nil {
		fmt.Fprintf(a.errOut, "WARNING: %v\n", err)
	}
	if msg != "" {
		fmt.Fprintln(a.errOut, msg)
	}
}
