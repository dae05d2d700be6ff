package ui

import (
	"context"
	"strings"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
)

// Backend is everything the terminal UI asks of the rest of nictab. The UI
// reaches the kernel, the snapshot store and the exporters only through it:
// cmd/nictab wires the real one, tests a fake. Every method may block; the
// UI calls them from tea.Cmds, never from Update.
type Backend interface {
	// Capabilities says what this backend can do here. It is read once,
	// when the model is built, so it must be quick.
	Capabilities() Capabilities
	// Recover finishes or undoes an apply that a crash or a kill
	// interrupted, so the host is in the state before it or after it, and
	// says what it did ("" when there was nothing to do).
	Recover() (string, error)
	// Detect reads the live state: links, rules, the tables rules refer
	// to and the tables nictab named.
	Detect() (netcfg.State, error)
	// Intent is what nictab manages now (the intent of the snapshot that
	// is live), the base that edits in the UI start from.
	Intent() (netcfg.Intent, error)
	// Propose resolves an intent against the live state and plans it,
	// together with adopting the live rules and routes of adopt: they
	// become nictab's in place, moving no packet, in the same change.
	Propose(in netcfg.Intent, adopt []netcfg.Object) (*Proposal, error)
	// Prior reads the live state again as p's plan read it and returns
	// its netcfg.Fingerprint: when it differs from p.Plan.Prior, the plan
	// is stale, and apply would refuse it.
	Prior(p *Proposal) (string, error)
	// Apply carries a proposal out. With o.Confirm > 0 the change is
	// reverted at Outcome.Deadline unless Confirm is called, even when
	// this process is gone by then.
	Apply(ctx context.Context, p *Proposal, o ApplyOptions) (*Outcome, error)
	// Confirm keeps the change that waits for confirmation, and says how
	// it ended: kept here, or settled elsewhere first (another terminal's
	// `nictab confirm`, the watchdog at the deadline).
	Confirm() (*Settled, error)
	// Revert undoes the change that waits for confirmation now, and says
	// how it ended, as Confirm does.
	Revert() (*Settled, error)
	// Settled reports how the change this UI applied or found waiting
	// ended, or nil while it still waits: anyone may confirm or revert it.
	Settled() (*Settled, error)
	// Pending returns the apply that waits for confirmation, or nil.
	Pending() (*Pending, error)
	// History lists the saved snapshots, newest first, damaged files
	// included and marked.
	History() ([]SnapshotInfo, error)
	// SnapshotText is a snapshot file as it is stored.
	SnapshotText(id string) (string, error)
	// DiffSnapshot lists what differs between snapshot from and snapshot
	// to, or the live state when to is "", as the changes that lead from
	// one to the other.
	DiffSnapshot(from, to string) (*SnapshotDiff, error)
	// ProposeRollback plans the way from live back to a snapshot.
	ProposeRollback(id string) (*Proposal, error)
	// Export renders a snapshot as NixOS configuration of a flavour
	// ("networkd" or "scripted"); with "" the flavour `nictab export nix`
	// picks for it, from how the snapshot's host was managed. It returns
	// the flavour it used.
	Export(id, flavor string) (text, used string, err error)
	// WriteFile writes data to path atomically.
	WriteFile(path string, data []byte) error
	// Watch reports changes made to the namespace by anyone, coalesced,
	// until ctx ends.
	Watch(ctx context.Context) (<-chan struct{}, error)
}

// Capabilities says what the UI may offer.
type Capabilities struct {
	// Netns is the named network namespace nictab works in, or "".
	Netns string
	// CLIArgs are the global flags a nictab command suggested on screen
	// needs to act where this one does (" --netns X --state-dir Y"), or
	// "": a hint pasted without them would act on the host.
	CLIArgs string
	// ReadOnly is set when nictab cannot change routing here; Reason says
	// why in one line, for the banner.
	ReadOnly bool
	Reason   string
	// History is set when the snapshot store can be read.
	History bool
	// Export is set when snapshots can be exported as Nix.
	Export bool
	// Confirm is how long an apply from the UI waits for confirmation
	// before it is reverted.
	Confirm time.Duration
	// SSHClient is the address of the SSH client this session runs for,
	// or "". Over SSH the confirm dialog keeps a change only when the
	// code it shows is typed back.
	SSHClient string
	// FlushInput throws away what was typed on the terminal and not yet
	// read, when the keep code is shown; nil where there is nothing to
	// throw away.
	FlushInput func() error
	// Host names the machine in the title bar.
	Host string
}

// Proposal is a plan ready to be shown and applied.
type Proposal struct {
	Intent  netcfg.Intent
	Live    netcfg.State
	Desired netcfg.Desired
	Plan    netcfg.Plan
	// Snapshot is the text of the snapshot an apply will save.
	Snapshot string
	// NamesFile is where table names are written, for the equivalent
	// commands.
	NamesFile string
	// SSH is the path to the SSH client before and after, when this
	// session runs over SSH.
	SSH *SSHCheck
	// Flows are the other live connections and the foreign rules the
	// plan moves; nil when they were not looked at.
	Flows *lookup.FlowGuard
	// RollbackTo is the snapshot a rollback proposal returns to.
	RollbackTo string
	// Handle is the backend's own value for this proposal.
	Handle any
}

// SSHCheck is the path replies to the SSH client take now and after the
// plan.
type SSHCheck struct {
	Client string
	Before string
	After  string
	// Changed is set when the path moves to another NIC or gateway;
	// Broken when it has no route after; Unknown when the simulator
	// cannot judge.
	Changed, Broken, Unknown bool
	// Culprit names the rule or route that moves or breaks it.
	Culprit string
	// Message is the verdict in a sentence.
	Message string
}

// ApplyOptions are the choices made for one apply.
type ApplyOptions struct {
	Confirm time.Duration
	Comment string
	// Progress is called as steps complete, from another goroutine.
	Progress func(done, total int)
}

// Outcome is an apply that went through and was verified.
type Outcome struct {
	Steps int
	// Deadline is when the change is reverted unless confirmed; zero
	// without a confirm window.
	Deadline time.Time
	// SnapshotID is the snapshot saved for the change, once kept.
	SnapshotID string
	// Notes are remarks such as names that could not be written.
	Notes []string
}

// Settled is how a change that waited for confirmation ended, as the
// engine recorded it.
type Settled struct {
	// Result is "kept", "reverted" or "revert-failed".
	Result string
	// Elsewhere is set when this UI's answer did not decide it: another
	// terminal confirmed or reverted first, or the watchdog reverted at
	// the deadline.
	Elsewhere bool
	// Detail says why a revert failed.
	Detail string
	// SnapshotID is the snapshot a kept change was saved as.
	SnapshotID string
}

// Pending is an apply that waits for confirmation.
type Pending struct {
	Deadline time.Time
	Comment  string
}

// SnapshotInfo is one entry of the history.
type SnapshotInfo struct {
	ID      string
	Time    time.Time
	Kind    string
	Comment string
	Summary string
	// Live is set on the snapshot whose state nictab holds now.
	Live bool
	// Damaged says why a file could not be read; the other fields may be
	// empty then.
	Damaged string
	File    string
}

// SnapshotDiff is what differs between a snapshot and live.
type SnapshotDiff struct {
	Changes []netcfg.Change
	Names   netcfg.Names
}

// Hint rewrites every `nictab …` command that text suggests so that it
// carries the global flags of this session.
func (c Capabilities) Hint(text string) string {
	if c.CLIArgs == "" {
		return text
	}
	return strings.ReplaceAll(text, "`nictab ", "`nictab"+c.CLIArgs+" ")
}
