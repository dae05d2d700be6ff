package main

import (
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
)

// TestHeapSoftLimit: nictab keeps its heap to heapSoftLimit by default,
// and GOMEMLIMIT, when set, is what the runtime keeps to instead.
func TestHeapSoftLimit(t *testing.T) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		if got := debug.SetMemoryLimit(-1); got != heapSoftLimit {
			t.Errorf("memory limit %d, want %d", got, heapSoftLimit)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHeapSoftLimitChild$", "-test.v")
	cmd.Env = append(os.Environ(), "GOMEMLIMIT=123MiB")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "limit 128974848") {
		t.Errorf("with GOMEMLIMIT=123MiB the child said %q, want limit 128974848", out)
	}
}

// TestHeapSoftLimitChild prints the memory limit in force; run by
// TestHeapSoftLimit with GOMEMLIMIT set.
func TestHeapSoftLimitChild(t *testing.T) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		t.Skip("run by TestHeapSoftLimit, with GOMEMLIMIT set")
	}
	t.Logf("limit %d", debug.SetMemoryLimit(-1))
}
