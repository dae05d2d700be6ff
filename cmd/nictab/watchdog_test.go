package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watchdogPID reads the pid the running watchdog reports in its heartbeat.
func (c *cli) watchdogPID() int {
	b, err := os.ReadFile(filepath.Join(c.stateDir(), "watchdog.json"))
	if err != nil {
		return 0
	}
	var st struct {
		PID int `json:"pid"`
	}
	// The JSON, then the checksum line every state file ends with.
	_ = json.NewDecoder(bytes.NewReader(b)).Decode(&st)
	return st.PID
}

// deadline reads the open window's deadline from the journal.
func (c *cli) deadline() time.Time {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.stateDir(), "journal.json"))
	if err != nil {
		c.t.Fatal(err)
	}
	var j struct {
		Deadline time.Time `json:"deadline"`
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&j); err != nil || j.Deadline.IsZero() {
		c.t.Fatalf("journal without a deadline: %v\n%s", err, b)
	}
	return j.Deadline
}

func (c *cli) waitWatchdog() int {
	c.t.Helper()
	var pid int
	waitFor(c.t, 10*time.Second, "the watchdog to report in", func() bool { pid = c.watchdogPID(); return pid > 0 })
	return pid
}

// TestWatchdogUnderSystemdRun runs the watchdog through a stand-in for
// systemd-run that records its arguments and starts the command as systemd
// would (no descriptors inherited, a session of its own): the watchdog
// takes the lock from apply and reverts at the deadline; confirm keeps.
func TestWatchdogUnderSystemdRun(t *testing.T) {
	c := newCLI(t)
	bin := t.TempDir()
	record := filepath.Join(bin, "args")
	script := `#!/bin/sh
printf '%s\n' "$@" > ` + record + `
while [ "$1" != "--" ]; do shift; done; shift
setsid "$@" </dev/null >>` + filepath.Join(bin, "log") + ` 2>&1 &
`
	if err := os.WriteFile(filepath.Join(bin, "systemd-run"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c.env = append(c.env, "PATH="+bin+":"+os.Getenv("PATH"))
	f := writeFile(t, "blog.yaml", specFile)
	before := c.routing()

	r := c.run("--watchdog", "systemd-run", "apply", "-f", f, "--yes", "--confirm", "1s")
	if r.code != 3 || !strings.Contains(r.stderr, "not confirmed in time") {
		t.Fatalf("unconfirmed apply through systemd-run: %s", r)
	}
	if got := c.routing(); got != before {
		t.Fatalf("not reverted:\n%s", got)
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{"--description=nictab: revert an unconfirmed routing change at its deadline", "--service-type=exec", "--collect", "--quiet",
		"--property=TimeoutStopSec=60", "--property=KillMode=mixed", "--", nictabBin, "--state-dir", c.state, "--netns", c.ns.Name, "__watchdog"}
	if len(args) != len(want)+1 || !strings.HasPrefix(args[0], "--unit=nictab-watchdog-") || !strings.HasSuffix(args[0], ".service") {
		t.Fatalf("systemd-run was called with %q", args)
	}
	for i, w := range want {
		if args[i+1] != w {
			t.Errorf("systemd-run argument %d = %q, want %q", i+1, args[i+1], w)
		}
	}

	cmd := c.cmd("--watchdog", "systemd-run", "apply", "-f", f, "--yes", "--confirm", "20s")
	done := make(chan result, 1)
	go func() { done <- runCmd(t, cmd) }()
	pid := c.waitWatchdog()
	// The unit's watchdog, not the apply, holds the lock once apply lets go.
	waitFor(t, 10*time.Second, "the watchdog to take the lock", func() bool {
		r := c.run("snapshot", "save", "-m", "during the window")
		return r.code != 0 && strings.Contains(r.stderr, "pid "+strconv.Itoa(pid))
	})
	if r := c.run("confirm"); r.code != 0 {
		t.Fatalf("confirm: %s", r)
	}
	if r := <-done; r.code != 0 || !strings.Contains(r.stdout, "Kept") {
		t.Fatalf("confirmed apply: %s", r)
	}
}

// TestWatchdogKillTrials kills the watchdog with SIGKILL at random moments
// of its window. With the apply still waiting, the apply reverts at the
// deadline; with the apply killed too, the next nictab that looks (show,
// snapshot list, confirm, recover) reverts or refuses. Never is a change
// kept past its deadline unconfirmed. NICTAB_KILL_TRIALS and
// NICTAB_KILL_SEED change the number of trials and the seed.
func TestWatchdogKillTrials(t *testing.T) {
	c := newCLI(t)
	trials := 30
	if v, err := strconv.Atoi(os.Getenv("NICTAB_KILL_TRIALS")); err == nil {
		trials = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("NICTAB_KILL_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (NICTAB_KILL_SEED=%d reproduces it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	f := writeFile(t, "blog.yaml", specFile)
	before := c.routing()
	const window = 700 * time.Millisecond
	counts := map[string]int{}
	for i := range trials {
		cmd := c.cmd("apply", "-f", f, "--yes", "--confirm", window.String())
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := c.waitWatchdog()
		deadline := c.deadline()
		// Anywhere from its start to just before its deadline.
		time.Sleep(time.Until(deadline.Add(-50*time.Millisecond - time.Duration(rng.Int64N(int64(window))))))
		_ = syscall.Kill(pid, syscall.SIGKILL)
		waitDead(t, pid)
		next := []string{"foreground", "show", "snapshot list", "confirm", "recover"}[rng.IntN(5)]
		counts[next]++
		if next == "foreground" {
			err := cmd.Wait()
			var ee *exec.ExitError
			switch {
			case strings.Contains(out.String(), "died as it started"):
				// Killed before the apply saw it report in: the apply
				// undoes the change itself and fails.
				counts["the apply undid the change of a watchdog that died as it started"]++
				if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out.String(), "the change was undone") {
					t.Fatalf("trial %d (seed %d): %v\n%s", i, seed, err, out.String())
				}
			case strings.Contains(out.String(), "watchdog died"):
				counts["the waiting apply reverted for its dead watchdog"]++
				fallthrough
			default:
				if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(out.String(), "reverted") {
					t.Fatalf("trial %d (seed %d): the waiting apply after its watchdog died: %v\n%s", i, seed, err, out.String())
				}
				if time.Now().Before(deadline) {
					t.Errorf("trial %d: reverted before the deadline", i)
				}
			}
		} else {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			time.Sleep(time.Until(deadline.Add(50 * time.Millisecond)))
			r := c.run(strings.Fields(next)...)
			if strings.Contains(out.String(), "reverted (") {
				// The deadline passed while the watchdog took its time to
				// die, and the waiting apply saw the change reverted (by
				// itself for its dead watchdog, or by the watchdog before
				// it died) and said so before it was killed: nothing is
				// left for the next command to revert.
				counts["the waiting apply saw the revert before it was killed"]++
				if got := c.routing(); got != before {
					t.Fatalf("trial %d (seed %d, %s): the change outlived its deadline:\n%s", i, seed, next, got)
				}
				_ = os.Remove(filepath.Join(c.stateDir(), "watchdog.json"))
				continue
			}
			if next == "confirm" && (r.code == 0 || !strings.Contains(r.stderr, "too late")) {
				t.Fatalf("trial %d (seed %d): confirm after the deadline: %s", i, seed, r)
			}
			// "reverted", or "revert … was finished" when the watchdog died
			// in the middle of its revert.
			if !strings.Contains(r.stdout+r.stderr, "revert") {
				t.Errorf("trial %d: %s did not say it reverted: %s", i, next, r)
			}
		}
		if got := c.routing(); got != before {
			t.Fatalf("trial %d (seed %d, %s): the change outlived its deadline:\n%s", i, seed, next, got)
		}
		_ = os.Remove(filepath.Join(c.stateDir(), "watchdog.json"))
	}
	t.Logf("%d trials: %v", trials, counts)
}

// waitDead waits until process pid is dead (gone or a zombie). SIGKILL
// takes effect only once the process leaves an uninterruptible sleep: a
// watchdog in the middle of a sync under a loaded disk still ran, and
// beat, 100 ms after it was sent, and a nictab that looked then rightly
// left its window to it.
func waitDead(t *testing.T, pid int) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X') {
			return
		}
	}
	t.Fatalf("process %d still runs 10 s after SIGKILL", pid)
}

// TestCtrlCAtPrompt: Ctrl-C at "Keep these changes?" reverts at once and
// says so, instead of leaving the change pending with nobody watching.
func TestCtrlCAtPrompt(t *testing.T) {
	c := newCLI(t)
	f := writeFile(t, "blog.yaml", specFile)
	before := c.routing()
	_, slave := openPty(t, 80, 24)
	cmd := c.cmd("apply", "-f", f, "--yes", "--confirm", "30s")
	var out strings.Builder
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := c.waitWatchdog()
	// The lock names the watchdog that holds it, not the apply.
	waitFor(t, 5*time.Second, "the lock to name the watchdog", func() bool {
		r := c.run("snapshot", "save", "-m", "during the window")
		return r.code != 0 && strings.Contains(r.stderr, "pid "+strconv.Itoa(pid)+")")
	})
	_ = cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(out.String(), "Interrupted") || !strings.Contains(out.String(), "Ctrl-C") {
		t.Fatalf("Ctrl-C at the prompt: %v\n%s", err, out.String())
	}
	if got := c.routing(); got != before {
		t.Fatalf("not reverted:\n%s", got)
	}
}
