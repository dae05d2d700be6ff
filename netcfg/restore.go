package netcfg

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// RestoreOptions wires Restore to its surroundings.
type RestoreOptions struct {
	// Tables are read in full besides the target's own (the tables the
	// change being undone wrote).
	Tables    []uint32
	LoadNames func() Names
	// Names receives the target's table names; nil leaves names alone.
	Names NameStore
	// Foreign lists the objects nictab does not own as they were before
	// (ForeignObjects): Restore reports each one that is no longer there.
	Foreign []string
}

// RestoreReport says how far a restore got, from the kernel read back
// after it, not from the error codes of its writes.
type RestoreReport struct {
	// Refused are the writes the kernel refused, and the changes not sent
	// because they would touch an object nictab does not own.
	Refused []string `json:"refused,omitempty"`
	// Left are the differences between nictab's rules and routes, read
	// back, and the target: empty means they are exactly as wanted.
	Left []string `json:"left,omitempty"`
	// ForeignChanged are objects nictab does not own that were there
	// before and are not now. nictab does not re-create them; a person
	// may have removed them.
	ForeignChanged []string `json:"foreign_changed,omitempty"`
}

// Complete reports whether nictab's rules and routes are as wanted.
func (r *RestoreReport) Complete() bool { return len(r.Left) == 0 }

// AsBefore reports whether the kernel is as the target says in full:
// nictab's objects and everyone else's.
func (r *RestoreReport) AsBefore() bool { return len(r.Left) == 0 && len(r.ForeignChanged) == 0 }

// Text lists what could not be restored and why.
func (r *RestoreReport) Text() string {
	var parts []string
	if len(r.Left) > 0 {
		parts = append(parts, "not restored: "+strings.Join(r.Left, "; "))
	}
	if len(r.Refused) > 0 {
		parts = append(parts, "because: "+strings.Join(r.Refused, "; "))
	}
	if len(r.ForeignChanged) > 0 {
		parts = append(parts, "objects nictab does not own that are no longer as before (left alone): "+strings.Join(r.ForeignChanged, "; "))
	}
	return strings.Join(parts, "; ")
}

// Restore brings what nictab owns back to want and does all it safely
// can: a change that would touch an object nictab does not own is not
// sent, a write the kernel refuses does not stop the others, and the
// kernel is read back afterwards to say what is left. The error is for
// failures to read the kernel at all.
func Restore(k Kernel, want Desired, opts RestoreOptions) (RestoreReport, error) {
	var rep RestoreReport
	tables := mergeTables(opts.Tables, want.Tables)
	live, err := Detect(k, opts.LoadNames(), DetectOptions{Tables: tables, Owned: true})
	if err != nil {
		return rep, fmt.Errorf("read live state: %w", err)
	}
	plan := PlanChanges(live, want)
	for _, c := range plan.Conflicts {
		rep.Refused = append(rep.Refused, "not sent: "+c.Text)
	}
	if opts.Names != nil && plan.NamesChanged() {
		if err := opts.Names.Write(plan.Target.Names); err != nil && !errors.Is(err, ErrNamesReadOnly) {
			rep.Refused = append(rep.Refused, fmt.Sprintf("write table names: %v", err))
		}
	}
	for _, err := range execAll(k, plan.Ops(), nil) {
		rep.Refused = append(rep.Refused, err.Error())
	}
	after, err := Detect(k, opts.LoadNames(), DetectOptions{Tables: tables, Owned: true})
	if err != nil {
		return rep, fmt.Errorf("read the kernel back: %w", err)
	}
	rep.Left = VerifyTarget(after, keyOrdered(want.Owned))
	rep.ForeignChanged = goneObjects(opts.Foreign, ForeignObjects(after))
	return rep, nil
}

// keyOrdered is a copy of o with its routes in key order, as VerifyTarget
// expects.
func keyOrdered(o Owned) Owned {
	o = o.Clone()
	slices.SortFunc(o.Routes, func(a, b Route) int { return a.Key().Compare(b.Key()) })
	return o
}

// ForeignObjects lists, as `ip` text, every rule and every route of the
// completely read tables that nictab does not own: what an apply, undo or
// revert must leave exactly as it found it.
func ForeignObjects(s State) []string {
	var out []string
	for i := range s.Rules {
		if r := &s.Rules[i]; !r.Owned() {
			out = append(out, "rule "+RuleKey(r))
		}
	}
	for i := range s.Routes {
		if r := &s.Routes[i]; !r.Owned() && slices.Contains(s.Complete, r.Table) {
			out = append(out, "route "+RouteString(r))
		}
	}
	slices.Sort(out)
	return out
}

// goneObjects returns the entries of before that are not in now (both
// sorted), counting duplicates: a rule that existed twice and now once is
// one gone.
func goneObjects(before, now []string) []string {
	var gone []string
	i := 0
	for _, b := range before {
		for i < len(now) && now[i] < b {
			i++
		}
		if i < len(now) && now[i] == b {
			i++
			continue
		}
		gone = append(gone, b)
	}
	return gone
}

// execAll sends every op, in order, whatever the kernel refuses, and
// returns the refusals, less those expected says are no failure. Whether the end state is right is for a read-back
// to say: "already gone" or "already there" may be true of a different
// object than the one meant.
func execAll(k Kernel, ops []Op, expected func(*OpError) bool) []error {
	var errs []error
	for len(ops) > 0 {
		r := k.Exec(ops)
		if r.Failed == nil {
			break
		}
		if expected == nil || !expected(r.Failed) {
			errs = append(errs, fmt.Errorf("%s: %w", r.Failed.Op.Command(), r.Failed.Err))
		}
		// Ops after the refusal were not applied unless they are stray
		// ops of the same window; send the others again.
		stray := make(map[int]bool, len(r.Stray))
		for _, i := range r.Stray {
			stray[i] = true
		}
		var rest []Op
		for i := r.Failed.Index + 1; i < len(ops); i++ {
			if !stray[i] {
				rest = append(rest, ops[i])
			}
		}
		ops = rest
	}
	return errs
}
