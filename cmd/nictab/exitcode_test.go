package main

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/nictab/nictab/snapshots"
)

// TestExitCodeByType: the status comes from the error's type, never its
// text.
func TestExitCodeByType(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("add route: Nexthop has invalid gateway: %w", syscall.EINVAL), exitFailed},
		{errors.New("unknown flag: --x (invalid argument)"), exitFailed},
		{flagError{errors.New("unknown flag: --x")}, exitUsage},
		{usagef("bad"), exitUsage},
		{fmt.Errorf("wrapped: %w", &snapshots.FileError{File: "f", Msg: "m"}), exitUsage},
		{&snapshots.TrustError{Path: "/x", Reason: "r"}, exitUsage},
		{exitError{code: exitReverted}, exitReverted},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
