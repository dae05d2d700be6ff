package snapshots_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nictab/nictab/snapshots"
)

// TestWatchdogClockStep: the wall clock jumping two hours ahead, then two
// hours back, neither reverts the change early nor holds the revert back.
func TestWatchdogClockStep(t *testing.T) {
	var offset atomic.Int64
	r := &rig{t: t, mod: func(c *snapshots.EngineConfig) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	}}
	r.ns, r.dir = newRig(t).ns, filepath.Join(t.TempDir(), "state")
	r.e = r.engine()
	before := r.ns.Routing()
	start := time.Now()
	out := r.apply(nicIntent("eno1", 13), "step", 1500*time.Millisecond)
	offset.Store(int64(2 * time.Hour))
	time.Sleep(500 * time.Millisecond)
	if p, err := r.e.Pending(); err != nil || p == nil {
		t.Fatalf("a wall clock two hours ahead closed the window early: %+v, %v", p, err)
	} else if p.Left <= 0 || p.Left > time.Second+100*time.Millisecond {
		t.Errorf("time left after the step = %s, want about 1s", p.Left)
	}
	offset.Store(int64(-2 * time.Hour))
	res, err := r.e.Wait(context.Background(), out.Pending)
	took := time.Since(start)
	if err != nil || res.Result != "reverted" || res.Detail != snapshots.WhyDeadline {
		t.Fatalf("outcome %+v, %v; want reverted, not confirmed in time", res, err)
	}
	if took < 1400*time.Millisecond || took > 5*time.Second {
		t.Errorf("reverted after %s; the deadline was 1.5s on the monotonic clock", took)
	}
	if got := r.ns.Routing(); got != before {
		t.Errorf("not reverted exactly:\n%s", got)
	}
}

// deadWatchdogRig is a rig whose "watchdog" is a sleep process that only
// reports in: killing it is a watchdog dying without a trace.
func deadWatchdogRig(t *testing.T) (*rig, func()) {
	r := &rig{t: t}
	var child *exec.Cmd
	r.mod = func(c *snapshots.EngineConfig) {
		c.StartWatchdog = func(*snapshots.Lock) error {
			child = exec.Command("sleep", "60")
			if err := child.Start(); err != nil {
				return err
			}
			return snapshots.WriteBeatForTest(r.e, child.Process.Pid)
		}
	}
	r.ns, r.dir = newRig(t).ns, filepath.Join(t.TempDir(), "state")
	r.e = r.engine()
	kill := func() {
		_ = child.Process.Kill()
		_ = child.Wait()
	}
	t.Cleanup(func() {
		if child != nil && child.ProcessState == nil {
			kill()
		}
	})
	return r, kill
}

// TestDeadWatchdogNoticed: a window whose watchdog died is named loudly
// before its deadline, reverted by the waiting foreground at the deadline
// (not before), and a confirm after the deadline is refused.
func TestDeadWatchdogNoticed(t *testing.T) {
	r, kill := deadWatchdogRig(t)
	before := r.ns.Routing()
	start := time.Now()
	out := r.apply(nicIntent("eno1", 13), "dies", 1200*time.Millisecond)
	if msg, err := r.e.CheckWindow("show", true); err != nil || msg != "" {
		t.Fatalf("a live watchdog was reported: %q, %v", msg, err)
	}
	kill()
	msg, err := r.e.CheckWindow("show", true)
	if err != nil || !strings.Contains(msg, "watchdog is gone") || !strings.Contains(msg, out.Pending.TxID) {
		t.Errorf("show before the deadline: %q, %v; want a loud warning", msg, err)
	}
	if p, _ := r.e.Pending(); p == nil || p.Watchdog {
		t.Errorf("Pending = %+v; want the window, without a watchdog", p)
	}
	res, err := r.e.Wait(context.Background(), out.Pending)
	if err != nil || res.Result != "reverted" || !strings.Contains(res.Detail, "watchdog died") || !strings.Contains(res.Detail, snapshots.WhyDeadline) {
		t.Fatalf("the foreground's wait: %+v, %v", res, err)
	}
	if took := time.Since(start); took < 1100*time.Millisecond {
		t.Errorf("reverted after %s, before the 1.2s deadline", took)
	}
	if got := r.ns.Routing(); got != before {
		t.Errorf("not reverted:\n%s", got)
	}
}

// TestConfirmAfterDeadlineRefused: past the deadline, with the watchdog
// dead and nobody having reverted, confirm refuses and reverts.
func TestConfirmAfterDeadlineRefused(t *testing.T) {
	r, kill := deadWatchdogRig(t)
	before := r.ns.Routing()
	r.apply(nicIntent("eno1", 13), "late", 300*time.Millisecond)
	kill()
	time.Sleep(500 * time.Millisecond)
	if _, err := r.e.Confirm(); !errors.Is(err, snapshots.ErrTooLate) || !strings.Contains(err.Error(), "reverted") {
		t.Fatalf("confirm after the deadline: %v; want refused, and the change reverted", err)
	}
	if got := r.ns.Routing(); got != before {
		t.Errorf("not reverted:\n%s", got)
	}
	if list, _ := r.e.Store().List(); len(list) != 1 {
		t.Errorf("history holds %d snapshots; want only the baseline", len(list))
	}
}

// TestDeadWatchdogRevertedByShow: past the deadline the next nictab that
// looks (show, snapshot list, the TUI) reverts, and says why.
func TestDeadWatchdogRevertedByShow(t *testing.T) {
	r, kill := deadWatchdogRig(t)
	before := r.ns.Routing()
	r.apply(nicIntent("eno1", 13), "late", 300*time.Millisecond)
	kill()
	time.Sleep(400 * time.Millisecond)
	msg, err := r.e.CheckWindow("snapshot list", true)
	if err != nil || !strings.Contains(msg, "reverted") || !strings.Contains(msg, "snapshot list") {
		t.Fatalf("snapshot list past the deadline: %q, %v", msg, err)
	}
	if got := r.ns.Routing(); got != before {
		t.Errorf("not reverted:\n%s", got)
	}
}

// TestStaleRevertRequestIgnored: a revert-now file left by an earlier
// window does not revert the next one.
func TestStaleRevertRequestIgnored(t *testing.T) {
	r := newRig(t)
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "revert-now"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out := r.apply(nicIntent("eno1", 13), "stale", 2*time.Second)
	time.Sleep(400 * time.Millisecond)
	if p, _ := r.e.Pending(); p == nil {
		t.Fatal("a stale revert request reverted the new window at once")
	}
	res, err := r.e.RevertBecause(context.Background(), "asked by the test")
	if err != nil || res.Result != "reverted" || res.Detail != "asked by the test" || res.TxID != out.Pending.TxID {
		t.Errorf("revert: %+v, %v; want the reason recorded", res, err)
	}
}

// TestWatchdogDiesAsItStarts: a watchdog that dies before the apply sees
// it report in makes the apply undo its change at once, not wait.
func TestWatchdogDiesAsItStarts(t *testing.T) {
	r := &rig{t: t}
	r.mod = func(c *snapshots.EngineConfig) {
		c.StartWatchdog = func(*snapshots.Lock) error {
			child := exec.Command("sleep", "60")
			if err := child.Start(); err != nil {
				return err
			}
			err := snapshots.WriteBeatForTest(r.e, child.Process.Pid)
			_ = child.Process.Kill()
			_ = child.Wait()
			return err
		}
	}
	r.ns, r.dir = newRig(t).ns, filepath.Join(t.TempDir(), "state")
	r.e = r.engine()
	before := r.ns.Routing()
	p, err := r.e.Propose(nicIntent("eno1", 13), "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = r.e.Apply(p, snapshots.ApplyOptions{Confirm: 30 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "died as it started") || !strings.Contains(err.Error(), "undone") {
		t.Fatalf("apply: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the apply waited %s for a dead watchdog", took)
	}
	if got := r.ns.Routing(); got != before {
		t.Errorf("not undone:\n%s", got)
	}
}

// TestConfirmDuringUnfinishedRevert: a watchdog that died in the middle of
// its revert leaves the journal under its reverting name; confirm is too
// late, says so, and finishes the revert.
func TestConfirmDuringUnfinishedRevert(t *testing.T) {
	r, kill := deadWatchdogRig(t)
	before := r.ns.Routing()
	r.apply(nicIntent("eno1", 13), "cut", 10*time.Second)
	kill()
	// As the watchdog does when it takes the journal to revert.
	if err := os.Rename(filepath.Join(r.dir, "journal.json"), filepath.Join(r.dir, "journal.reverting.json")); err != nil {
		t.Fatal(err)
	}
	_, err := r.e.Confirm()
	if !errors.Is(err, snapshots.ErrTooLate) || !strings.Contains(err.Error(), "was finished") {
		t.Fatalf("confirm during an unfinished revert: %v", err)
	}
	if got := r.ns.Routing(); got != before {
		t.Errorf("the revert was not finished:\n%s", got)
	}
}

// TestConfirmedBeforeWatchdogStarts: a confirm that comes before the
// watchdog reports in (a script confirming at once) keeps the change; the
// apply does not wait for a watchdog that has nothing to watch.
func TestConfirmedBeforeWatchdogStarts(t *testing.T) {
	r := &rig{t: t}
	r.mod = func(c *snapshots.EngineConfig) {
		c.StartWatchdog = func(*snapshots.Lock) error {
			_, err := r.e.Confirm()
			return err
		}
	}
	r.ns, r.dir = newRig(t).ns, filepath.Join(t.TempDir(), "state")
	r.e = r.engine()
	start := time.Now()
	out := r.apply(nicIntent("eno1", 13), "quick", 30*time.Second)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the apply waited %s for a watchdog after the change was confirmed", took)
	}
	res, err := r.e.Wait(context.Background(), out.Pending)
	if err != nil || res.Result != "kept" {
		t.Fatalf("outcome %+v, %v; want kept", res, err)
	}
	if !strings.Contains(r.ns.IP("rule", "show"), "lookup 13") {
		t.Error("the confirmed change is gone")
	}
}
