package netcfg

// A plan as data: its changes, the objects they touch, and the ip
// commands they stand for. plan.go makes one.

import (
	"fmt"
	"slices"

	"github.com/nictab/nictab/internal/enum"
)

// ChangeAction says what a change does.
type ChangeAction uint8

const (
	ChangeAdd ChangeAction = iota + 1
	ChangeDelete
	ChangeReplace
)

var changeActions = enum.Table[ChangeAction]{What: "change action", Prefix: "action", Names: map[ChangeAction]string{
	ChangeAdd: "add", ChangeDelete: "delete", ChangeReplace: "replace",
}}

func (a ChangeAction) String() string { return changeActions.Text(a) }

// Mark is the one-character sign of a diff line.
func (a ChangeAction) Mark() string {
	switch a {
	case ChangeAdd:
		return "+"
	case ChangeDelete:
		return "-"
	}
	return "~"
}

func (a ChangeAction) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a *ChangeAction) UnmarshalText(b []byte) error { return changeActions.Unmarshal(a, b) }

// Object is one thing a change adds, deletes or replaces: exactly one field
// is set.
type Object struct {
	Rule  *Rule      `json:"rule,omitempty"`
	Route *Route     `json:"route,omitempty"`
	Name  *TableName `json:"table_name,omitempty"`
}

// IsZero reports whether no object is set.
func (o Object) IsZero() bool { return o.Rule == nil && o.Route == nil && o.Name == nil }

// Kind is "rule", "route" or "table name".
func (o Object) Kind() string {
	switch {
	case o.Rule != nil:
		return "rule"
	case o.Route != nil:
		return "route"
	case o.Name != nil:
		return "table name"
	}
	return ""
}

// Table is the routing table the object belongs to; a change is shown under
// it.
func (o Object) Table() uint32 {
	switch {
	case o.Rule != nil:
		return o.Rule.Table
	case o.Route != nil:
		return o.Route.Table
	case o.Name != nil:
		return o.Name.ID
	}
	return 0
}

// String is the object as `ip` shows it.
func (o Object) String() string {
	switch {
	case o.Rule != nil:
		return "rule " + RuleString(o.Rule)
	case o.Route != nil:
		return "route " + RouteString(o.Route)
	case o.Name != nil:
		return fmt.Sprintf("name %d %s", o.Name.ID, o.Name.Name)
	}
	return ""
}

// Change is one step of a plan. Reason only explains to people; the
// executor never reads it.
type Change struct {
	Action ChangeAction `json:"action"`
	Before Object       `json:"before,omitzero"`
	After  Object       `json:"after,omitzero"`
	Reason string       `json:"reason,omitempty"`
}

// Subject is the object the change is about: After, or Before for a delete.
func (c *Change) Subject() Object {
	if c.Action == ChangeDelete {
		return c.Before
	}
	return c.After
}

// Ops returns the kernel writes that carry the change out, in order. Table
// names are not kernel state and give none.
func (c *Change) Ops() []Op { return c.appendOps(nil) }

// appendOps appends Ops to dst without a slice per change: a plan of 100k
// routes would otherwise make 100k of them.
func (c *Change) appendOps(dst []Op) []Op {
	s := c.Subject()
	switch {
	case s.Route != nil:
		switch c.Action {
		case ChangeAdd:
			return append(dst, Op{Kind: OpAddRoute, Route: c.After.Route})
		case ChangeDelete:
			return append(dst, Op{Kind: OpDelRoute, Route: c.Before.Route})
		case ChangeReplace:
			return append(dst, Op{Kind: OpReplaceRoute, Route: c.After.Route})
		}
	case s.Rule != nil:
		switch c.Action {
		case ChangeAdd:
			return append(dst, Op{Kind: OpAddRule, Rule: c.After.Rule})
		case ChangeDelete:
			return append(dst, Op{Kind: OpDelRule, Rule: c.Before.Rule})
		case ChangeReplace:
			// The kernel cannot change a rule in place; the new one goes in
			// before the old one leaves, so the traffic never falls through
			// to main in between.
			return append(dst, Op{Kind: OpAddRule, Rule: c.After.Rule}, Op{Kind: OpDelRule, Rule: c.Before.Rule})
		}
	}
	return dst
}

// Commands returns the `ip` commands (or, for names, the shell line) that
// do the same as the change.
func (c *Change) Commands(namesFile string) []string {
	s := c.Subject()
	if s.Name != nil {
		switch c.Action {
		case ChangeDelete:
			return []string{fmt.Sprintf("sed -i '/^%d[[:space:]]/d' %s", c.Before.Name.ID, ShellQuote(namesFile))}
		case ChangeReplace:
			return []string{fmt.Sprintf("sed -i 's/^%d[[:space:]].*/%d %s/' %s", c.After.Name.ID, c.After.Name.ID, c.After.Name.Name, ShellQuote(namesFile))}
		}
		return []string{fmt.Sprintf("echo %s >> %s", ShellQuote(fmt.Sprintf("%d %s", c.After.Name.ID, c.After.Name.Name)), ShellQuote(namesFile))}
	}
	var out []string
	for _, o := range c.Ops() {
		cmd := o.Command()
		if o.Rule != nil {
			cmd += IP61Note(o.Rule)
		}
		out = append(out, cmd)
	}
	return out
}

// AppendRouteCommand appends the one `ip` command of a change of a route,
// in the network namespace netns as CommandIn says it, and reports true;
// for any other change it appends nothing and reports false (a rule's
// replace takes two commands and its notes, a name a shell line: see
// Commands).
func (c *Change) AppendRouteCommand(b []byte, netns string) ([]byte, bool) {
	var one [2]Op
	ops := c.appendOps(one[:0])
	if len(ops) != 1 || ops[0].Route == nil {
		return b, false
	}
	return ops[0].AppendCommand(b, netns), true
}

// Conflict is something in the way of a plan that nictab will not touch
// because it does not own it.
type Conflict struct {
	Text string `json:"text"`
}

// Plan is the ordered list of changes that takes the live state to a
// desired one. It is plain data: rendered for people, applied by Apply,
// recorded in the journal.
type Plan struct {
	Changes []Change `json:"changes"`
	// Prior is the fingerprint of the live state the plan was made from;
	// Apply refuses the plan when the kernel no longer matches it.
	Prior Prior `json:"prior"`
	// Tables are the tables whose routes were read in full to plan; Apply
	// reads the same ones to check for staleness and to verify.
	Tables []uint32 `json:"tables"`
	// Owned are the other tables where the live state held routes of
	// nictab's; Apply reads nictab's routes there, with Tables, to check
	// the plan is current (see ReadPrior).
	Owned     []uint32   `json:"owned_tables,omitempty"`
	Target    Owned      `json:"target"`
	Notes     []Note     `json:"notes,omitempty"`
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// ops is room for the kernel writes of the first apply of the plan
	// (MapWrites); nil for none.
	ops *room[Op]
}

// MapWrites makes the room of the kernel writes of the plan's first
// apply and maps its pages on another goroutine, for an apply that is to
// come: while its plan prints, say. Copies of the plan share the room;
// an apply of one of them made before takes none.
//
// NOTE: Apply made its 100k writes in 2.4 MB of fresh memory before the
// first: 2.3-2.9 ms, 0.7 with the room mapped ahead.
func (p *Plan) MapWrites() {
	if p.ops != nil {
		return
	}
	// A change is one write but a rule's replace (two): a few replaced
	// rules grow the list past the room.
	p.ops = newRoom[Op](len(p.Changes) + 64)
	p.ops.mapAhead()
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Ops returns the kernel writes of the whole plan, in order.
func (p *Plan) Ops() []Op {
	ops := make([]Op, 0, len(p.Changes))
	for i := range p.Changes {
		ops = p.Changes[i].appendOps(ops)
	}
	return ops
}

// NamesChanged reports whether the plan changes table names.
func (p *Plan) NamesChanged() bool {
	return slices.ContainsFunc(p.Changes, func(c Change) bool { return c.Subject().Name != nil })
}

// Counts returns how many changes add, delete and replace.
func (p *Plan) Counts() (add, del, repl int) {
	for i := range p.Changes {
		switch p.Changes[i].Action {
		case ChangeAdd:
			add++
		case ChangeDelete:
			del++
		case ChangeReplace:
			repl++
		}
	}
	return
}
