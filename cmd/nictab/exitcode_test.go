package main

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/format"
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
		{fmt.Errorf("wrapped: %w", &format.FileError{File: "f", Msg: "m"}), exitUsage},
		{&snapshots.TrustError{Path: "/x", Reason: "r"}, exitUsage},
		{exitError{code: exitReverted}, exitReverted},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// TestHintsForNamespace: commands suggested in messages act where the
// command that printed them did.
func TestHintsForNamespace(t *testing.T) {
	a := &app{netns: "lab x", stateDir: "/srv/st"}
	got := a.hints("apply failed at step 2 of 3: ip -6 route add ::/0 dev eno1: refused; run `nictab recover`")
	want := "apply failed at step 2 of 3: ip -n 'lab x' -6 route add ::/0 dev eno1: refused; run `nictab --netns 'lab x' --state-dir /srv/st recover`"
	if got != want {
		t.Errorf("hints:\n got %s\nwant %s", got, want)
	}
	if h := (&app{}).hints("run `nictab recover`"); h != "run `nictab recover`" {
		t.Errorf("without --netns: %s", h)
	}
}
