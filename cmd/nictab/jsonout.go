package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/ui"
)

// The headless contract: with --json, plan, apply, rollback, confirm and
// recover print exactly one JSON document on stdout, also when they fail,
// so that Ansible, a shell script or any other tool can drive nictab
// without parsing text meant for people. The README's "Headless use"
// section documents every field; change them only by adding.

// Result words of a changing command's JSON document.
const (
	resUnchanged = "unchanged" // the plan was empty: nothing was done
	resApplied   = "applied"   // applied, verified and kept at once (no confirm window)
	resPending   = "pending"   // applied and verified; reverts at deadline unless confirmed
	resKept      = "kept"      // confirmed within its window
	resReverted  = "reverted"  // the window closed unconfirmed; the change was undone
	resRevertErr = "revert-failed"
	resRecovered = "recovered" // recover finished or undid an interrupted apply
	resNothing   = "nothing"   // recover found nothing to do
	resFailed    = "failed"    // exit 1: nothing was changed unless error says otherwise
	resInvalid   = "invalid"   // exit 2: bad input or usage, nothing was changed
)

// changeResult is the JSON document of apply, rollback, confirm and
// recover.
type changeResult struct {
	Command string `json:"command"`
	Result  string `json:"result"`
	Netns   string `json:"netns,omitempty"`
	// Snapshot is the id of the snapshot the change was saved as (kept) or
	// will be saved as (pending); confirm ID takes it.
	Snapshot   string `json:"snapshot,omitempty"`
	RollbackTo string `json:"rollback_to,omitempty"`
	// Steps is how many kernel writes the apply made (absent: none).
	Steps int `json:"steps,omitempty"`
	// Deadline is when a pending change reverts unless confirmed.
	Deadline time.Time     `json:"deadline,omitzero"`
	Guard    *ui.GuardJSON `json:"guard,omitempty"`
	Plan     *planOut      `json:"plan,omitempty"`
	// Recovered says what an interrupted earlier apply needed first.
	Recovered string   `json:"recovered,omitempty"`
	Notes     []string `json:"notes,omitempty"`
	Detail    string   `json:"detail,omitempty"`
	Error     string   `json:"error,omitempty"`
	// ExitStatus is the process's exit status, repeated for tools that see
	// only the document.
	ExitStatus int `json:"exit_status"`
}

// planOut is `plan --json`: the plan as netcfg has it (changes, prior,
// tables, target, notes, conflicts, unchanged from earlier versions), and
// beside it what a tool shows a person.
type planOut struct {
	netcfg.Plan
	Summary planSummary   `json:"summary"`
	Lines   []planLine    `json:"lines"`
	Diff    planDiff      `json:"diff"`
	Guard   *ui.GuardJSON `json:"guard,omitempty"`
	// Flows are the live connections and foreign rules the plan moves;
	// absent when the plan changes nothing.
	Flows *ui.FlowsJSON `json:"flows,omitempty"`
	// Verdict sums the guard up: "safe", "moves-ssh" (the SSH session
	// moves, breaks or cannot be judged safe, or with no session found an
	// SSH login here moves: plan --detailed-exitcode exits 5), "moves-flows" (other connections or foreign rules'
	// traffic move); absent when the plan changes nothing.
	Verdict string `json:"verdict,omitempty"`
	// GuardMain says how much of main the guard read: "oracle" (only the
	// routes the kernel named for the packets traced), "full", or "none".
	GuardMain string `json:"guard_main_table,omitempty"`
}

// setGuard puts the guard's report into the plan's document.
func (o *planOut) setGuard(r *lookup.GuardReport) {
	if r == nil {
		return
	}
	o.Guard, o.Flows, o.GuardMain = ui.NewGuardJSON(r.SSH), ui.NewFlowsJSON(&r.Flows), r.Main
	switch {
	case r.MovesSSH():
		o.Verdict = "moves-ssh"
	case r.Flows.Dangerous():
		o.Verdict = "moves-flows"
	default:
		o.Verdict = "safe"
	}
}

type planSummary struct {
	Add    int `json:"add"`
	Change int `json:"change"`
	Delete int `json:"delete"`
}

// planLine is one change as `nictab plan` prints it, under its table.
type planLine struct {
	Table      uint32 `json:"table"`
	TableLabel string `json:"table_label"`
	Action     string `json:"action"`
	Line       string `json:"line"`
}

// planDiff is what nictab owns in the plan's tables before and after, as
// text, one object a line under a "table N name" header: a tool that
// diffs text (Ansible's --diff) shows exactly the plan's changes.
type planDiff struct {
	Before string `json:"before"`
	After  string `json:"after"`
}

func newPlanOut(p *snapshots.Proposal) *planOut {
	// The document prints the plan's Prior, which a plan made under a
	// change monitor has not made yet (some 20 ms for 100k routes): it is
	// made beside the lines and the diff, as it was beside the plan.
	go p.Plan.Prior.String()
	out := &planOut{Plan: p.Plan, Lines: []planLine{}}
	if out.Changes == nil {
		out.Changes = []netcfg.Change{}
	}
	add, del, repl := p.Plan.Counts()
	out.Summary = planSummary{Add: add, Change: repl, Delete: del}
	names := ui.PlanNames(p.Live.Names, &p.Plan)
	for i := range p.Plan.Changes {
		c := &p.Plan.Changes[i]
		t := c.Subject().Table()
		out.Lines = append(out.Lines, planLine{Table: t, TableLabel: netcfg.SafeText(names.TableLabel(t)), Action: c.Action.String(), Line: ui.ChangeText(c, &names)})
	}
	out.Diff = diffText(p, &names)
	return out
}

// diffText renders nictab's objects in the tables the plan touches, before
// (live) and after (the plan carried out on that text).
func diffText(p *snapshots.Proposal, names *netcfg.Names) planDiff {
	var tables []uint32
	for i := range p.Plan.Changes {
		if t := p.Plan.Changes[i].Subject().Table(); !slices.Contains(tables, t) {
			tables = append(tables, t)
		}
	}
	slices.Sort(tables)
	owned := netcfg.OwnedAsDesired(p.Live)
	before := map[uint32][]string{}
	for i := range owned.Names {
		before[owned.Names[i].ID] = append(before[owned.Names[i].ID], ui.ObjectText(netcfg.Object{Name: &owned.Names[i]}, names))
	}
	for i := range owned.Routes {
		r := &owned.Routes[i]
		before[r.Table] = append(before[r.Table], ui.ObjectText(netcfg.Object{Route: r}, names))
	}
	for i := range owned.Rules {
		r := &owned.Rules[i]
		before[r.Table] = append(before[r.Table], ui.ObjectText(netcfg.Object{Rule: r}, names))
	}
	after := map[uint32][]string{}
	for _, t := range tables {
		after[t] = slices.Clone(before[t])
	}
	for i := range p.Plan.Changes {
		c := &p.Plan.Changes[i]
		t := c.Subject().Table()
		if c.Action != netcfg.ChangeAdd {
			if j := slices.Index(after[t], ui.ObjectText(c.Before, names)); j >= 0 {
				after[t] = slices.Delete(after[t], j, j+1)
			}
		}
		if c.Action != netcfg.ChangeDelete {
			after[t] = append(after[t], ui.ObjectText(c.After, names))
		}
	}
	render := func(m map[uint32][]string) string {
		var b strings.Builder
		for _, t := range tables {
			lines := slices.Clone(m[t])
			slices.SortStableFunc(lines, func(x, y string) int {
				if d := objectRank(x) - objectRank(y); d != 0 {
					return d
				}
				return strings.Compare(x, y)
			})
			fmt.Fprintf(&b, "table %s\n", netcfg.SafeText(names.TableLabel(t)))
			for _, l := range lines {
				b.WriteString("  " + l + "\n")
			}
		}
		return b.String()
	}
	return planDiff{Before: render(before), After: render(after)}
}

// objectRank orders a table's lines as the plan shows them: its name, its
// routes, then the rules that send traffic to it.
func objectRank(line string) int {
	switch {
	case strings.HasPrefix(line, "name"):
		return 0
	case strings.HasPrefix(line, "route"):
		return 1
	}
	return 2
}

// writeJSON prints one document and notes that it was printed, so a
// failing command does not print a second one.
func (a *app) writeJSON(v any) error {
	w := a.out
	if a.jsonOut != nil {
		w = a.jsonOut
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	a.jsonDone = true
	return enc.Encode(v)
}

// withJSON makes a command whose --json flag is on print nothing but its
// document on stdout, and a changeResult when it fails before it printed
// one: a tool always gets a document (flag parsing errors aside, which
// exit 2 with an empty stdout).
func (a *app) withJSON(c *cobra.Command, on *bool) *cobra.Command {
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		a.jsonDone = false
		if *on {
			out := a.out
			a.jsonOut, a.out = out, io.Discard
			defer func() { a.jsonOut, a.out = nil, out }()
		}
		err := run(cmd, args)
		if err != nil && *on && !a.jsonDone {
			res := &changeResult{Command: cmd.Name(), Netns: a.netns}
			_ = a.failJSON(res, err)
		}
		return err
	}
	return c
}

// failJSON completes res with err and prints it; it returns err.
func (a *app) failJSON(res *changeResult, err error) error {
	res.ExitStatus = exitCode(err)
	res.Result = resFailed
	if res.ExitStatus == exitUsage {
		res.Result = resInvalid
	}
	if msg := strings.TrimSpace(err.Error()); msg != "" {
		res.Error = a.hints(msg)
	}
	if werr := a.writeJSON(res); werr != nil {
		return errors.Join(err, werr)
	}
	return err
}

// runApplyJSON is runApply for --json: no questions (--yes is required,
// since a tool cannot answer), no text on stdout, and with --no-wait it
// returns as soon as the confirm window is open.
func (a *app) runApplyJSON(cmd *cobra.Command, e *snapshots.Engine, p *snapshots.Proposal, f applyFlags) error {
	res := &changeResult{Command: cmd.Name(), Netns: a.netns, RollbackTo: f.rollbackTo, Plan: newPlanOut(p)}
	if !f.yes {
		return a.failJSON(res, usagef("--json does not ask: pass --yes to apply; nothing was changed"))
	}
	if len(p.Plan.Conflicts) > 0 {
		return a.failJSON(res, errors.New("the plan has conflicts; nothing was changed"))
	}
	if p.Plan.Empty() {
		res.Result = resUnchanged
		return a.writeJSON(res)
	}
	r, err := a.guardVerdict(e, p, f.sshClient)
	if err != nil {
		return a.failJSON(res, err)
	}
	res.Plan.setGuard(r)
	g := res.Plan.Guard
	res.Guard = g
	window, err := a.confirmFor(cmd, r != nil && r.MovesSSH(), f)
	if err != nil {
		return a.failJSON(res, err)
	}
	out, err := e.Apply(p, snapshots.ApplyOptions{Confirm: window})
	if err != nil {
		return a.failJSON(res, err)
	}
	res.Steps, res.Recovered = out.Result.Steps, out.Recovered
	if out.Result.NamesNote != "" {
		res.Notes = append(res.Notes, out.Result.NamesNote)
	}
	if out.Pending == nil {
		res.Result, res.Snapshot = resApplied, out.Snapshot.Meta.ID
		return a.writeJSON(res)
	}
	res.Snapshot, res.Deadline = out.Pending.SnapshotID, out.Pending.Deadline.UTC()
	if f.noWait {
		res.Result = resPending
		return a.writeJSON(res)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	o, err := e.Wait(ctx, out.Pending)
	if err != nil {
		return a.failJSON(res, err)
	}
	res.Detail = o.Detail
	switch o.Result {
	case "kept":
		res.Result = resKept
		return a.writeJSON(res)
	case "reverted":
		res.Result, res.ExitStatus = resReverted, exitReverted
		if err := a.writeJSON(res); err != nil {
			return err
		}
		// The same on stderr, for logs that keep only that.
		return exitError{code: exitReverted, err: fmt.Errorf("reverted (%s): the change was not confirmed", o.Detail)}
	}
	res.Result, res.ExitStatus = resRevertErr, exitFailed
	res.Error = a.hints(fmt.Sprintf("the revert is NOT complete (%s): %s — the journal is kept; run `nictab recover`", o.Result, o.Detail))
	if err := a.writeJSON(res); err != nil {
		return err
	}
	return exitError{code: exitFailed, err: errors.New(res.Error)}
}

// confirmChange keeps the pending change, which must be want when it is
// given: a script confirms the change it checked, not one another apply
// opened after its own window closed. Confirming want again once it is
// kept succeeds, so a retried confirm is harmless.
func (a *app) confirmChange(e *snapshots.Engine, want string, asJSON bool) error {
	already := false
	if want != "" {
		p, err := e.Pending()
		if err != nil {
			return err
		}
		switch {
		case p == nil:
			kept, err := a.inHistory(e, want)
			if err != nil {
				return err
			}
			if !kept {
				return fmt.Errorf("snapshot %s was not kept: %w (a window that closes unconfirmed is reverted by its watchdog; see `nictab snapshot list`)", want, snapshots.ErrNothingPending)
			}
			already = true
		case p.SnapshotID != want:
			// The lock keeps a second window from opening while this one
			// is open, so the change checked here is the one kept below.
			return fmt.Errorf("the change waiting for confirmation is %s, not %s: nothing was kept", p.SnapshotID, want)
		}
	}
	id, detail := want, "kept already"
	if !already {
		snap, err := e.Confirm()
		if err != nil {
			return err
		}
		id, detail = snap.Meta.ID, ""
	}
	if asJSON {
		return a.writeJSON(&changeResult{Command: "confirm", Result: resKept, Netns: a.netns, Snapshot: id, Detail: detail})
	}
	if already {
		fmt.Fprintf(a.out, "Snapshot %s is kept already.\n", id)
		return nil
	}
	fmt.Fprintf(a.out, "Kept. Snapshot %s saved.\n", id)
	return nil
}

// inHistory reports whether the snapshot with exactly this id was kept.
func (a *app) inHistory(e *snapshots.Engine, id string) (bool, error) {
	entries, err := e.Store().Listing()
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(entries, func(en snapshots.Listed) bool { return en.ID == id && en.Err == nil }), nil
}

// recoverJSON is recover's document.
func (a *app) recoverJSON(what string) error {
	res := &changeResult{Command: "recover", Result: resRecovered, Netns: a.netns, Detail: what}
	if what == "" {
		res.Result = resNothing
	}
	return a.writeJSON(res)
}
