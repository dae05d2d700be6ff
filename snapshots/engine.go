package snapshots

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"time"

	"github.com/nictab/nictab/internal/timeline"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/snapshots/format"
)

// EngineConfig wires the engine to a namespace, a state directory and the
// outside world.
type EngineConfig struct {
	// Netns is the named namespace worked in ("" for the host's own).
	Netns string
	// StateDir holds the history, the journal and the lock.
	StateDir  string
	NamePaths netcfg.NamePaths
	// Open opens the kernel of the namespace.
	Open       func() (netcfg.Kernel, error)
	Now        func() time.Time
	Host       string
	Version    string
	Priorities netcfg.PriorityRange
	// Networkd records in snapshots that systemd-networkd manages links.
	Networkd bool
	// StartWatchdog starts the process that reverts a change at its
	// deadline unless it is confirmed, handing it the lock. It must outlive
	// the caller: the terminal or SSH session that applied may die. Nil
	// means no confirm window can be opened.
	StartWatchdog func(lock *Lock) error
	// Boottime reads the monotonic clock deadlines are kept on
	// (CLOCK_BOOTTIME); tests step Now without moving it.
	Boottime func() time.Duration
	// Watch reads the state a proposal plans from under a change monitor
	// (kernel.DetectWatched), which Apply then asks instead of reading
	// the kernel again for its stale check, when it heard nothing. For
	// a proposal applied by the process that made it, soon after (the
	// CLI's apply and rollback); the monitor is closed by Apply or
	// Proposal.Close.
	Watch bool
}

// Engine runs changes as transactions: lock, journal, apply, verify, then
// keep (saving a snapshot) or revert.
type Engine struct {
	cfg    EngineConfig
	store  *Store
	bootID string
	// guardRead is the guard's kernel and sockets, read ahead by
	// StartGuard.
	guardRead chan guardRead
}

// NewEngine opens the store of cfg.StateDir.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Boottime == nil {
		cfg.Boottime = Boottime
	}
	if cfg.Priorities == (netcfg.PriorityRange{}) {
		cfg.Priorities = netcfg.DefaultPriorities
	}
	st, err := OpenStore(cfg.StateDir, cfg.Now)
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, store: st, bootID: BootID()}, nil
}

// Store is the engine's snapshot history.
func (e *Engine) Store() *Store { return e.store }

func (e *Engine) names() netcfg.Names { return netcfg.LoadNames(e.cfg.NamePaths) }

// Live reads the state a person looks at: every table a rule refers to,
// and every route nictab owns.
func (e *Engine) Live() (netcfg.State, error) {
	k, err := e.cfg.Open()
	if err != nil {
		return netcfg.State{}, err
	}
	defer k.Close()
	return netcfg.Detect(k, e.names(), netcfg.DetectOptions{RuleTables: true, Owned: true})
}

// Proposal is a plan ready to be shown and applied, with what it was made
// from.
type Proposal struct {
	Live    netcfg.State
	Desired netcfg.Desired
	Plan    netcfg.Plan
	// Intent, Kind and Comment go into the snapshot saved when the change
	// is kept.
	Intent  netcfg.Intent
	Kind    string
	Comment string

	// unrecorded is what the plan leaves alone as "proto nictab, not in
	// history" (see keepUnrecorded); the snapshot does not record it.
	unrecorded *unrecordedSet
	// digest is what nictab owns in Live and its digest, made from when
	// Live was read.
	digest *liveDigest
	// before is what Prepare encoded of Live for the journal.
	before <-chan encodedBefore
	// ahead is the snapshot of the change Prepare encoded.
	ahead *pendingAhead
	// watched is Live read under a change monitor (EngineConfig.Watch).
	watched *netcfg.Watched
}

// Close closes the change monitor a proposal was read under, if any.
// Apply closes it too; closing twice does nothing more.
func (p *Proposal) Close() error {
	if p == nil || p.watched == nil {
		return nil
	}
	err := p.watched.Close()
	p.watched = nil
	return err
}

// detectPlanned reads the state a proposal plans from: under a change
// monitor when the engine is configured to.
func (e *Engine) detectPlanned(k netcfg.Kernel, names netcfg.Names, opts netcfg.DetectOptions) (netcfg.State, *netcfg.Watched, error) {
	if !e.cfg.Watch {
		s, err := netcfg.Detect(k, names, opts)
		return s, nil, err
	}
	w, err := kernel.DetectWatched(k, names, opts)
	if err != nil {
		return netcfg.State{}, nil, err
	}
	return w.State, w, nil
}

// Propose resolves an intent against the live state and plans the change.
// Errors from resolving are *netcfg.FieldError values, joined.
func (e *Engine) Propose(in netcfg.Intent, comment string) (*Proposal, error) {
	k, err := e.cfg.Open()
	if err != nil {
		return nil, err
	}
	defer k.Close()
	names := e.names()
	// Resolving needs links, rules, names and main's gateways; planning
	// also needs the tables the intent uses, read in full. Resolve once to
	// learn them, then read them and resolve for real.
	live, err := netcfg.Detect(k, names, netcfg.DetectOptions{Owned: true})
	if err != nil {
		return nil, err
	}
	timeline.Mark("links, rules and names read")
	// The tables are what the first pass is for, and one route of each
	// table names them all: 100k routes are resolved once, not twice. A
	// problem found is reported from the whole intent, so that it names
	// the entry of the file it is in.
	d, err := netcfg.Resolve(oneRoutePerTable(in), live, e.cfg.Priorities)
	if err != nil {
		d, err = netcfg.Resolve(in, live, e.cfg.Priorities)
	}
	if err != nil {
		return nil, err
	}
	timeline.Mark("tables named")
	live, w, err := e.detectPlanned(k, names, netcfg.DetectOptions{Tables: d.Tables, Owned: true, Routes: e.store.latestRoutes()})
	if err != nil {
		return nil, err
	}
	timeline.Mark("tables read")
	dg := e.digestLive(live)
	if d, err = netcfg.Resolve(in, live, e.cfg.Priorities); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	timeline.Mark("intent resolved")
	un, err := e.keepUnrecorded(live, &d)
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	timeline.Mark("history compared")
	return &Proposal{Live: live, Desired: d, Plan: planWith(live, w, d, un), Intent: in, Kind: "apply", Comment: comment, unrecorded: un, watched: w, digest: dg}, nil
}

// oneRoutePerTable is in with only the first route of each table it
// names (the same intent when it has few routes).
func oneRoutePerTable(in netcfg.Intent) netcfg.Intent {
	if len(in.Routes) <= 64 {
		return in
	}
	seen := map[netcfg.TableRef]bool{}
	var routes []netcfg.RouteIntent
	for i := range in.Routes {
		// A file lists a table's routes together: a route of the table
		// before it is seen already, without a look in the map (100k
		// look-ups were 1.6 ms).
		if t := in.Routes[i].Table; (i == 0 || t != in.Routes[i-1].Table) && !seen[t] {
			seen[t] = true
			routes = append(routes, in.Routes[i])
		}
	}
	in.Routes = routes
	return in
}

// ProposeRollback plans the return to a snapshot's recorded rules, routes
// and names, exactly, whatever the NICs' addresses are now. A NIC the
// snapshot's routes need that is gone is refused.
func (e *Engine) ProposeRollback(s *format.Snapshot) (*Proposal, error) {
	if s.Resolved == nil || s.Meta == nil {
		return nil, errors.New("only a saved snapshot can be rolled back to")
	}
	k, err := e.cfg.Open()
	if err != nil {
		return nil, err
	}
	defer k.Close()
	d := s.Resolved.AsDesired()
	live, w, err := e.detectPlanned(k, e.names(), netcfg.DetectOptions{Tables: d.Tables, Owned: true, Routes: e.store.latestRoutes()})
	if err != nil {
		return nil, err
	}
	timeline.Mark("tables read")
	dg := e.digestLive(live)
	var gone []string
	for _, r := range d.Routes {
		for _, dev := range routeDevs(&r) {
			if _, ok := live.Link(dev); !ok && !slices.Contains(gone, dev) {
				gone = append(gone, dev)
			}
		}
	}
	if len(gone) > 0 {
		return nil, errors.Join(fmt.Errorf("snapshot %s needs NIC %s, which is gone: nothing was changed", s.Meta.ID, fmt.Sprint(gone)), w.Close())
	}
	un, err := e.keepUnrecorded(live, &d)
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	timeline.Mark("history compared")
	return &Proposal{
		Live: live, Desired: d, Plan: planWith(live, w, d, un),
		Intent: s.Intent, Kind: "rollback", Comment: fmt.Sprintf("rollback to %s", s.Meta.ID), unrecorded: un, watched: w, digest: dg,
	}, nil
}

func routeDevs(r *netcfg.Route) []string {
	var out []string
	if r.Dev != "" {
		out = append(out, r.Dev)
	}
	for _, nh := range r.MultiPath {
		if nh.Dev != "" {
			out = append(out, nh.Dev)
		}
	}
	return out
}

// ApplyOptions are a person's choices for one apply.
type ApplyOptions struct {
	// Confirm opens a confirm window of this length; 0 keeps the change
	// at once.
	Confirm  time.Duration
	Progress func(done, total int)
	// Unrecorded applies without saving a snapshot: for a return to the
	// newest snapshot, which already records the result.
	Unrecorded bool
}

// Outcome is the result of an apply that went through.
type Outcome struct {
	Result netcfg.ApplyResult
	// Snapshot is the saved snapshot when the change was kept at once.
	Snapshot *format.Snapshot
	// Pending is set when a confirm window is open.
	Pending *Pending
	// Recovered describes an interrupted earlier apply that was finished or
	// undone first.
	Recovered string
	// Baseline is the "before nictab" snapshot this first change recorded.
	Baseline *format.Snapshot
}

// Pending is a change waiting for confirmation.
type Pending struct {
	TxID string
	// Deadline is on the wall clock, for people; the window closes after
	// Left on the monotonic clock, whatever the wall clock does.
	Deadline   time.Time
	Left       time.Duration
	SnapshotID string
	// Watchdog is false when the watchdog that reverts at the deadline is
	// gone: only a nictab that looks will revert then.
	Watchdog bool
}

// Apply runs a proposal as a transaction. Without a confirm window the
// change is kept and saved as a snapshot; with one, a detached watchdog
// reverts it at the deadline unless Confirm is called. If the snapshot
// cannot be recorded (disk full, read-only state directory), the change is
// undone: an apply is never left applied but unrecorded.
func (e *Engine) Apply(p *Proposal, o ApplyOptions) (*Outcome, error) {
	if o.Confirm > 0 && o.Unrecorded {
		return nil, errors.New("an unrecorded apply cannot have a confirm window")
	}
	if o.Confirm > 0 && e.cfg.StartWatchdog == nil {
		return nil, errors.New("a confirm window needs a watchdog process, and none can be started here")
	}
	e.prepareJournal(p)
	// The monitor is for this apply's stale check alone. Closing a socket
	// that was only peeked at can fail only as a bad descriptor would,
	// which says nothing about the change: it does not fail the apply.
	defer func() { _ = p.Close() }()
	lock, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	out := &Outcome{}
	if out.Recovered, err = e.recoverLocked(); err != nil {
		return nil, fmt.Errorf("an earlier apply was interrupted and could not be recovered: %w", err)
	}
	k, err := e.cfg.Open()
	if err != nil {
		return nil, err
	}
	defer k.Close()

	if !p.Plan.Empty() {
		// Naming the protocol changes no routing; where /etc is read-only
		// the names note of the apply says what to do.
		if err := (netcfg.NamesFile{Paths: e.cfg.NamePaths}).EnsureProto(); err != nil && !errors.Is(err, netcfg.ErrNamesReadOnly) {
			return nil, err
		}
	}
	j := &Journal{Started: e.cfg.Now().UTC(), PID: os.Getpid(), Phase: PhaseApplying}
	var baseline *format.Snapshot
	// The snapshot of the change is what the read-back will say, and a
	// verified read-back says what the plan's target does: its bytes are
	// made while the kernel applies (see startPending).
	var spec <-chan pendingBytes
	var at time.Time
	// Whatever the apply ends in short of its pending snapshot saved,
	// the file staged for it goes; the error it returns says what went
	// wrong, and a file that cannot be removed now goes at the next
	// recovery (removeStaleTemporaries).
	defer func() {
		if spec != nil {
			_ = discardPending(spec)
		}
	}()
	res, err := netcfg.Apply(k, p.Plan, netcfg.ApplyOptions{
		LoadNames: e.names,
		Names:     netcfg.NamesFile{Paths: e.cfg.NamePaths},
		Progress:  o.Progress,
		Watched:   p.watched,
		BeforeChange: func(before netcfg.State) error {
			// Shared with the kernel's state before the change, which Apply
			// only reads (its undo copies what it needs): the journal of a
			// rollback of 100k routes holds no second copy of them.
			d, foreign := p.journalBefore(before)
			if err := e.setJournalBefore(j, p, d); err != nil {
				return err
			}
			j.Tables = before.Complete
			j.Foreign = foreign
			if !o.Unrecorded && !p.Plan.Empty() {
				var err error
				if baseline, err = e.saveBaseline(before); err != nil {
					return err
				}
			}
			// After the baseline, so the change's id sorts after it.
			at = e.cfg.Now()
			if a := p.takeAhead(); a != nil && !o.Unrecorded && baseline == nil && e.aheadHolds(a, at) {
				j.TxID, at, spec = a.id, a.at, a.ch
				aheadUsed.Add(1)
			} else {
				j.TxID = e.store.NewID()
			}
			if err := e.store.writeJournal(j); err != nil {
				return err
			}
			if spec == nil && !o.Unrecorded && !p.Plan.Empty() {
				spec = e.startPending(p, before.Links, j.TxID, at)
			}
			if spec != nil {
				spec = e.stagePending(spec)
			}
			return nil
		},
	})
	if err != nil {
		var ae *netcfg.ApplyError
		if errors.As(err, &ae) && ae.UndoErr != nil {
			// The journal stays: recovery finishes the undo.
			return nil, err
		}
		if rerr := e.store.removeJournal(journalFile); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return nil, err
	}
	out.Result = res
	out.Baseline = baseline
	if p.Plan.Empty() || o.Unrecorded {
		// Nothing changed, or nothing new to record.
		return out, e.store.removeJournal(journalFile)
	}
	var pb *pendingBytes
	if spec != nil {
		got := <-spec
		pb, spec = &got, nil
	}
	snap, borrowed := e.snapshotAhead(p, res.After, res.AfterIsTarget, j.TxID, at, pb)
	j.SnapshotID = snap.Meta.ID
	err = e.savePendingFrom(snap, pb, borrowed)
	if err != nil {
		return nil, e.undoUnrecorded(k, j, fmt.Errorf("the change could not be recorded: %w", err))
	}
	if o.Confirm > 0 {
		j.Deadline = e.cfg.Now().Add(o.Confirm).UTC()
		j.DeadlineBoot = e.cfg.Boottime() + o.Confirm
		j.BootID = e.bootID
		// A request or heartbeat left by an earlier window must not act
		// on this one.
		e.clearWindowFiles()
	}
	j.Phase = PhaseApplied
	if err := e.store.writeJournal(appliedJournal(j)); err != nil {
		return nil, e.undoUnrecorded(k, j, err)
	}
	if killedAfterApplied != nil && killedAfterApplied() {
		return nil, errors.New("killed (test)")
	}
	timeline.Mark("snapshot saved")
	if o.Confirm == 0 {
		if err := e.keep(j); err != nil {
			return nil, e.undoUnrecorded(k, j, err)
		}
		out.Snapshot = snap
		return out, nil
	}
	if err := lock.Describe(LockHolder{PID: os.Getpid(), Command: "waiting for confirmation", Since: e.cfg.Now(), Until: j.Deadline}); err != nil {
		return nil, e.undoUnrecorded(k, j, err)
	}
	err = e.cfg.StartWatchdog(lock)
	if err == nil {
		err = e.waitForWatchdog(j, 10*time.Second)
	}
	if err != nil {
		// A watchdog that starts late finds the journal gone and leaves.
		if rerr := renameJournal(e.store, journalFile, revertingFile); rerr != nil {
			return nil, fmt.Errorf("start the revert watchdog: %w; %v", err, rerr)
		}
		return nil, e.undoUnrecordedAs(k, j, revertingFile, fmt.Errorf("start the revert watchdog: %w", err))
	}
	out.Pending = e.pendingOf(j)
	return out, nil
}

// killedAfterApplied, set only by tests, stands for a kill right after
// the journal says the change is applied: when it reports true, Apply
// returns at once, leaving the journal and the pending snapshot as a
// killed process would.
var killedAfterApplied func() bool

// appliedJournal is the journal to write once j's change is applied and
// verified. Without a confirm window, recovery keeps such a change and
// reads nothing of the state before it (see recoverLocked), so that
// journal leaves the state before out: a rollback of 100k routes wrote
// its 13 MB a second time for it. The journal held in memory keeps it,
// for an undo should recording the change fail.
func appliedJournal(j *Journal) *Journal {
	if !j.Deadline.IsZero() {
		return j
	}
	c := *j
	c.Before, c.beforeJSON, c.beforeRef, c.Foreign = netcfg.Desired{}, nil, nil, nil
	return &c
}

// undoUnrecorded reverts a verified change whose record could not be
// completed, and reports both.
func (e *Engine) undoUnrecorded(k netcfg.Kernel, j *Journal, cause error) error {
	return e.undoUnrecordedAs(k, j, journalFile, cause)
}

func (e *Engine) undoUnrecordedAs(k netcfg.Kernel, j *Journal, name string, cause error) error {
	rep, err := e.revert(k, j)
	if err == nil && !rep.Complete() {
		err = &RevertIncompleteError{TxID: j.TxID, Report: rep}
	}
	if err != nil {
		return fmt.Errorf("%w; undoing the change ALSO failed: %v — run `nictab recover`", cause, err)
	}
	_ = e.store.dropPending(j.SnapshotID)
	if err := e.store.removeJournal(name); err != nil {
		return fmt.Errorf("%w; the change was undone, but the journal could not be removed: %v", cause, err)
	}
	return fmt.Errorf("%w; the change was undone: %s", cause, asBefore(rep))
}

func (e *Engine) snapshotOf(p *Proposal, after netcfg.State, txid string) *format.Snapshot {
	snap, _ := e.snapshotAhead(p, after, false, txid, e.cfg.Now(), nil)
	return snap
}

// snapshotAhead is the snapshot of a state taken at a time: after is the
// read-back of a change, used for nothing else once the snapshot is
// made, so its routes are shared, not copied. When the links are those
// the snapshot encoded ahead (pb) was made with, its addressing is taken
// from it (AddressingOf walks every route: 2–20 ms for 100k), and
// borrowed says so: right if the two snapshots are the same, which
// savePendingFrom checks, and made again there if they are not.
func (e *Engine) snapshotAhead(p *Proposal, after netcfg.State, afterIsTarget bool, txid string, at time.Time, pb *pendingBytes) (_ *format.Snapshot, borrowed bool) {
	var d netcfg.Owned
	if routes, ok := aheadRoutes(p, after, afterIsTarget, pb); ok {
		rest := after
		rest.Routes = nil
		d = dropUnrecorded(netcfg.OwnedAsDesiredSharing(rest).Owned, p.unrecorded)
		d.Routes = routes
	} else {
		d = dropUnrecorded(netcfg.OwnedAsDesiredSharing(after).Owned, p.unrecorded)
		// In the plan target's order, not the kernel's (which dumps IPv4
		// before IPv6, and IPv6 routes in its tree's order): the record is
		// the same whatever order the kernel lists it in, and the snapshot
		// encoded ahead from the target (startPending) can be the same as
		// this one.
		if !routesInKeyOrder(d.Routes) {
			slices.SortStableFunc(d.Routes, compareRouteKeys)
		}
	}
	if !slices.IsSortedFunc(d.Rules, compareRules) {
		slices.SortStableFunc(d.Rules, compareRules)
	}
	if pb != nil && pb.err == nil && pb.snap != nil && pb.snap.Meta != nil && reflect.DeepEqual(pb.links, after.Links) {
		return e.snapshotWith(p, d, pb.snap.Meta.Addressing, txid, at), true
	}
	return e.snapshotFrom(p, d, after.Links, txid, at), false
}

// NOTE: a verified read-back of 100k routes holds nictab's routes as the
// snapshot encoded ahead does, in its order. Finding them (a walk),
// their tables (another), checking their order (a third) and comparing
// them with the snapshot's (a fourth) took 8–12 ms after "verified".
// One walk that compares each of them, where it lies, with the route of
// its place in the snapshot's list, which is in key order, finds the
// same: they are that list, already in the order sorting would give.
//
// aheadRoutes is the routes of after's snapshot, taken as those of the
// snapshot pb encoded ahead when they are the same in every field and
// in order: none of nictab's routes unrecorded, each of them among
// after routeIdentical to pb's of its place, pb's in key order.
//
// afterIsTarget is the verify's finding that after's routes of nictab's
// are so to the plan's target (netcfg.ApplyResult.AfterIsTarget): when
// pb's routes are the target's own, the walk is not made a second time.
func aheadRoutes(p *Proposal, after netcfg.State, afterIsTarget bool, pb *pendingBytes) ([]netcfg.Route, bool) {
	if pb == nil || pb.err != nil || !pb.inKeyOrder || pb.snap == nil || pb.snap.Resolved == nil || len(pb.snap.Resolved.Routes) == 0 ||
		(p.unrecorded != nil && len(p.unrecorded.routes) > 0) {
		return nil, false
	}
	want := pb.snap.Resolved.Routes
	if afterIsTarget && sameArray(want, p.Plan.Target.Routes) {
		return want, true
	}
	return want, ownedRoutesAre(after.Routes, want)
}

func compareRules(a, b netcfg.Rule) int { return netcfg.CompareRules(&a, &b) }

func compareRouteKeys(a, b netcfg.Route) int { return a.Key().Compare(b.Key()) }

// snapshotFrom is the snapshot recording resolved, with the addressing
// of the NICs among links it uses.
func (e *Engine) snapshotFrom(p *Proposal, resolved netcfg.Owned, links []netcfg.Link, txid string, at time.Time) *format.Snapshot {
	return e.snapshotWith(p, resolved, format.AddressingOf(netcfg.State{Links: links}, resolved, p.Intent), txid, at)
}

// snapshotWith is the snapshot recording resolved with addressing.
func (e *Engine) snapshotWith(p *Proposal, resolved netcfg.Owned, addressing []format.NICAddressing, txid string, at time.Time) *format.Snapshot {
	host := e.cfg.Host
	if host == "" {
		host, _ = os.Hostname()
	}
	parent, _ := e.store.LatestID()
	return &format.Snapshot{
		Version: format.Version,
		Comment: p.Comment,
		Intent:  p.Intent,
		Meta: &format.Meta{
			ID: txid, Time: at.UTC().Truncate(time.Second), Host: host, NictabVersion: e.cfg.Version,
			Parent: parent, Netns: e.cfg.Netns, Kind: p.Kind, Networkd: e.cfg.Networkd,
			Addressing: addressing,
		},
		Resolved: &resolved,
	}
}

// keep records a verified change as kept: its snapshot joins the history
// and the journal goes.
func (e *Engine) keep(j *Journal) error {
	if err := e.store.commitPending(j.SnapshotID); err != nil {
		return err
	}
	if err := e.store.writeOutcome(TxOutcome{TxID: j.TxID, Result: "kept", Time: e.cfg.Now().UTC()}); err != nil {
		return err
	}
	return e.store.removeJournal(journalFile)
}

// routesInKeyOrder is slices.IsSortedFunc(rs, compareRouteKeys) without
// copying two routes a comparison.
func routesInKeyOrder(rs []netcfg.Route) bool {
	for i := 1; i < len(rs); i++ {
		if rs[i-1].Key().Compare(rs[i].Key()) > 0 {
			return false
		}
	}
	return true
}
