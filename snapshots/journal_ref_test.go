//go:build linux

package snapshots_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
)

// refJournal leaves, after ops[:steps] of a change from the newest
// snapshot to intent to, the journal a killed apply would leave naming
// that snapshot as the state before. It returns the kernel's state
// before, the newest snapshot's file and the plan's ops.
func (r *memRig) refJournal(to netcfg.Intent, steps int) (before, file string, ops []netcfg.Op) {
	r.t.Helper()
	p := r.propose(to)
	ops = p.Plan.Ops()
	before = r.state()
	live := p.Live
	j := snapshots.Journal{TxID: "x", Started: time.Now(), Phase: snapshots.PhaseApplying, Before: netcfg.OwnedAsDesired(live), Tables: live.Complete}
	if !snapshots.NameBeforeForTest(r.e, &j) {
		r.t.Fatal("the newest snapshot's index entry does not give the live state's digest")
	}
	if err := snapshots.WriteJournalForTest(r.e, &j); err != nil {
		r.t.Fatal(err)
	}
	if steps > len(ops) {
		steps = len(ops)
	}
	if res := r.k.Exec(ops[:steps]); res.Failed != nil {
		r.t.Fatalf("steps before the kill: %v", res.Failed)
	}
	latest, err := r.e.Store().LatestID()
	if err != nil {
		r.t.Fatal(err)
	}
	return before, filepath.Join(r.dir, "snapshots", latest+".yaml"), ops
}

// namesSnapshot reports whether a journal's bytes name a snapshot as its
// state before.
func namesSnapshot(b []byte) bool {
	return regexp.MustCompile(`"before": ?"snapshot `).Match(b)
}

func (r *memRig) journalBytes() []byte {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, "journal.json"))
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// TestMemRefJournalRecoverAtEachStep is TestMemRecoverAtEachStep with the
// journal naming the newest snapshot as its state before: recovery reads
// that snapshot back, and the kernel is as before after a kill at every
// step, from one snapshot to the other and back.
func TestMemRefJournalRecoverAtEachStep(t *testing.T) {
	snapshots.ReferBeforeMinForTest(t, 1)
	for _, c := range []struct{ from, to netcfg.Intent }{{intentA, intentB}, {intentB, intentA}} {
		n := -1
		for i := 0; n < 0 || i <= n; i++ {
			r := newMemRig(t)
			r.apply(c.from)
			before, _, ops := r.refJournal(c.to, i)
			n = len(ops)
			if !namesSnapshot(r.journalBytes()) {
				t.Fatalf("the journal holds its state before:\n%s", r.journalBytes())
			}
			what, err := r.e.Recover()
			if err != nil || (i > 0 && !strings.Contains(what, "undone")) {
				t.Fatalf("killed after %d of %d steps: recover = %q, %v", i, n, what, err)
			}
			if got := r.state(); got != before {
				t.Fatalf("killed after %d of %d steps, recovered:\n%s\nwant:\n%s", i, n, got, before)
			}
			r.noJournal()
		}
	}
}

// TestMemRefJournalSnapshotGone: a journal naming a snapshot that is
// removed, damaged or replaced since makes recovery refuse, saying which
// file it needs, and change nothing; with the file back it recovers.
func TestMemRefJournalSnapshotGone(t *testing.T) {
	snapshots.ReferBeforeMinForTest(t, 1)
	for _, c := range []struct {
		name  string
		spoil func(t *testing.T, file string)
	}{
		{"removed", func(t *testing.T, file string) {
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
		}},
		{"damaged", func(t *testing.T, file string) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			i := strings.Index(string(b), "192.168.10.")
			b[i+len("192.168.10.")] ^= 1
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"another state", func(t *testing.T, file string) {
			// A snapshot, checksum and all, whose resolved state is not
			// the journal's: what a person might copy over it.
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			other := filepath.Join(filepath.Dir(file), "other")
			if err := os.WriteFile(other, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newMemRig(t)
			r.apply(intentA)
			var saved []byte
			_, file, _ := r.refJournal(intentB, 1)
			saved, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c.spoil(t, file)
			if c.name == "another state" {
				// The history's newest snapshot is now intentB's, under
				// the name the journal gives.
				r2 := newMemRig(t)
				r2.apply(intentB)
				id := strings.TrimSuffix(filepath.Base(file), ".yaml")
				snap, err := r2.e.Store().Latest()
				if err != nil {
					t.Fatal(err)
				}
				snap.Meta.ID = id
				if err := r.e.Store().Save(snap); err != nil {
					t.Fatal(err)
				}
			}
			half := r.state()
			what, err := r.e.Recover()
			if err == nil || !strings.Contains(err.Error(), "as the state before it") || !strings.Contains(err.Error(), "changed nothing") {
				t.Fatalf("recover = %q, %v; want a refusal naming the snapshot", what, err)
			}
			if got := r.state(); got != half {
				t.Fatalf("the refused recovery changed the kernel:\n%s\nwant:\n%s", got, half)
			}
			if need, err := r.e.NeedsRecovery(); !need {
				t.Fatalf("the journal is gone after the refusal (%v)", err)
			}
			if _, err := r.e.Apply(r.propose(intentB), snapshots.ApplyOptions{}); err == nil {
				t.Fatal("an apply ran over the journal recovery refused")
			}
			if err := os.WriteFile(file, saved, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := r.e.Recover(); err != nil {
				t.Fatalf("recover with the file back: %v", err)
			}
			r.noJournal()
		})
	}
}

// TestMemRefJournalNotPruned: a snapshot a journal names is never
// removed, even once it is no longer the newest.
func TestMemRefJournalNotPruned(t *testing.T) {
	snapshots.ReferBeforeMinForTest(t, 1)
	r := newMemRig(t)
	r.apply(intentA)
	_, file, _ := r.refJournal(intentB, 0)
	id := strings.TrimSuffix(filepath.Base(file), ".yaml")
	snap, err := r.e.Store().Latest()
	if err != nil {
		t.Fatal(err)
	}
	snap.Meta.ID = r.e.Store().NewID()
	if err := r.e.Store().Save(snap); err != nil {
		t.Fatal(err)
	}
	ids, err := r.e.Store().Prunable(1)
	if err != nil || !strings.Contains(strings.Join(ids, " "), id) {
		t.Fatalf("prunable = %v, %v; want %s among them", ids, err, id)
	}
	if _, err := r.e.Store().Prune(1); err == nil || !strings.Contains(err.Error(), "journal") {
		t.Fatalf("prune = %v; want a refusal for %s", err, id)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("the snapshot the journal names: %v", err)
	}
}

// TestMemRefJournalWritten: a change from the newest snapshot's state
// writes a journal naming it, which an older nictab (Before an object)
// refuses as damaged instead of reading an empty state before; a failed
// change is undone, and a change in a confirm window reverted, from it.
func TestMemRefJournalWritten(t *testing.T) {
	snapshots.ReferBeforeMinForTest(t, 1)
	r := newMemRig(t)
	r.apply(intentA)
	stateA := r.state()
	var seen []byte
	r.wrap = func(k netcfg.Kernel) netcfg.Kernel {
		return &afterExecKernel{Kernel: k, after: func() {
			if seen == nil {
				seen = r.journalBytes()
			}
		}}
	}
	n := snapshots.JournalsByRefForTest()
	p := r.propose(intentB)
	r.e.Prepare(p)
	if _, err := r.e.Apply(p, snapshots.ApplyOptions{Confirm: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if snapshots.JournalsByRefForTest() != n+1 || !namesSnapshot(seen) {
		t.Fatalf("journal written during the change:\n%s", seen)
	}
	var old struct {
		Before netcfg.Desired `json:"before"`
	}
	body := seen[:strings.LastIndex(string(seen), "\nchecksum")]
	if err := json.Unmarshal(body, &old); err == nil {
		t.Fatal("a journal naming its snapshot decodes as one holding an empty state before")
	}
	j, err := snapshots.JournalForTest(r.e)
	if err != nil || j == nil || j.BeforeRefForTest() == "" {
		t.Fatalf("the confirm window's journal: %+v, %v; want it naming A's snapshot", j, err)
	}
	res, err := r.e.Revert(context.Background())
	if err != nil || res.Result != "reverted" {
		t.Fatalf("revert = %+v, %v", res, err)
	}
	if got := r.state(); got != stateA {
		t.Errorf("after the revert:\n%s\nwant:\n%s", got, stateA)
	}
	r.noJournal()

	// A failed change, undone from the state it read.
	r.wrap = nil
	p = r.propose(intentB)
	r.e.Prepare(p)
	r.k.FailAt(r.k.Received()+2, unix.ENOBUFS)
	n = snapshots.JournalsByRefForTest()
	_, err = r.e.Apply(p, snapshots.ApplyOptions{})
	var ae *netcfg.ApplyError
	if !errors.As(err, &ae) || ae.UndoErr != nil || snapshots.JournalsByRefForTest() != n+1 {
		t.Fatalf("failed apply: %v (journals naming a snapshot: %d)", err, snapshots.JournalsByRefForTest()-n)
	}
	if got := r.state(); got != stateA {
		t.Errorf("after the undone apply:\n%s\nwant:\n%s", got, stateA)
	}
	r.noJournal()
}

// TestMemRandomTransitionsNamed runs TestMemRandomTransitions' walks with
// every journal that can name a snapshot as its state before doing so:
// the reverts of confirm windows then read the state before back from
// the snapshot's file.
func TestMemRandomTransitionsNamed(t *testing.T) {
	snapshots.ReferBeforeMinForTest(t, 1)
	n := snapshots.JournalsByRefForTest()
	count := map[string]int{}
	for w := range uint64(*memWalks) {
		t.Run(fmt.Sprint("seed", *memSeed+w), func(t *testing.T) { memWalk(t, *memSeed+w, count) })
	}
	if snapshots.JournalsByRefForTest() == n {
		t.Error("no journal of the walks named a snapshot")
	}
	t.Logf("%d journals named a snapshot; steps: %v", snapshots.JournalsByRefForTest()-n, count)
}

// TestMemRefJournalNewestMoved: when the snapshot Prepare found to hold
// the state before is no longer the newest once the apply holds its lock,
// the journal holds the state itself, and a kill is recovered from it.
func TestMemRefJournalNewestMoved(t *testing.T) {
	snapshots.ReferBeforeMinForTest(t, 1)
	r := newMemRig(t)
	r.apply(intentA)
	stateA := r.state()
	p := r.propose(intentB)
	r.e.Prepare(p)
	snap, err := r.e.Store().Latest()
	if err != nil {
		t.Fatal(err)
	}
	snap.Meta.ID = r.e.Store().NewID()
	snap.Resolved = &netcfg.Owned{}
	if err := r.e.Store().Save(snap); err != nil {
		t.Fatal(err)
	}
	n := snapshots.JournalsByRefForTest()
	snapshots.KillAfterAppliedForTest(t)
	var seen []byte
	r.wrap = func(k netcfg.Kernel) netcfg.Kernel {
		return &afterExecKernel{Kernel: k, after: func() {
			if seen == nil {
				seen = r.journalBytes()
			}
		}}
	}
	if _, err := r.e.Apply(p, snapshots.ApplyOptions{Confirm: time.Minute}); err == nil {
		t.Fatal("the apply was not stopped after its applied journal")
	}
	if snapshots.JournalsByRefForTest() != n || namesSnapshot(seen) || !strings.Contains(string(seen), "192.168.10.0/24") {
		t.Fatalf("journal written during the change:\n%s", seen)
	}
	if _, err := r.e.Recover(); err != nil {
		t.Fatal(err)
	}
	if got := r.state(); got != stateA {
		t.Errorf("recovered:\n%s\nwant:\n%s", got, stateA)
	}
}

// TestMemRefJournalOldIndex: an index that gives no digest of the newest
// snapshot's state (written by an older nictab) leaves the journal
// holding its state before, as it did.
func TestMemRefJournalOldIndex(t *testing.T) {
	snapshots.ReferBeforeMinForTest(t, 1)
	r := newMemRig(t)
	r.apply(intentA)
	if err := snapshots.ForgetIndexDigestsForTest(r.e); err != nil {
		t.Fatal(err)
	}
	r.e = r.engine()
	p := r.propose(intentB)
	r.e.Prepare(p)
	n := snapshots.JournalsByRefForTest()
	if _, err := r.e.Apply(p, snapshots.ApplyOptions{Confirm: time.Minute}); err != nil {
		t.Fatal(err)
	}
	j, err := snapshots.JournalForTest(r.e)
	if err != nil || j == nil || j.BeforeRefForTest() != "" || snapshots.JournalsByRefForTest() != n || len(j.Before.Routes) == 0 {
		t.Fatalf("journal %+v, %v; want it holding its state before", j, err)
	}
	if _, err := r.e.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.noJournal()
}

// TestMemRefJournalCopiesShareDigest: copies of one proposal, as the
// terminal UI applies them, share the digest of its live state made when
// it was read: a copy whose apply failed and was undone, and then
// another, each write a journal naming the newest snapshot.
func TestMemRefJournalCopiesShareDigest(t *testing.T) {
	snapshots.ReferBeforeMinForTest(t, 1)
	r := newMemRig(t)
	r.apply(intentA)
	stateA := r.state()
	p := r.propose(intentB)
	first, second := *p, *p
	r.k.FailAt(r.k.Received()+2, unix.ENOBUFS)
	n := snapshots.JournalsByRefForTest()
	_, err := r.e.Apply(&first, snapshots.ApplyOptions{})
	var ae *netcfg.ApplyError
	if !errors.As(err, &ae) || ae.UndoErr != nil {
		t.Fatalf("failed apply: %v", err)
	}
	if got := r.state(); got != stateA {
		t.Fatalf("after the undone apply:\n%s\nwant:\n%s", got, stateA)
	}
	if _, err := r.e.Apply(&second, snapshots.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := snapshots.JournalsByRefForTest() - n; got != 2 {
		t.Errorf("%d journals named a snapshot; want both", got)
	}
	r.noJournal()
}
