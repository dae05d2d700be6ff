package netcfg

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nictab/nictab/internal/timeline"
)

// NameStore writes nictab's table names; NamesFile is the real one.
type NameStore interface {
	Save() (Saved, error)
	Write(names []TableName) error
	Restore(s Saved) error
}

// ApplyOptions wires Apply to its surroundings.
type ApplyOptions struct {
	// LoadNames reads the table names as they are now.
	LoadNames func() Names
	// Names receives the plan's table names; nil leaves names alone.
	Names NameStore
	// BeforeChange runs once the plan is known to be current, before the
	// first change; the journal is written there. An error stops the apply
	// with nothing changed.
	BeforeChange func(before State) error
	// Progress is told about each batch of steps as it completes.
	Progress func(done, total int)
	// Watched is the state the plan was made from, read under a change
	// monitor (kernel.DetectWatched); nil makes the stale check read the
	// kernel.
	Watched *Watched
}

// Watched is a live state read while a change monitor listened to its
// namespace, opened before the state's first dump. State is not to be
// changed: Apply takes it for the kernel's as it is.
type Watched struct {
	State State
	// Monitor listens to the namespace State was read from; nil without
	// one.
	Monitor ChangeMonitor
	// prior is the Prior of every plan made from State by Plan, made
	// once for all of them, and the token Apply knows them by.
	prior *priorCell
}

// ChangeMonitor listens to one namespace's changes of links, addresses,
// routes, rules and nexthop objects. The kernel package opens one
// (kernel.DetectWatched); Apply asks it whether the stale check's dumps
// can be skipped.
type ChangeMonitor interface {
	// Watches reports whether k works in the namespace the monitor
	// listens to.
	Watches(k Kernel) bool
	// Quiet reports whether the monitor heard of no change since it
	// opened.
	Quiet() (bool, error)
	Close() error
}

// Plan is PlanChanges from w.State, with its Prior made only when read.
// Apply, given w and a quiet monitor, recognises the plan as made from
// w.State by the identity of its Prior, and reads no fingerprint at all
// (some 20 ms of CPU for 100k routes). Plan is not for concurrent use;
// the plans it returns are.
func (w *Watched) Plan(want Desired) Plan {
	p := planChanges(w.State, want)
	if w.prior == nil {
		w.prior = lazyPrior(w.State).c
	}
	p.Prior = Prior{w.prior}
	return p
}

// Close closes the change monitor.
func (w *Watched) Close() error {
	if w == nil || w.Monitor == nil {
		return nil
	}
	return w.Monitor.Close()
}

// ApplyResult describes an apply that went through and was verified.
type ApplyResult struct {
	Before State
	// After is the read-back: the plan's tables and nictab's routes
	// elsewhere, without main's default routes.
	After State
	// AfterIsTarget says nictab's routes in After are, in their order,
	// each RouteIdentical to the plan target's route of its place.
	AfterIsTarget bool
	// Steps is the number of kernel writes.
	Steps int
	// NamesNote is set when the table names could not be written (a
	// read-only /etc): the routing change stands, the names do not.
	NamesNote string
}

// StaleError refuses a plan made against a state that has since changed.
type StaleError struct {
	What []string
}

func (e *StaleError) Error() string {
	return "plan is stale: the live state changed since it was made (" + strings.Join(e.What, "; ") + "); nothing was changed, make a new plan"
}

// ApplyError is an apply that failed and was undone (or, when UndoErr is
// set, could not be undone completely).
type ApplyError struct {
	// Step is the 1-based kernel write that failed, of Total; 0 when the
	// failure was not a kernel write (names file, verify).
	Step, Total int
	Err         error
	UndoErr     error
}

func (e *ApplyError) Error() string {
	var b strings.Builder
	if e.Step > 0 {
		fmt.Fprintf(&b, "apply failed at step %d of %d: %v", e.Step, e.Total, e.Err)
	} else {
		fmt.Fprintf(&b, "apply failed: %v", e.Err)
	}
	if e.UndoErr != nil {
		fmt.Fprintf(&b, "; undoing the steps before it ALSO failed: %v — the host is between states, run `nictab recover`", e.UndoErr)
	} else {
		b.WriteString("; every step before it was undone and the kernel read back: the host is as it was")
	}
	return b.String()
}

func (e *ApplyError) Unwrap() error { return e.Err }

// ConflictError refuses a plan that would need to change what nictab does
// not own.
type ConflictError struct{ Conflicts []Conflict }

func (e *ConflictError) Error() string {
	var s []string
	for _, c := range e.Conflicts {
		s = append(s, c.Text)
	}
	return "plan cannot be applied: " + strings.Join(s, "; ")
}

// Apply carries out plan on the kernel as one transaction: it refuses a
// stale plan, runs every step, reads the kernel back and compares it with
// the plan's target. Any failure undoes the steps already done, in reverse.
func Apply(k Kernel, plan Plan, opts ApplyOptions) (ApplyResult, error) {
	if len(plan.Conflicts) > 0 {
		return ApplyResult{}, &ConflictError{Conflicts: plan.Conflicts}
	}
	defer quietGC()()
	before, err := currentPrior(k, opts.LoadNames(), plan, opts.Watched)
	if err != nil {
		return ApplyResult{}, err
	}
	// The monitor's one job, the stale check, is done. Left open it would
	// hear the change itself: the kernel queues each written route on it
	// until its buffer is full, 50–75 ms of a 100k-route apply.
	if err := opts.Watched.Close(); err != nil {
		return ApplyResult{}, err
	}
	timeline.Mark("stale check")
	if opts.BeforeChange != nil {
		if err := opts.BeforeChange(before); err != nil {
			return ApplyResult{}, err
		}
	}
	timeline.Mark("journal written")
	res := ApplyResult{Before: before}

	// The writes, and whether names change, in one walk over the changes.
	ops := plan.ops.take(len(plan.Changes))
	if ops == nil {
		ops = make([]Op, 0, len(plan.Changes))
	}
	namesChange := false
	for i := range plan.Changes {
		c := &plan.Changes[i]
		ops = c.appendOps(ops)
		namesChange = namesChange || c.Subject().Name != nil
	}

	var saved Saved
	namesWritten := false
	if opts.Names != nil && namesChange {
		saved, err = opts.Names.Save()
		if err == nil {
			err = opts.Names.Write(plan.Target.Names)
		}
		switch {
		case errors.Is(err, ErrNamesReadOnly):
			res.NamesNote = fmt.Sprintf("table names were not written (%v); on NixOS they belong in the configuration: `nictab export nix`", err)
		case err != nil:
			return ApplyResult{}, &ApplyError{Err: fmt.Errorf("write table names: %w", err)}
		default:
			namesWritten = true
		}
	}
	undoNames := func() error {
		if !namesWritten {
			return nil
		}
		if err := opts.Names.Restore(saved); err != nil {
			return fmt.Errorf("restore table names: %w", err)
		}
		return nil
	}

	res.Steps = len(ops)
	undo := func() []Op { return planUndoOps(&plan, len(ops)) }
	// An undo's error codes do not say what the kernel holds ("exists" may
	// be another owner's route): the undo is read back and finished from
	// the kernel's state, and only that says whether the host is as it was.
	checkUndo := func(opErr error) error {
		rep, err := Restore(k, OwnedAsDesired(before), RestoreOptions{Tables: plan.Tables, LoadNames: opts.LoadNames, Foreign: ForeignObjects(before)})
		if err != nil {
			return errors.Join(opErr, err)
		}
		if !rep.AsBefore() {
			return errors.New(rep.Text())
		}
		return nil
	}
	timeline.Mark("ops made")
	into := readBackRoom(plan, before)
	if err := execProgress(k, ops, undo, opts.Progress); err != nil {
		err.UndoErr = errors.Join(checkUndo(err.UndoErr), undoNames())
		return ApplyResult{}, err
	}

	timeline.Mark("kernel writes")
	walk := newWantedWalk(plan.Target.Routes)
	after, err := readBack(k, opts.LoadNames(), plan, before, into, walk.walk)
	timeline.Mark("read back")
	if err == nil {
		var diffs []string
		if diffs, res.AfterIsTarget = verifyTarget(after, plan.Target, walk); len(diffs) > 0 {
			err = fmt.Errorf("the kernel does not hold what the plan wanted: %s", strings.Join(diffs, "; "))
		}
	}
	if err != nil {
		uerr := checkUndo(undoAll(k, undo()))
		return ApplyResult{}, &ApplyError{Err: fmt.Errorf("verify: %w", err), UndoErr: errors.Join(uerr, undoNames())}
	}
	timeline.Mark("verified")
	res.After = after
	return res, nil
}

// ReadPrior reads what a plan was made from, as far as the plan depends
// on it: the tables it read in full, and nictab's routes in the other
// tables where it saw some. Its fingerprint is the plan's Prior while
// nothing of that changed.
//
// NOTE: the plan was made from a state holding every route of nictab's
// (AllOwned), found by a dump of every table; this does not dump them
// again. A route of nictab's that appeared since in a table the plan never
// saw one in is left out: the plan does not touch that table, and the
// snapshot saved after leaves the route unrecorded, so it stays as it
// is. Dumping every table again would fill every route of a table read
// in full a second time (50 ms for 100k routes) before each delete.
func ReadPrior(k Reader, names Names, plan Plan) (State, error) {
	s, err := Detect(k, names, DetectOptions{Tables: plan.Tables, OwnedIn: plan.Owned})
	if err != nil {
		return State{}, err
	}
	s.AllOwned = true
	return s, nil
}

// currentPrior returns the state plan was made from as the kernel holds
// it now, or a StaleError when the kernel no longer holds it.
//
// It reads the kernel (ReadPrior) and compares the fingerprint, except
// when w's monitor has heard of no change of links, addresses, routes,
// rules or nexthop objects since before w.State was read, plan was made
// from w.State (w.Plan), and the table names nictab owns are as they
// were: the state is then the one ReadPrior would read now, fingerprint
// included, since ReadPrior reads part of what w.State holds (the same
// tables in full, nictab's routes of the other tables where it saw
// some), and none of it changed.
//
// NOTE: a monitor that heard anything, whatever it was (our own writes
// of an earlier apply included), or that failed to say, sends the check
// to the kernel's dumps as without one: the monitor only ever saves the
// dump, it never decides that a plan is stale.
func currentPrior(k Kernel, names Names, plan Plan, w *Watched) (State, error) {
	if w != nil && w.Monitor != nil && w.Monitor.Watches(k) && w.prior != nil && w.prior == plan.Prior.c &&
		w.State.AllOwned && slices.Equal(names.OwnedTables(), w.State.Names.OwnedTables()) {
		if quiet, err := w.Monitor.Quiet(); err == nil && quiet {
			s := w.State
			s.Names = names
			return s, nil
		}
	}
	// A plan made from w.State may not have made its fingerprint yet: it
	// is made while the kernel is read.
	go plan.Prior.String()
	before, err := ReadPrior(k, names, plan)
	if err != nil {
		return State{}, fmt.Errorf("read live state: %w", err)
	}
	if fp, want := Fingerprint(before), plan.Prior.String(); fp != want {
		return State{}, &StaleError{What: []string{"fingerprint " + fp + " is not the plan's " + want}}
	}
	return before, nil
}

// ownedElsewhere returns, ascending, the tables s does not hold in full
// where it holds routes of nictab's.
func ownedElsewhere(s *State) []uint32 {
	var out []uint32
	for i := range s.Routes {
		if r := &s.Routes[i]; r.Owned() && !s.HasTable(r.Table) {
			out = appendTable(out, r.Table)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// readBack reads what verify compares with the plan's target: the
// plan's tables and the target's in full, and nictab's routes in every
// other table before held some in. The routes go into into (see
// readBackRoom).
//
// NOTE: not the dump of every table that finding nictab's routes
// anywhere can need (see readOwned, ReadPrior): the plan wrote only in
// the tables read here, so they hold every route of nictab's that before
// did not show elsewhere. That dump would fill every route of a
// 100k-route table a second time (50 ms).
func readBack(k Kernel, names Names, plan Plan, before State, into []Route, reading func([]Route)) (State, error) {
	tables := mergeTables(plan.Tables, plan.Target.TargetTables())
	elsewhere := slices.DeleteFunc(ownedElsewhere(&before), func(t uint32) bool { return slices.Contains(tables, t) })
	// Main's default routes are not nictab's (it writes no route in
	// main), and nothing of the result looks at what is not nictab's:
	// with a full table in main their probe was a millisecond of kernel
	// time.
	after, err := Detect(k, names, DetectOptions{Tables: tables, OwnedIn: elsewhere, Into: into, NoMainDefaults: true, Reading: reading})
	after.AllOwned = before.AllOwned
	return after, err
}

// readBackRoom returns the slice readBack keeps the routes it reads in,
// as large as it will need.
//
// NOTE: its pages are left to the read to map. Mapped on the other core
// while the kernel wrote (26 MB for 100k routes), they cost the writes
// more than they saved the read: in A/B (11 pairs) the kernel writes of
// an apply -f took 125.2 ms so and 117.3 without, the read-back 26.9 and
// 29.0. Fresh pages taken beside the kernel's own allocations for each
// route slow them.
func readBackRoom(plan Plan, before State) []Route {
	// About what the read finds: the target's routes, and the routes of
	// others as before.
	n := len(plan.Target.Routes)
	for i := range before.Routes {
		if !before.Routes[i].Owned() {
			n++
		}
	}
	return make([]Route, 0, n)
}

// execBatch is how many ops go to the executor between progress reports:
// 0.15–0.3 s of kernel time for routes, a few reports a second on a long
// apply. Each call of the executor reads the links again (a few hundred
// µs; 4,096 made that 5% of a 100k apply), and sends its runs of route
// writes spread over their table (see sendOrder in netcfg/kernel): spread
// within batches of 16,384, the 100k additions of an `apply -f` took the
// kernel 193–196 ms; spread over one batch, 122–135 ms, as a raw writer
// sending them scattered does.
const execBatch = 1 << 17

// planUndoOps is, for each of the n ops of plan's changes, the op that
// reverses it, in the same places.
//
// NOTE: made only when something is to be undone: the list of 100k undo
// ops, made beside the ops before every apply, was 2.4 MB of fresh
// memory and 2 ms before the first write, for an apply that succeeds.
func planUndoOps(plan *Plan, n int) []Op {
	undo := make([]Op, 0, n)
	for i := range plan.Changes {
		undo = plan.Changes[i].appendUndoOps(undo)
	}
	return undo
}

// execProgress runs ops; undo gives, when one fails, the op that reverses
// each of them, in the same places.
func execProgress(k Kernel, ops []Op, undo func() []Op, progress func(done, total int)) *ApplyError {
	done := 0
	for done < len(ops) {
		end := min(done+execBatch, len(ops))
		// A run of rule additions goes to the executor whole: it sends
		// the run backwards so the kernel inserts each rule at once (see
		// sendOrder), and a run cut in batches would have each batch walk
		// past every rule the batches before it added.
		for end < len(ops) && ops[end-1].Kind == OpAddRule && ops[end].Kind == OpAddRule {
			end++
		}
		r := k.Exec(ops[done:end])
		if r.Failed != nil {
			// Undo what the kernel accepted: everything before this batch,
			// the leading part of it, and stray ops after the refusal.
			var rev []Op
			undo := undo()
			for _, i := range slices.Backward(r.Stray) {
				rev = append(rev, undo[done+i])
			}
			for i := done + r.Done - 1; i >= 0; i-- {
				rev = append(rev, undo[i])
			}
			failed := done + r.Failed.Index
			return &ApplyError{
				Step:    failed + 1,
				Total:   len(ops),
				Err:     fmt.Errorf("%s: %w", ops[failed].Command(), r.Failed.Err),
				UndoErr: undoAllOrdered(k, rev),
			}
		}
		done = end
		if progress != nil {
			progress(done, len(ops))
		}
	}
	return nil
}

// undoAll reverses every op of a completed run.
func undoAll(k Kernel, undo []Op) error {
	rev := slices.Clone(undo)
	slices.Reverse(rev)
	return undoAllOrdered(k, rev)
}

// undoAllOrdered runs undo ops in the order given. It does not stop at a
// failure: each op it can still do brings the host closer to where it was.
// An object already gone (or already back) is what undo wants, if it is the
// object meant; the read-back after the undo (checkUndo in Apply) says
// whether it was.
func undoAllOrdered(k Kernel, ops []Op) error {
	return errors.Join(execAll(k, ops, func(f *OpError) bool {
		return (IsNotFoundErr(f.Err) && f.Op.Kind.IsDelete()) || (IsExistsErr(f.Err) && !f.Op.Kind.IsDelete())
	})...)
}

// IsDelete reports whether k removes an object from the kernel.
func (k OpKind) IsDelete() bool { return k == OpDelRoute || k == OpDelRule }

// UndoOps returns, for each op of Ops, the op that reverses it.
func (c *Change) UndoOps() []Op { return c.appendUndoOps(nil) }

// appendUndoOps appends UndoOps to dst without a slice per change.
func (c *Change) appendUndoOps(dst []Op) []Op {
	s := c.Subject()
	switch {
	case s.Route != nil:
		switch c.Action {
		case ChangeAdd:
			return append(dst, Op{Kind: OpDelRoute, Route: c.After.Route})
		case ChangeDelete:
			return append(dst, Op{Kind: OpAddRoute, Route: c.Before.Route})
		case ChangeReplace:
			return append(dst, Op{Kind: OpReplaceRoute, Route: c.Before.Route})
		}
	case s.Rule != nil:
		switch c.Action {
		case ChangeAdd:
			return append(dst, Op{Kind: OpDelRule, Rule: c.After.Rule})
		case ChangeDelete:
			return append(dst, Op{Kind: OpAddRule, Rule: c.Before.Rule})
		case ChangeReplace:
			return append(dst, Op{Kind: OpDelRule, Rule: c.After.Rule}, Op{Kind: OpAddRule, Rule: c.Before.Rule})
		}
	}
	return dst
}

func mergeTables(a, b []uint32) []uint32 {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
