package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// Every call to the backend runs in one of these commands and comes back
// as a typed message; Update never waits on I/O.

type recoveredMsg struct {
	what string
	err  error
}

type stateMsg struct {
	state netcfg.State
	err   error
}

type intentMsg struct {
	intent netcfg.Intent
	err    error
}

type pendingMsg struct {
	pending *Pending
	err     error
	// at is when the answer came, for the countdown of a change found
	// waiting.
	at time.Time
}

// proposalPurpose says why a proposal was asked for.
type proposalPurpose int

const (
	forPreview proposalPurpose = iota
	forRollback
)

type proposalMsg struct {
	purpose  proposalPurpose
	proposal *Proposal
	err      error
}

// priorMsg is the fingerprint of the live state as a plan read it.
type priorMsg struct {
	proposal *Proposal
	fp       string
	err      error
}

type watchStartedMsg struct {
	ch  <-chan struct{}
	err error
}

// liveMsg says the namespace changed; the watcher's channel closing
// arrives as a liveMsg with closed set.
type liveMsg struct{ closed bool }

type progressMsg struct{ done, total int }

type appliedMsg struct {
	outcome *Outcome
	err     error
	// at is when the apply returned; the countdown starts from it.
	at time.Time
}

type tickMsg time.Time

type confirmedMsg struct {
	settled *Settled
	err     error
}

type revertedMsg struct {
	settled *Settled
	err     error
	// why is "timeout" or "key".
	why string
}

// settledMsg is the engine's answer to "is the change still waiting?":
// nil settled while it waits.
type settledMsg struct {
	settled *Settled
	err     error
}

// armedMsg says the dialog has been on screen long enough to be drawn:
// the apply may start.
type armedMsg struct{ at time.Time }

type historyMsg struct {
	list []SnapshotInfo
	err  error
}

type snapshotTextMsg struct {
	id, text string
	err      error
}

type diffMsg struct {
	id string
	// against is the other snapshot, "" for live.
	against string
	diff    *SnapshotDiff
	err     error
}

type exportMsg struct {
	// asked is the flavour asked for ("" for the default), flavor the one
	// used.
	id, asked, flavor, text string
	err                     error
}

type wroteMsg struct {
	path string
	n    int
	err  error
}

func recoverCmd(be Backend) tea.Cmd {
	return func() tea.Msg {
		what, err := be.Recover()
		return recoveredMsg{what: what, err: err}
	}
}

func detectCmd(be Backend) tea.Cmd {
	return func() tea.Msg {
		s, err := be.Detect()
		return stateMsg{state: s, err: err}
	}
}

// intentAfterFrame is how long after the namespace is read at start-up
// the intent is: more than the renderer takes to put out the frame drawn
// from the namespace (it draws at most 60 a second).
const intentAfterFrame = 25 * time.Millisecond

func intentCmd(be Backend) tea.Cmd {
	return func() tea.Msg {
		in, err := be.Intent()
		return intentMsg{intent: in, err: err}
	}
}

func pendingCmd(be Backend, clock func() time.Time) tea.Cmd {
	return func() tea.Msg {
		p, err := be.Pending()
		return pendingMsg{pending: p, err: err, at: clock()}
	}
}

func proposeCmd(be Backend, in netcfg.Intent, adopt []netcfg.Object, purpose proposalPurpose) tea.Cmd {
	return func() tea.Msg {
		p, err := be.Propose(in, adopt)
		return proposalMsg{purpose: purpose, proposal: p, err: err}
	}
}

func rollbackCmd(be Backend, id string, purpose proposalPurpose) tea.Cmd {
	return func() tea.Msg {
		p, err := be.ProposeRollback(id)
		return proposalMsg{purpose: purpose, proposal: p, err: err}
	}
}

func priorCmd(be Backend, p *Proposal) tea.Cmd {
	return func() tea.Msg {
		fp, err := be.Prior(p)
		return priorMsg{proposal: p, fp: fp, err: err}
	}
}

func watchCmd(ctx context.Context, be Backend) tea.Cmd {
	return func() tea.Msg {
		ch, err := be.Watch(ctx)
		return watchStartedMsg{ch: ch, err: err}
	}
}

// waitLive waits for the next change the watcher reports.
func waitLive(ch <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		_, ok := <-ch
		return liveMsg{closed: !ok}
	}
}

// applyRun carries one apply: the command that runs it and the channel
// its progress comes through.
type applyRun struct {
	progress chan progressMsg
	done     chan appliedMsg
}

// startApply runs the apply in the background and returns the commands
// that deliver its progress and its end, stamped by clock, as messages.
func startApply(ctx context.Context, be Backend, p *Proposal, o ApplyOptions, clock func() time.Time) (applyRun, tea.Cmd) {
	run := applyRun{progress: make(chan progressMsg, 1), done: make(chan appliedMsg, 1)}
	start := func() tea.Msg {
		o.Progress = func(done, total int) {
			// Only the latest count matters; a stale one is dropped.
			select {
			case <-run.progress:
			default:
			}
			run.progress <- progressMsg{done: done, total: total}
		}
		out, err := be.Apply(ctx, p, o)
		run.done <- appliedMsg{outcome: out, err: err, at: clock()}
		close(run.done)
		return nil
	}
	return run, tea.Batch(start, waitApply(run))
}

// waitApply delivers the next progress report, or the end of the apply.
func waitApply(run applyRun) tea.Cmd {
	return func() tea.Msg {
		select {
		case p := <-run.progress:
			return p
		case d, ok := <-run.done:
			if !ok {
				return nil
			}
			return d
		}
	}
}

// tick drives the confirm countdown, once a second on the second of the
// deadline, so the number shown changes exactly when a second has passed.
// now is the time of the message being handled; the tick carries clock's
// time when it fires, so that Update never reads a clock.
func tick(deadline, now time.Time, clock func() time.Time) tea.Cmd {
	wait := deadline.Sub(now) % time.Second
	if wait <= 0 {
		wait = time.Second
	}
	return tea.Tick(wait, func(time.Time) tea.Msg { return tickMsg(clock()) })
}

func confirmCmd(be Backend) tea.Cmd {
	return func() tea.Msg {
		s, err := be.Confirm()
		return confirmedMsg{settled: s, err: err}
	}
}

func revertCmd(be Backend, why string) tea.Cmd {
	return func() tea.Msg {
		s, err := be.Revert()
		return revertedMsg{settled: s, err: err, why: why}
	}
}

func settledCmd(be Backend) tea.Cmd {
	return func() tea.Msg {
		s, err := be.Settled()
		return settledMsg{settled: s, err: err}
	}
}

// armDelay is how long the confirm dialog is up before the first change
// goes out: Bubble Tea writes a frame at most every 1/60 s, so after six
// frame times the dialog is on the terminal, and stays there if the change
// cuts the session that shows it.
const armDelay = 100 * time.Millisecond

func armedCmd(clock func() time.Time) tea.Cmd {
	return tea.Tick(armDelay, func(time.Time) tea.Msg { return armedMsg{at: clock()} })
}

func historyCmd(be Backend) tea.Cmd {
	return func() tea.Msg {
		l, err := be.History()
		return historyMsg{list: l, err: err}
	}
}

func snapshotTextCmd(be Backend, id string) tea.Cmd {
	return func() tea.Msg {
		t, err := be.SnapshotText(id)
		return snapshotTextMsg{id: id, text: t, err: err}
	}
}

// diffCmd diffs snapshot id with live, or from snapshot against to id.
func diffCmd(be Backend, id, against string) tea.Cmd {
	return func() tea.Msg {
		var d *SnapshotDiff
		var err error
		if against == "" {
			d, err = be.DiffSnapshot(id, "")
		} else {
			d, err = be.DiffSnapshot(against, id)
		}
		return diffMsg{id: id, against: against, diff: d, err: err}
	}
}

func exportCmd(be Backend, id, flavor string) tea.Cmd {
	return func() tea.Msg {
		t, used, err := be.Export(id, flavor)
		return exportMsg{id: id, asked: flavor, flavor: used, text: t, err: err}
	}
}

func writeCmd(be Backend, path string, data []byte) tea.Cmd {
	return func() tea.Msg {
		err := be.WriteFile(path, data)
		if err != nil && !strings.Contains(err.Error(), path) {
			err = fmt.Errorf("write %s: %w", path, err)
		}
		return wroteMsg{path: path, n: len(data), err: err}
	}
}
