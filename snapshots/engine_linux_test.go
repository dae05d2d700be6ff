package snapshots_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/format"
)

type rig struct {
	t   *testing.T
	ns  *nstest.NS
	e   *snapshots.Engine
	dir string
	// mod changes the engine's configuration before it is made.
	mod func(*snapshots.EngineConfig)
}

// newRig makes a sandbox namespace and an engine on it whose watchdog runs
// in a goroutine of the test.
func newRig(t *testing.T) *rig {
	ns := nstest.Sandbox(t)
	r := &rig{t: t, ns: ns, dir: filepath.Join(t.TempDir(), "state")}
	r.e = r.engine()
	return r
}

func (r *rig) engine() *snapshots.Engine {
	var e *snapshots.Engine
	var err error
	cfg := snapshots.EngineConfig{
		Netns:     r.ns.Name,
		StateDir:  r.dir,
		NamePaths: netcfg.DefaultNamePaths(r.ns.Name),
		Open:      func() (netcfg.Kernel, error) { return kernel.Open(r.ns.Name) },
		Host:      "testhost",
		Version:   "test",
		StartWatchdog: func(l *snapshots.Lock) error {
			// A duplicate of the locked descriptor keeps the lock after
			// Apply releases its own, as the detached process's does.
			fd, err := syscall.Dup(int(l.File().Fd()))
			if err != nil {
				return err
			}
			held := snapshots.LockFromFile(os.NewFile(uintptr(fd), "lock"))
			go func() { _ = e.RunWatchdog(held, nil) }()
			return nil
		},
	}
	if r.mod != nil {
		r.mod(&cfg)
	}
	e, err = snapshots.NewEngine(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

func nicIntent(pairs ...any) netcfg.Intent {
	var in netcfg.Intent
	for i := 0; i < len(pairs); i += 2 {
		in.NICs = append(in.NICs, netcfg.NICIntent{Name: pairs[i].(string), Table: netcfg.TableRef{ID: uint32(pairs[i+1].(int))}})
	}
	return in
}

func (r *rig) apply(in netcfg.Intent, comment string, confirm time.Duration) *snapshots.Outcome {
	r.t.Helper()
	p, err := r.e.Propose(in, comment)
	if err != nil {
		r.t.Fatal(err)
	}
	out, err := r.e.Apply(p, snapshots.ApplyOptions{Confirm: confirm})
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// TestRollbackRestoresExactly: apply A, apply B, roll back one step; the
// namespace's rules and routes equal A's, the history holds three
// snapshots, and a hand-made route in an owned table survives.
func TestRollbackRestoresExactly(t *testing.T) {
	r := newRig(t)
	a := r.apply(nicIntent("eno1", 13), "A", 0)
	routingA := r.ns.Routing()
	r.ns.IP("route", "add", "10.99.0.0/16", "via", "192.168.10.254", "dev", "eno1", "table", "13")
	b := r.apply(nicIntent("eno1", 14, "enp2s0", 15), "B", 0)
	if a.Snapshot == nil || b.Snapshot == nil {
		t.Fatal("applies without a confirm window must save snapshots")
	}
	if b.Snapshot.Meta.Parent != a.Snapshot.Meta.ID {
		t.Errorf("B's parent = %q, want A %q", b.Snapshot.Meta.Parent, a.Snapshot.Meta.ID)
	}
	target, err := r.e.Store().Back(1)
	if err != nil || target.Meta.ID != a.Snapshot.Meta.ID {
		t.Fatalf("one step back = %v, %v; want A", target, err)
	}
	p, err := r.e.ProposeRollback(target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.Apply(p, snapshots.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	got := r.ns.Routing()
	hand := "10.99.0.0/16 via 192.168.10.254 dev eno1 table 13 \n"
	if !strings.Contains(got, hand) {
		t.Errorf("the hand-made route did not survive the rollback:\n%s", got)
	}
	if strings.Replace(got, hand, "", 1) != routingA {
		t.Errorf("after rollback:\n%s\nwant A's:\n%s", got, routingA)
	}
	list, err := r.e.Store().List()
	// A, B, the rollback, and the baseline before A.
	if err != nil || len(list) != 4 {
		t.Fatalf("history = %d entries, %v; want 4", len(list), err)
	}
	if k := list[3].Snapshot.Meta.Kind; k != format.KindBaseline {
		t.Errorf("oldest kind = %q, want the baseline", k)
	}
	if list[0].Snapshot.Meta.Kind != "rollback" {
		t.Errorf("newest kind = %q, want rollback", list[0].Snapshot.Meta.Kind)
	}
	d := netcfg.Diff(*a.Snapshot.Resolved, *b.Snapshot.Resolved)
	var lines []string
	for _, c := range d.Changes {
		lines = append(lines, c.Action.Mark()+" "+c.Subject().String())
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{"~ rule 1000:\tfrom 192.168.10.2 lookup 14", "- route default via 192.168.10.1 dev eno1 table 13", "+ route default via 192.168.20.1 dev enp2s0 table 15"} {
		if !strings.Contains(text, want) {
			t.Errorf("diff A→B lacks %q:\n%s", want, text)
		}
	}
}

// TestDamagedSnapshotSkipped: a corrupted file is listed as damaged and the
// other snapshots still list, diff and roll back.
func TestDamagedSnapshotSkipped(t *testing.T) {
	r := newRig(t)
	a := r.apply(nicIntent("eno1", 13), "A", 0)
	b := r.apply(nicIntent("eno1", 14), "B", 0)
	r.apply(nicIntent("eno1", 15), "C", 0)
	bad := filepath.Join(r.dir, "snapshots", b.Snapshot.Meta.ID+".yaml")
	data, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(strings.Replace(string(data), "lookup", "lookuq", 1)+"x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "snapshots", "zzz-foreign.yaml"), []byte("hello: world\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := r.e.Store().List()
	if err != nil {
		t.Fatal(err)
	}
	damaged := 0
	for _, en := range list {
		if en.Damaged() {
			damaged++
			if !strings.Contains(en.Err.Error(), en.Path) && !strings.Contains(en.Err.Error(), filepath.Base(en.Path)) {
				t.Errorf("damage report does not name the file: %v", en.Err)
			}
		}
	}
	if damaged != 2 || len(list) != 5 {
		t.Errorf("list: %d entries, %d damaged; want 5 (the baseline too) and 2", len(list), damaged)
	}
	if _, err := r.e.Store().Get(b.Snapshot.Meta.ID); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("Get of the damaged one: %v", err)
	}
	// One step back skips the damaged B and reaches A.
	target, err := r.e.Store().Back(1)
	if err != nil || target.Meta.ID != a.Snapshot.Meta.ID {
		t.Fatalf("Back(1) = %v, %v; want A", target, err)
	}
	p, err := r.e.ProposeRollback(target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.Apply(p, snapshots.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.ns.IP("rule", "show"), "lookup 13") {
		t.Error("rollback to A did not restore its rule")
	}
}

// TestConfirmWindow: without confirm the change reverts at the deadline;
// with it, it stays and is recorded.
func TestConfirmWindow(t *testing.T) {
	r := newRig(t)
	before := r.ns.Routing()
	out := r.apply(nicIntent("eno1", 13), "maybe", 300*time.Millisecond)
	if out.Pending == nil || out.Snapshot != nil {
		t.Fatalf("outcome = %+v, want a pending change", out)
	}
	if r.ns.Routing() == before {
		t.Fatal("the change is not live during its confirm window")
	}
	res, err := r.e.Wait(context.Background(), out.Pending)
	if err != nil || res.Result != "reverted" {
		t.Fatalf("wait = %+v, %v; want reverted", res, err)
	}
	if after := r.ns.Routing(); after != before {
		t.Errorf("not reverted exactly:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if list, _ := r.e.Store().List(); len(list) != 1 || list[0].Snapshot.Meta.Kind != format.KindBaseline {
		t.Errorf("a reverted first apply left %d snapshots; want only the baseline", len(list))
	}
	if _, err := r.e.Confirm(); !errors.Is(err, snapshots.ErrNothingPending) || !strings.Contains(err.Error(), "reverted") {
		t.Errorf("late confirm: %v", err)
	}

	out = r.apply(nicIntent("eno1", 13), "keep", 5*time.Second)
	// A second apply is refused while the first waits.
	p, err := r.e.Propose(nicIntent("eno1", 14), "")
	if err != nil {
		t.Fatal(err)
	}
	var le *snapshots.LockedError
	if _, err := r.e.Apply(p, snapshots.ApplyOptions{}); !errors.As(err, &le) || !strings.Contains(err.Error(), "waiting for confirmation") {
		t.Errorf("apply during a confirm window: %v", err)
	}
	snap, err := r.e.Confirm()
	if err != nil {
		t.Fatal(err)
	}
	res, err = r.e.Wait(context.Background(), out.Pending)
	if err != nil || res.Result != "kept" || snap.Meta.ID != out.Pending.SnapshotID {
		t.Fatalf("wait = %+v, %v", res, err)
	}
	time.Sleep(300 * time.Millisecond)
	if !strings.Contains(r.ns.IP("rule", "show"), "lookup 13") {
		t.Error("a confirmed change was reverted")
	}
}

// TestUnrecordableApplyIsUndone: when the snapshot cannot be written, the
// change does not stay applied but unrecorded.
func TestUnrecordableApplyIsUndone(t *testing.T) {
	r := newRig(t)
	before := r.ns.Routing()
	// A file where the pending folder belongs makes every save fail, as a
	// full disk would. (The store makes its directory only when it first
	// writes.)
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "pending"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := r.e.Propose(nicIntent("eno1", 13), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.e.Apply(p, snapshots.ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "could not be recorded") || !strings.Contains(err.Error(), "undone") {
		t.Fatalf("err = %v", err)
	}
	if after := r.ns.Routing(); after != before {
		t.Errorf("namespace changed:\n%s", after)
	}
	if again, _ := r.e.NeedsRecovery(); again {
		t.Error("a journal was left behind")
	}
}

// TestRecoverInterruptedApply leaves a journal as a killed apply would (in
// the middle of its changes) and checks recover returns to the state before.
func TestRecoverInterruptedApply(t *testing.T) {
	r := newRig(t)
	r.apply(nicIntent("eno1", 13), "A", 0)
	before := r.ns.Routing()
	// Half of a change made by hand, with the journal an apply writes
	// before its first step.
	k, err := kernel.Open(r.ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	live, err := netcfg.Detect(k, netcfg.LoadNames(netcfg.DefaultNamePaths(r.ns.Name)), netcfg.DetectOptions{Tables: []uint32{13, 14}, Owned: true})
	if err != nil {
		t.Fatal(err)
	}
	j := snapshots.Journal{TxID: "x", Started: time.Now(), Phase: snapshots.PhaseApplying, Before: netcfg.OwnedAsDesired(live), Tables: live.Complete}
	if err := snapshots.WriteJournalForTest(r.e, &j); err != nil {
		t.Fatal(err)
	}
	r.ns.IP("route", "add", "default", "via", "192.168.20.1", "dev", "enp2s0", "table", "14", "proto", "201")
	r.ns.IP("rule", "del", "pref", "1000")
	if need, _ := r.e.NeedsRecovery(); !need {
		t.Fatal("the journal was not noticed")
	}
	what, err := r.e.Recover()
	if err != nil || !strings.Contains(what, "undone") {
		t.Fatalf("recover = %q, %v", what, err)
	}
	if after := r.ns.Routing(); after != before {
		t.Errorf("after recover:\n%s\nwant:\n%s", after, before)
	}
	if what, err := r.e.Recover(); err != nil || what != "" {
		t.Errorf("a second recover did %q, %v", what, err)
	}
}

func TestStoreRefusesUntrustedDir(t *testing.T) {
	nstest.RequireRoot(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := snapshots.OpenStore(dir, nil); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("world-writable: %v", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := snapshots.OpenStore(dir, nil); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
		t.Errorf("foreign owner: %v", err)
	}
}

func TestStoreIDs(t *testing.T) {
	now := time.Date(2026, 11, 24, 17, 55, 12, 0, time.UTC)
	st, err := snapshots.OpenStore(t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	kind := format.KindBaseline
	save := func() string {
		s := &format.Snapshot{Version: 1, Meta: &format.Meta{Time: now, Kind: kind}, Resolved: &netcfg.Owned{}}
		if err := st.Save(s); err != nil {
			t.Fatal(err)
		}
		kind = "save"
		return s.Meta.ID
	}
	ids := []string{save(), save(), save(), save()}
	if ids[0] != "261124-175512" || ids[1] != "261124-175512-2" || ids[2] != "261124-175512-3" {
		t.Errorf("ids = %v", ids)
	}
	now = now.Add(time.Minute)
	newest := save()
	if _, err := st.Get("261124-1755"); err == nil || !strings.Contains(err.Error(), "matches 4 snapshots") {
		t.Errorf("ambiguous prefix: %v", err)
	}
	if s, err := st.Get("261124-1756"); err != nil || s.Meta.ID != newest {
		t.Errorf("unique prefix: %v, %v", s, err)
	}
	if _, err := st.Get("nope"); !errors.Is(err, snapshots.ErrNoSnapshot) {
		t.Errorf("unknown: %v", err)
	}
	removed, err := st.Prune(2)
	if err != nil || len(removed) != 2 {
		t.Fatalf("prune = %v, %v", removed, err)
	}
	if l, _ := st.Latest(); l == nil || l.Meta.ID != newest {
		t.Error("prune removed the live snapshot")
	}
	if s, err := st.Get(ids[0]); err != nil || s.Meta.Kind != format.KindBaseline || slices.Contains(removed, ids[0]) {
		t.Errorf("prune removed the baseline: %v, removed %v", err, removed)
	}
	if _, err := st.Prune(0); err == nil {
		t.Error("prune --keep 0 must be refused")
	}
}

// TestPendingEncodedAheadIsTheReadBack: the snapshot encoded while the
// kernel applies is used only when it is the read-back's, byte for byte:
// an apply of rules and routes of both families (which the kernel lists
// in another order than the plan) records what the kernel holds.
func TestPendingEncodedAheadIsTheReadBack(t *testing.T) {
	r := newRig(t)
	before := snapshots.SpeculatedForTest()
	out := r.apply(nicIntent("eno1", 13, "enp2s0", 14), "both", 0)
	if got := snapshots.SpeculatedForTest() - before; got != 1 {
		t.Errorf("%d pending snapshots written from the bytes encoded ahead, want 1", got)
	}
	stored, err := os.ReadFile(filepath.Join(r.dir, "snapshots", out.Snapshot.Meta.ID+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := format.Marshal(out.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if string(stored) != string(want) {
		t.Errorf("stored snapshot:\n%s\nwant the read-back's:\n%s", stored, want)
	}
	live, err := r.e.Live()
	if err != nil {
		t.Fatal(err)
	}
	owned := netcfg.OwnedAsDesired(live)
	key := func(rs []netcfg.Route) []string {
		var ks []string
		for i := range rs {
			ks = append(ks, netcfg.RouteString(&rs[i]))
		}
		slices.Sort(ks)
		return ks
	}
	if got, want := key(out.Snapshot.Resolved.Routes), key(owned.Routes); !slices.Equal(got, want) || len(got) == 0 {
		t.Errorf("recorded routes %q, the kernel holds %q", got, want)
	}
	if len(out.Snapshot.Resolved.Rules) != len(owned.Rules) || len(owned.Rules) == 0 {
		t.Errorf("recorded %d rules, the kernel holds %d", len(out.Snapshot.Resolved.Rules), len(owned.Rules))
	}
}

// TestJournalBeforeEncodedAhead: a rollback of a table of 2,000 routes
// writes its journal with the state before that Prepare encoded while
// the plan printed, and the journal reads back as that state.
func TestJournalBeforeEncodedAhead(t *testing.T) {
	r := newRig(t)
	var in netcfg.Intent
	for i := range 2000 {
		in.Routes = append(in.Routes, netcfg.RouteIntent{Table: netcfg.TableRef{ID: 100}, To: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(i >> 8), byte(i)}), 32), Via: netip.MustParseAddr("192.168.10.1"), Dev: "eno1"})
	}
	r.apply(in, "2000 routes", 0)
	target, err := r.e.Store().Back(1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.e.ProposeRollback(target)
	if err != nil {
		t.Fatal(err)
	}
	want := netcfg.OwnedAsDesired(p.Live)
	r.e.Prepare(p)
	n := snapshots.JournalsAheadForTest()
	// Confirm window: the journal stays on disk to be read.
	out, err := r.e.Apply(p, snapshots.ApplyOptions{Confirm: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if snapshots.JournalsAheadForTest() != n+1 {
		t.Error("the journal was not written with the state before encoded ahead")
	}
	j, err := snapshots.JournalForTest(r.e)
	if err != nil || j == nil {
		t.Fatalf("journal %v, %v", j, err)
	}
	if len(j.Before.Routes) != 2000 || !reflect.DeepEqual(j.Before.Routes, want.Routes) {
		t.Errorf("journal's state before holds %d routes, not the 2000 the kernel held", len(j.Before.Routes))
	}
	if j.Phase != snapshots.PhaseApplied || j.TxID != out.Pending.TxID {
		t.Errorf("journal phase %q txid %q, want applied, %q", j.Phase, j.TxID, out.Pending.TxID)
	}
	if _, err := r.e.Confirm(); err != nil {
		t.Fatal(err)
	}
}

// TestPreparedSnapshotOnlyWhileItHolds: the snapshot Prepare encodes is
// the one saved when nothing changed in the history meanwhile; when a
// snapshot was saved in between, the change gets an id after it and its
// own parent, and the file saved is the read-back's all the same.
func TestPreparedSnapshotOnlyWhileItHolds(t *testing.T) {
	r := newRig(t)
	r.apply(nicIntent("eno1", 13), "A", 0)
	for _, between := range []bool{false, true} {
		table := 14
		if between {
			table = 15
		}
		p, err := r.e.Propose(nicIntent("eno1", table), "B")
		if err != nil {
			t.Fatal(err)
		}
		r.e.Prepare(p)
		var saved *format.Snapshot
		if between {
			if saved, err = r.e.SaveCurrent("in between"); err != nil {
				t.Fatal(err)
			}
		}
		n, used := snapshots.SpeculatedForTest(), snapshots.AheadUsedForTest()
		out, err := r.e.Apply(p, snapshots.ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := snapshots.AheadUsedForTest() - used; got != map[bool]int64{false: 1, true: 0}[between] {
			t.Errorf("between=%v: the id and snapshot Prepare made were taken %d times", between, got)
		}
		if got := snapshots.SpeculatedForTest() - n; got != 1 {
			t.Errorf("between=%v: %d snapshots written from bytes encoded ahead, want 1 (while applying at least)", between, got)
		}
		if between && (out.Snapshot.Meta.Parent != saved.Meta.ID || out.Snapshot.Meta.ID == saved.Meta.ID) {
			t.Errorf("snapshot %s with parent %s, want one after %s", out.Snapshot.Meta.ID, out.Snapshot.Meta.Parent, saved.Meta.ID)
		}
		stored, err := os.ReadFile(filepath.Join(r.dir, "snapshots", out.Snapshot.Meta.ID+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := format.Marshal(out.Snapshot)
		if err != nil {
			t.Fatal(err)
		}
		if string(stored) != string(want) {
			t.Errorf("between=%v: stored snapshot:\n%s\nwant the read-back's:\n%s", between, stored, want)
		}
	}
}
