package snapshots

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nictab/nictab/netcfg"
)

// maxSockets caps the sockets the guard reads: beyond it they are
// counted, not traced.
const maxSockets = 50_000

// Guard traces the replies of the SSH connection c now and after the
// proposal, with the lookup simulator.
func (e *Engine) Guard(p *Proposal, c netcfg.SSHConn) (netcfg.Guard, error) {
	r, err := e.GuardPlan(p, &c)
	if err != nil {
		return netcfg.Guard{}, err
	}
	return *r.SSH, nil
}

// GuardPlan runs the whole guard on a proposal: the SSH session c (nil
// when nictab does not run over SSH), every established connection and
// connected socket of the namespace, and every foreign rule. It starts
// from the state the plan was made from and reads only what that lacks:
// the local and default tables, the tables rules reach, and of main the
// routes the kernel names for the packets traced (see netcfg.RunGuard).
func (e *Engine) GuardPlan(p *Proposal, c *netcfg.SSHConn) (netcfg.GuardReport, error) {
	k, err := e.cfg.Open()
	if err != nil {
		return netcfg.GuardReport{}, err
	}
	defer k.Close()
	before := p.Live
	before.Routes = slices.Clone(p.Live.Routes)
	var need []uint32
	for _, t := range append(append(before.RuleTables(), netcfg.TableLocal, netcfg.TableDefault), p.Plan.Tables...) {
		if t != netcfg.TableMain && t != netcfg.TableUnspec && !before.HasTable(t) && !slices.Contains(need, t) {
			need = append(need, t)
		}
	}
	for _, t := range need {
		if err := netcfg.ReadTable(k, &before, t); err != nil {
			return netcfg.GuardReport{}, fmt.Errorf("read table %d to trace through it: %w", t, err)
		}
	}
	in := netcfg.GuardRun{Before: before, Plan: p.Plan, SSH: c, Flows: netcfg.DefaultFlowOptions,
		ReadMain: func() ([]netcfg.Route, error) {
			var s netcfg.State
			err := netcfg.ReadTable(k, &s, netcfg.TableMain)
			return s.Routes, err
		}}
	if o, ok := k.(netcfg.RouteOracle); ok {
		in.Oracle = o
	}
	if sr, ok := k.(netcfg.SocketReader); ok {
		in.Sockets, in.SocketTotal, err = sr.Sockets(maxSockets)
		if err != nil {
			return netcfg.GuardReport{}, fmt.Errorf("list the namespace's connections: %w", err)
		}
	}
	r, err := netcfg.RunGuard(in)
	if err != nil {
		return netcfg.GuardReport{}, err
	}
	if c != nil && r.SSH == nil {
		return r, errors.New("the SSH guard gave no verdict")
	}
	return r, nil
}
