package snapshots

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
)

// maxSockets caps the sockets the guard reads: beyond it they are
// counted, not traced.
const maxSockets = 50_000

// Guard traces the replies of the SSH connection c now and after the
// proposal, with the lookup simulator.
func (e *Engine) Guard(p *Proposal, c sshsession.Conn) (lookup.Guard, error) {
	r, err := e.GuardPlan(p, &c)
	if err != nil {
		return lookup.Guard{}, err
	}
	return *r.SSH, nil
}

// guardRead is what the guard reads of the kernel before it looks at the
// plan: the namespace's connections.
type guardRead struct {
	k       netcfg.Kernel
	sockets []netcfg.Socket
	total   int
	err     error
}

func (e *Engine) readGuard() guardRead {
	k, err := e.cfg.Open()
	if err != nil {
		return guardRead{err: err}
	}
	g := guardRead{k: k}
	if sr, ok := k.(lookup.SocketReader); ok {
		g.sockets, g.total, err = sr.Sockets(maxSockets)
		if err != nil {
			g.err = fmt.Errorf("list the namespace's connections: %w", err)
		}
	}
	return g
}

// StartGuard reads the namespace's connections for the next GuardPlan
// on another goroutine, so that sock_diag's walk of the socket tables
// (~5 ms, even in an empty namespace) runs while the plan is made. Call
// it from the goroutine that calls GuardPlan, and only when GuardPlan
// follows: the kernel it opens is closed there.
func (e *Engine) StartGuard() {
	if e.guardRead != nil {
		return
	}
	ch := make(chan guardRead, 1)
	e.guardRead = ch
	go func() { ch <- e.readGuard() }()
}

// GuardPlan runs the whole guard on a proposal: the SSH session c (nil
// when nictab does not run over SSH), every established connection and
// connected socket of the namespace, and every foreign rule. It starts
// from the state the plan was made from and reads only what that lacks:
// the default table and the tables rules reach, and of main and local the
// routes the kernel names for the packets traced (see lookup.RunGuard).
// With no session, no connection and no foreign rule it reads nothing.
func (e *Engine) GuardPlan(p *Proposal, c *sshsession.Conn) (lookup.GuardReport, error) {
	var g guardRead
	if e.guardRead != nil {
		g = <-e.guardRead
		e.guardRead = nil
	} else {
		g = e.readGuard()
	}
	if g.k != nil {
		defer g.k.Close()
	}
	if g.err != nil {
		return lookup.GuardReport{}, g.err
	}
	k, sockets, total := g.k, g.sockets, g.total
	before := p.Live
	if c == nil && len(sockets) == 0 && !lookup.HasForeignRules(&before) {
		// Nothing to trace: no session, no connection, no other
		// program's rule.
		return lookup.GuardReport{Flows: lookup.FlowGuard{Moved: []lookup.MovedFlow{}, Shadowed: []lookup.ShadowedRule{}}, Main: "none"}, nil
	}
	// The tables read below are appended to a copy: the proposal's live
	// state is what the apply's stale check compares with. Made only
	// here, it costs nothing when there is nothing to trace (100k routes:
	// 25 MB).
	before.Routes = slices.Clone(p.Live.Routes)
	oracle, _ := k.(lookup.RouteOracle)
	var need []uint32
	for _, t := range append(append(before.RuleTables(), netcfg.TableLocal, netcfg.TableDefault), p.Plan.Tables...) {
		// Main and local come from the oracle where there is one.
		if t == netcfg.TableMain || t == netcfg.TableUnspec || (t == netcfg.TableLocal && oracle != nil) {
			continue
		}
		if !before.HasTable(t) && !slices.Contains(need, t) {
			need = append(need, t)
		}
	}
	for _, t := range need {
		if err := netcfg.ReadTable(k, &before, t); err != nil {
			return lookup.GuardReport{}, fmt.Errorf("read table %d to trace through it: %w", t, err)
		}
	}
	in := lookup.GuardRun{Before: before, Plan: p.Plan, SSH: c, Flows: lookup.DefaultFlowOptions, Oracle: oracle,
		Sockets: sockets, SocketTotal: total,
		ReadTable: func(id uint32) ([]netcfg.Route, error) {
			var s netcfg.State
			err := netcfg.ReadTable(k, &s, id)
			return s.Routes, err
		}}
	r, err := lookup.RunGuard(in)
	if err != nil {
		return lookup.GuardReport{}, err
	}
	if c != nil && r.SSH == nil {
		return r, errors.New("the SSH guard gave no verdict")
	}
	return r, nil
}
