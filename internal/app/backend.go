package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/nictab/nictab/internal/atomicfile"
	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/netcfg/lookup"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/export"
	"github.com/nictab/nictab/snapshots/format"
	"github.com/nictab/nictab/ui"
)

// TUIConfirmWindow is how long a change made in the terminal UI waits for
// confirmation. The UI is used over SSH on the machine it changes, so the
// window is always open there.
const TUIConfirmWindow = 60 * time.Second

// TUIOptions are what the terminal UI adds to a Config.
type TUIOptions struct {
	// CLIArgs are the global flags that make a nictab command the UI
	// suggests act where this one does (" --netns x"), quoted for a shell.
	CLIArgs string
	// Confirm is the confirm window of every change; 0 is TUIConfirmWindow.
	Confirm time.Duration
	// Input is the terminal the UI reads keys from, nil when there is none.
	Input *os.File
}

// tuiBackend is the terminal UI's way to the engine, the store and the
// kernel of the Config's namespace.
type tuiBackend struct {
	cfg     Config
	cliArgs string
	eng     *snapshots.Engine
	engErr  error
	confirm time.Duration
	// input is the terminal the UI reads keys from.
	input *os.File

	mu sync.Mutex
	// pending is the change this process applied or found waiting, so a
	// revert that finds the watchdog already done can tell its outcome.
	pending *snapshots.Pending
}

// NewTUIBackend is the terminal UI's backend over cfg. A store that cannot
// be opened does not fail it: the UI shows the host read-only and says
// why.
func NewTUIBackend(cfg Config, o TUIOptions) ui.Backend {
	b := &tuiBackend{cfg: cfg, cliArgs: o.CLIArgs, confirm: o.Confirm, input: o.Input}
	if b.confirm == 0 {
		b.confirm = TUIConfirmWindow
	}
	b.eng, b.engErr = cfg.Engine()
	return b
}

func (b *tuiBackend) engine() (*snapshots.Engine, error) {
	if b.engErr != nil {
		return nil, fmt.Errorf("the snapshot store in %s cannot be used: %w", b.cfg.StateRoot(), b.engErr)
	}
	return b.eng, nil
}

func (b *tuiBackend) Capabilities() ui.Capabilities {
	c := ui.Capabilities{Netns: b.cfg.Netns, CLIArgs: b.cliArgs, History: b.engErr == nil, Export: true, Confirm: b.confirm}
	c.Host, _ = os.Hostname()
	if conn, _ := SSHSession(); conn.Client.IsValid() {
		c.SSHClient = conn.Client.Addr().WithZone("").String()
	}
	if in := b.input; in != nil {
		c.FlushInput = func() error { return FlushInput(in) }
	}
	switch {
	case !kernel.CanAdmin():
		c.ReadOnly = true
		c.Reason = "no CAP_NET_ADMIN: nictab can look, not change (run it with sudo)"
	case b.engErr != nil:
		c.ReadOnly = true
		c.Reason = "the state directory " + b.cfg.StateRoot() + " cannot be used: " + b.engErr.Error()
	}
	return c
}

// Recover runs only where it can change something, and only when a
// journal is left that no running nictab (a watchdog) is handling.
func (b *tuiBackend) Recover() (string, error) {
	if b.engErr != nil || !kernel.CanAdmin() {
		return "", nil
	}
	need, err := b.eng.NeedsRecovery()
	if err != nil || !need {
		return "", err
	}
	return b.eng.Recover()
}

// Detect reads what the screens show, as `nictab show` does: the tables
// rules send traffic to and those nictab named.
//
// NOTE: not Owned, which has the kernel walk every table, main's full
// Internet table included, on every start and every live update (~0.1 s a
// million routes). A plan still reads every route nictab owns (the
// engine's Propose does), so a route of nictab's left in a table nothing
// uses shows in the preview, to be deleted.
func (b *tuiBackend) Detect() (netcfg.State, error) {
	k, err := b.cfg.OpenKernel()
	if err != nil {
		return netcfg.State{}, err
	}
	defer k.Close()
	names := b.cfg.LoadNames()
	var own []uint32
	for _, t := range names.OwnedTables() {
		own = append(own, t.ID)
	}
	return netcfg.Detect(k, names, netcfg.DetectOptions{RuleTables: true, Tables: own})
}

// Intent is the newest snapshot's intent. Without one, it is read from
// what nictab owns on the host, so that edits made on top of a lost
// history do not plan the removal of everything else nictab installed.
func (b *tuiBackend) Intent() (netcfg.Intent, error) {
	if e, err := b.engine(); err == nil {
		in, ok, err := e.Store().LatestIntent()
		if err != nil {
			return netcfg.Intent{}, err
		}
		if ok {
			return in, nil
		}
	}
	// Links, rules and names say it all; routes are not needed.
	k, err := b.cfg.OpenKernel()
	if err != nil {
		return netcfg.Intent{}, err
	}
	defer k.Close()
	live := netcfg.State{Names: b.cfg.LoadNames()}
	if live.Links, err = k.Links(); err != nil {
		return netcfg.Intent{}, fmt.Errorf("list links: %w", err)
	}
	if live.Rules, err = k.Rules(); err != nil {
		return netcfg.Intent{}, fmt.Errorf("list rules: %w", err)
	}
	return intentFromOwned(live), nil
}

// intentFromOwned is the intent nictab's own rules express: each NIC that
// one of its rules sends to a table, and the names of its tables.
func intentFromOwned(s netcfg.State) netcfg.Intent {
	var in netcfg.Intent
	for _, t := range s.Names.OwnedTables() {
		in.Tables = append(in.Tables, netcfg.TableDef{ID: t.ID, Name: t.Name})
	}
	for i := range s.Links {
		l := &s.Links[i]
		for _, u := range s.NICTables(l) {
			if u.Rule.Owned() {
				in.NICs = append(in.NICs, netcfg.NICIntent{Name: l.Name, Table: netcfg.TableRef{ID: u.Table}})
				break
			}
		}
	}
	return in
}

func (b *tuiBackend) Propose(in netcfg.Intent, adopt []netcfg.Object) (*ui.Proposal, error) {
	e, err := b.engine()
	if err != nil {
		return nil, err
	}
	p, err := e.ProposeAdopting(in, "", adopt)
	if err != nil {
		return nil, err
	}
	return b.proposal(e, p, ""), nil
}

// Prior reads what apply reads to refuse a stale plan, and fingerprints it.
func (b *tuiBackend) Prior(p *ui.Proposal) (string, error) {
	k, err := b.cfg.OpenKernel()
	if err != nil {
		return "", err
	}
	defer k.Close()
	s, err := netcfg.ReadPrior(k, b.cfg.LoadNames(), p.Plan)
	if err != nil {
		return "", err
	}
	return netcfg.Fingerprint(s), nil
}

func (b *tuiBackend) proposal(e *snapshots.Engine, p *snapshots.Proposal, rollback string) *ui.Proposal {
	out := &ui.Proposal{
		Intent: p.Intent, Live: p.Live, Desired: p.Desired, Plan: p.Plan, RollbackTo: rollback, Handle: p,
		NamesFile: netcfg.NamesFile{Paths: b.cfg.NamePaths()}.TablesPath(),
	}
	target := p.Plan.Target
	if text, err := format.Marshal(&format.Snapshot{Version: format.Version, Comment: p.Comment, Intent: p.Intent, Resolved: &target}); err == nil {
		out.Snapshot = string(text)
	} else {
		out.Snapshot = "# the snapshot cannot be shown: " + err.Error()
	}
	out.SSH, out.Flows = b.sshCheck(e, p)
	return out
}

// sshCheck runs the guard: the replies to the SSH client this session
// runs for, and every other live connection and foreign rule, now and
// after the plan, with the lookup simulator.
func (b *tuiBackend) sshCheck(e *snapshots.Engine, p *snapshots.Proposal) (*ui.SSHCheck, *lookup.FlowGuard) {
	if p.Plan.Empty() {
		return nil, nil
	}
	conn, _ := SSHSession()
	var cp *sshsession.Conn
	if conn.Client.IsValid() {
		cp = &conn
	}
	r, err := e.GuardPlan(p, cp)
	if cp == nil {
		if err != nil {
			return nil, &lookup.FlowGuard{Error: err.Error()}
		}
		return unknownSessionCheck(&r, &p.Live.Names), &r.Flows
	}
	client := conn.Client.Addr().WithZone("").String()
	if err != nil {
		return &ui.SSHCheck{Client: client, Unknown: true, Message: "the path to the SSH client cannot be traced: " + err.Error()}, nil
	}
	g := r.SSH
	return &ui.SSHCheck{
		Client: client, Before: pathText(&g.Before), After: pathText(&g.After),
		// Undetermined is a danger: shown as a change whose cause names
		// the rule nictab cannot decide.
		Changed: g.Status == lookup.GuardMoved || g.Status == lookup.GuardUndetermined, Broken: g.Status == lookup.GuardBroken, Unknown: g.Status == lookup.GuardUnknown,
		Culprit: ui.GuardCause(g), Message: ui.GuardMessage(g),
	}, &r.Flows
}

// unknownSessionCheck is the TUI's warning when no session of nictab's
// was found but the change moves an SSH login to this host, which may be
// the one the TUI runs in; nil when it moves none.
func unknownSessionCheck(r *lookup.GuardReport, names *netcfg.Names) *ui.SSHCheck {
	if !r.MovesSSH() {
		return nil
	}
	for _, m := range r.Flows.Moved {
		if !m.SSH || m.SameWay {
			continue
		}
		return &ui.SSHCheck{
			Client: m.Remote.Addr().String(), Before: ui.HopText(m.Before, names), After: ui.HopText(m.After, names),
			Changed: true, Culprit: ui.FlowCause(&m, &r.Flows.Names),
			Message: "this change moves the SSH login from " + ui.FlowEndpoint(&m) + ", and nictab found no SSH session of its own: if that login is yours, this session hangs",
		}
	}
	return nil
}

// pathText is where a traced reply goes: "through eno1 via 192.168.10.1
// from 192.168.10.2", or why it goes nowhere.
func pathText(p *lookup.Path) string {
	if !p.Verdict.Delivered() {
		return p.Verdict.String() + ": " + p.Reason
	}
	s := "through " + p.Dev
	if p.Gateway.IsValid() {
		s += " via " + p.Gateway.String()
	}
	if p.Src.IsValid() {
		s += " from " + p.Src.String()
	}
	return s
}

func (b *tuiBackend) Pending() (*ui.Pending, error) {
	e, err := b.engine()
	if err != nil {
		return nil, nil
	}
	// A window whose watchdog died is reverted past its deadline here, as
	// the watchdog would have; before it, the UI is told loudly.
	msg, err := e.CheckWindow("tui", kernel.CanAdmin())
	if err != nil {
		return nil, err
	}
	p, err := e.Pending()
	if err != nil || p == nil {
		return nil, err
	}
	b.mu.Lock()
	b.pending = p
	b.mu.Unlock()
	return &ui.Pending{Deadline: p.Deadline, Comment: msg}, nil
}

func (b *tuiBackend) History() ([]ui.SnapshotInfo, error) {
	e, err := b.engine()
	if err != nil {
		return nil, err
	}
	rows, err := HistoryRows(e.Store())
	if err != nil {
		return nil, err
	}
	out := make([]ui.SnapshotInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, ui.SnapshotInfo{ID: r.ID, Time: r.Time, Kind: r.Kind, Comment: r.Comment, Summary: r.Summary,
			Live: r.Live, Damaged: r.Damaged, File: r.Path})
	}
	return out, nil
}

func (b *tuiBackend) SnapshotText(id string) (string, error) {
	e, err := b.engine()
	if err != nil {
		return "", err
	}
	en, err := e.Store().Find(id)
	if err != nil {
		return "", err
	}
	data, err := e.Store().Raw(en)
	if err != nil {
		return "", fmt.Errorf("read snapshot %s: %w", id, err)
	}
	return string(data), nil
}

// DiffSnapshot diffs two snapshots' resolved rules, routes and names, or
// one's with what nictab owns live.
func (b *tuiBackend) DiffSnapshot(id, to string) (*ui.SnapshotDiff, error) {
	e, err := b.engine()
	if err != nil {
		return nil, err
	}
	s, err := e.Store().Get(id)
	if err != nil {
		return nil, err
	}
	if to != "" {
		t, err := e.Store().Get(to)
		if err != nil {
			return nil, err
		}
		plan := netcfg.Diff(*s.Resolved, *t.Resolved)
		names := b.cfg.LoadNames()
		names.Tables = slices.Concat(t.Resolved.Names, s.Resolved.Names, names.Tables)
		return &ui.SnapshotDiff{Changes: plan.Changes, Names: names}, nil
	}
	live, err := e.Live()
	if err != nil {
		return nil, err
	}
	plan := netcfg.Diff(*s.Resolved, netcfg.OwnedAsDesired(live).Owned)
	names := live.Names
	names.Tables = slices.Concat(s.Resolved.Names, names.Tables)
	return &ui.SnapshotDiff{Changes: plan.Changes, Names: names}, nil
}

func (b *tuiBackend) ProposeRollback(id string) (*ui.Proposal, error) {
	e, err := b.engine()
	if err != nil {
		return nil, err
	}
	s, err := e.Store().Get(id)
	if err != nil {
		return nil, err
	}
	p, err := e.ProposeRollback(s)
	if err != nil {
		return nil, err
	}
	return b.proposal(e, p, id), nil
}

// Export picks the flavour as `nictab export nix` does when none is
// asked for: one default for the CLI and the TUI.
func (b *tuiBackend) Export(id, flavor string) (string, string, error) {
	e, err := b.engine()
	if err != nil {
		return "", "", err
	}
	s, err := e.Store().Get(id)
	if err != nil {
		return "", "", err
	}
	f, err := export.PickFlavor(s, export.Flavor(flavor))
	if err != nil {
		return "", "", err
	}
	text, err := export.Nix(s, export.NixOptions{Flavor: f, Version: b.cfg.Version})
	return text, string(f), err
}

// WriteFile writes an export where the person said, relative to the
// directory nictab was started in.
func (b *tuiBackend) WriteFile(path string, data []byte) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(abs, data, 0o644)
}

// Watch turns the namespace's rtnetlink notifications into the UI's
// change signal.
func (b *tuiBackend) Watch(ctx context.Context) (<-chan struct{}, error) {
	events, err := kernel.Watch(ctx, b.cfg.Netns, kernel.WatchOptions{})
	if err != nil {
		return nil, err
	}
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		for range events {
			select {
			case out <- struct{}{}:
			default:
				// One signal already waits; it covers this change too.
			}
		}
	}()
	return out, nil
}
