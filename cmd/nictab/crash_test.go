package main

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrashTrials kills apply with SIGKILL at random moments, then runs
// `nictab recover`: the namespace must be exactly as before the apply or
// exactly as after it, never a third state. NICTAB_CRASH_TRIALS and
// NICTAB_CRASH_SEED change the number of trials and the seed.
func TestCrashTrials(t *testing.T) {
	c := newCLI(t)
	trials := 50
	if v, err := strconv.Atoi(os.Getenv("NICTAB_CRASH_TRIALS")); err == nil {
		trials = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("NICTAB_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (NICTAB_CRASH_SEED=%d reproduces it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	f := writeFile(t, "big.yaml", bigIntent("eno1", 13, 600))
	empty := writeFile(t, "empty.yaml", "version: 1\n")
	before := c.routing()
	start := time.Now()
	if r := c.run("apply", "-f", f, "--yes"); r.code != 0 {
		t.Fatal(r)
	}
	took := time.Since(start)
	after := c.routing()
	reset := func() {
		t.Helper()
		if r := c.run("apply", "-f", empty, "--yes"); r.code != 0 {
			t.Fatal(r)
		}
		if c.routing() != before {
			t.Fatal("could not return to the start")
		}
	}
	reset()

	counts := map[string]int{}
	for i := range trials {
		cmd := c.cmd("apply", "-f", f, "--yes")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Anywhere from before the first change to after the last.
		time.Sleep(time.Duration(rng.Int64N(int64(took) + int64(took)/2)))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		r := c.run("recover")
		if r.code != 0 {
			t.Fatalf("trial %d: recover: %s", i, r)
		}
		switch got := c.routing(); got {
		case before:
			counts["before"]++
		case after:
			counts["after"]++
			reset()
		default:
			t.Fatalf("trial %d (seed %d): after recover the namespace is in a third state (recover said %q):\n%s", i, seed, strings.TrimSpace(r.stdout), got)
		}
		if strings.Contains(r.stdout, "undone") {
			counts["recover undid a half apply"]++
		} else if strings.Contains(r.stdout, "kept") {
			counts["recover kept a finished apply"]++
		}
	}
	t.Logf("%d trials (apply takes %s): %v", trials, took.Round(time.Millisecond), counts)
}
