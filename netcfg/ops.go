package netcfg

import "fmt"

// OpKind is one kind of kernel write.
type OpKind uint8

const (
	OpAddRoute OpKind = iota + 1
	OpReplaceRoute
	OpDelRoute
	OpAddRule
	OpDelRule
)

func (k OpKind) String() string {
	switch k {
	case OpAddRoute:
		return "add route"
	case OpReplaceRoute:
		return "replace route"
	case OpDelRoute:
		return "delete route"
	case OpAddRule:
		return "add rule"
	case OpDelRule:
		return "delete rule"
	}
	return fmt.Sprintf("op%d", uint8(k))
}

// Op is one write to the kernel: a route or a rule added, replaced or
// deleted. Exactly one of Route and Rule is set.
type Op struct {
	Kind  OpKind
	Route *Route
	Rule  *Rule
}

// Command is the `ip` command that does the same as the op.
func (o Op) Command() string {
	switch o.Kind {
	case OpAddRoute:
		return RouteCommand("add", o.Route)
	case OpReplaceRoute:
		return RouteCommand("replace", o.Route)
	case OpDelRoute:
		return RouteCommand("del", o.Route)
	case OpAddRule:
		return RuleCommand("add", o.Rule)
	case OpDelRule:
		return RuleCommand("del", o.Rule)
	}
	return "# unknown op"
}

// OpError is the kernel's refusal of one op.
type OpError struct {
	Index int
	Op    Op
	Err   error
}

func (e *OpError) Error() string {
	return fmt.Sprintf("step %d (%s): %v", e.Index+1, e.Op.Command(), e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// ExecResult says which ops of a batch the kernel accepted.
//
// Requests are pipelined: when the kernel refuses op k, ops sent in the same
// window after k may already have been accepted. They are listed in Stray so
// that an undo can remove them too; nothing after the window was sent.
type ExecResult struct {
	// Done is the number of leading ops accepted: ops[:Done].
	Done int
	// Failed is the first refused op (index Done), or nil.
	Failed *OpError
	// Stray lists, ascending, the indices after Failed that were accepted.
	Stray []int
}

// Executor writes ops to the kernel in order, each acknowledged.
type Executor interface {
	Exec(ops []Op) ExecResult
}
