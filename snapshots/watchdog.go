package snapshots

import (
	"fmt"
	"os"
	"time"
)

// NOTE: a watchdog can die without reverting (SIGKILL, the OOM killer, a
// logind session teardown that takes its cgroup). The flock it holds says
// nothing then, because the kernel drops it silently; so the watchdog also
// writes DIR/watchdog.json, naming its transaction, pid, process start
// time and boot, and rewrites it every heartbeatEvery. Any nictab that
// finds a confirm window open checks that file: a pid that is gone (or
// reused: the start time differs) or a heartbeat older than heartbeatStale
// means nobody will revert at the deadline, and that nictab must.

const (
	watchdogFile   = "watchdog.json"
	heartbeatEvery = 250 * time.Millisecond
	heartbeatStale = 5 * time.Second
)

// watchdogState is what a running watchdog says about itself.
type watchdogState struct {
	TxID   string `json:"txid"`
	PID    int    `json:"pid"`
	Start  uint64 `json:"start"`
	BootID string `json:"boot_id"`
	// Beat is CLOCK_BOOTTIME at the last heartbeat.
	Beat time.Duration `json:"beat"`
}

// revertRequest is the content of the revert-now file: which window, and
// why, so a request left over from an earlier window cannot revert this
// one, and the outcome says who asked.
type revertRequest struct {
	TxID string `json:"txid"`
	Why  string `json:"why"`
}

func (e *Engine) writeBeat(txid string) error {
	st := watchdogState{TxID: txid, PID: os.Getpid(), Start: procStart(os.Getpid()), BootID: e.bootID, Beat: e.cfg.Boottime()}
	if err := e.store.writeState(watchdogFile, st); err != nil {
		return fmt.Errorf("write watchdog heartbeat: %w", err)
	}
	return nil
}

func (e *Engine) readBeat() (*watchdogState, error) {
	var st watchdogState
	ok, err := e.store.readState(watchdogFile, &st)
	if err != nil || !ok {
		// Written by rename, so never torn; a damaged one is not a
		// watchdog's.
		return nil, nil
	}
	return &st, nil
}

// watchdogAlive reports whether the watchdog of j's window runs: its
// heartbeat file names j, it is of this boot, its process lives (the same
// process, not a reused pid) and it beat recently.
func (e *Engine) watchdogAlive(j *Journal) bool {
	st, err := e.readBeat()
	if err != nil || st == nil || st.TxID != j.TxID || st.BootID != e.bootID {
		return false
	}
	if st.Start == 0 || procStart(st.PID) != st.Start {
		return false
	}
	return e.cfg.Boottime()-st.Beat < heartbeatStale
}

// overdue reports whether j's confirm window has closed. A journal of an
// earlier boot is overdue whatever its numbers say.
func (e *Engine) overdue(j *Journal) bool {
	if j.DeadlineBoot == 0 {
		// Written before deadlines were monotonic.
		return !e.cfg.Now().Before(j.Deadline)
	}
	return j.BootID != e.bootID || e.cfg.Boottime() >= j.DeadlineBoot
}

// left is how long j's window stays open.
func (e *Engine) left(j *Journal) time.Duration {
	if e.overdue(j) {
		return 0
	}
	if j.DeadlineBoot == 0 {
		return j.Deadline.Sub(e.cfg.Now())
	}
	return j.DeadlineBoot - e.cfg.Boottime()
}

// pendingOf describes j's window. The wall-clock deadline is recomputed
// from the monotonic one, so it is right even after the clock stepped, and
// it keeps time.Now's monotonic reading: a countdown in this process (the
// TUI's) compares on the monotonic clock too.
func (e *Engine) pendingOf(j *Journal) *Pending {
	return &Pending{
		TxID: j.TxID, SnapshotID: j.SnapshotID,
		Deadline: e.cfg.Now().Add(e.left(j)),
		Left:     e.left(j),
		Watchdog: e.watchdogAlive(j),
	}
}

// waitForWatchdog waits until the watchdog of j has started and said so.
func (e *Engine) waitForWatchdog(j *Journal, timeout time.Duration) error {
	until := time.Now().Add(timeout)
	for !e.watchdogAlive(j) {
		if cur, err := e.store.readJournal(journalFile); err == nil && (cur == nil || cur.TxID != j.TxID) {
			// Confirmed (or reverted) before the watchdog came up: it
			// found nothing to watch, and nothing is left to.
			return nil
		}
		if st, _ := e.readBeat(); st != nil && st.TxID == j.TxID && procStart(st.PID) != st.Start {
			return fmt.Errorf("the watchdog (pid %d) died as it started", st.PID)
		}
		if time.Now().After(until) {
			return fmt.Errorf("the watchdog did not report in within %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
