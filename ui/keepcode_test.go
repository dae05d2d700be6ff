package ui

import (
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// fixedCode makes the dialog draw code, and shows it at once: these tests
// send keys faster than anyone could read a code.
func fixedCode(t *testing.T, code string) {
	t.Helper()
	oldDraw, oldGrace := drawCode, codeGrace
	drawCode, codeGrace = func() (string, error) { return code, nil }, 0
	t.Cleanup(func() { drawCode, codeGrace = oldDraw, oldGrace })
}

// sshFake is a backend over SSH whose terminal flush is counted, with the
// number of applies done at the moment of each flush.
func sshFake() (*fakeBackend, func() []int) {
	f := newFake()
	f.caps.SSHClient = "203.0.113.5"
	var mu sync.Mutex
	var flushes []int
	f.caps.FlushInput = func() error {
		f.mu.Lock()
		n := len(f.applied)
		f.mu.Unlock()
		mu.Lock()
		flushes = append(flushes, n)
		mu.Unlock()
		return nil
	}
	return f, func() []int { mu.Lock(); defer mu.Unlock(); return append([]int(nil), flushes...) }
}

var codeOnScreen = regexp.MustCompile(`Type (\S+) to keep`)

// TestFlowKeepCodeKeeps: over SSH the dialog shows a code once the change
// is live, after the terminal's input was thrown away, and typing it back
// (in either case) keeps the change.
func TestFlowKeepCodeKeeps(t *testing.T) {
	codeGrace = 0
	t.Cleanup(func() { codeGrace = 300 * time.Millisecond })
	f, flushes := sshFake()
	tm := run(t, f, 80, 24, false, with(previewEno1, []step{keys("a"), wait("to keep")})...)
	p := make(probeMsg, 1)
	tm.Send(p)
	frame := plain(<-p)
	got := codeOnScreen.FindStringSubmatch(frame)
	if got == nil {
		t.Fatalf("no code on screen:\n%s", frame)
	}
	code := got[1]
	if strings.Contains(frame, "y keep") {
		t.Errorf("over SSH the dialog still offers y:\n%s", frame)
	}
	for _, k := range keys(strings.ToLower(code)).keys {
		tm.Send(k)
	}
	waitFrame(t, tm, "Kept")
	finish(t, tm)
	if f.confirmed != 1 || f.reverted != 0 {
		t.Fatalf("confirmed %d, reverted %d after the code was typed", f.confirmed, f.reverted)
	}
	if fl := flushes(); len(fl) != 1 || fl[0] != 1 {
		t.Errorf("flushes (applies done at each) %v: want one, after the apply", fl)
	}
}

// TestFlowKeepCodeBlind: over SSH, y, a wrong character, Enter, an arrow,
// ctrl+c, n and esc revert now; keys while the change goes out and before
// the code is shown decide nothing.
func TestFlowKeepCodeBlind(t *testing.T) {
	fixedCode(t, "K7XA")
	for _, k := range []step{keys("y"), keys("Y"), keys("K7Y"), keys("KK"), press(tea.KeyEnter), press(tea.KeyUp), ctrl('c'), keys("n"), press(tea.KeyEsc), keys("?"), keys("q")} {
		f, _ := sshFake()
		m := finish(t, run(t, f, 80, 24, false, with(previewEno1, []step{keys("a"), wait("to keep"), k, wait("Reverted")})...))
		if f.reverted != 1 || f.confirmed != 0 {
			t.Fatalf("keys %v: reverted %d, confirmed %d", k.keys, f.reverted, f.confirmed)
		}
		if v := plain(m.frame()); !strings.Contains(v, "reverted now") {
			t.Errorf("keys %v: the result does not say it was reverted now:\n%s", k.keys, v)
		}
	}
}

// TestFlowKeepCodeTypedBefore: keys typed while the change goes out are
// thrown away, and so are keys that come within the grace after the code
// is shown: no one has read it yet.
func TestFlowKeepCodeTypedBefore(t *testing.T) {
	fixedCode(t, "K7XA")
	codeGrace = time.Hour
	f, _ := sshFake()
	release := make(chan struct{})
	f.onApply = func() { <-release }
	tm := run(t, f, 80, 24, false, with(previewEno1, []step{keys("a"), wait("code to type back is shown here once the change is live"), keys("K7XA"), keys("y"), wait("only the code it shows keeps it"), do(func() { close(release) }), wait("to keep"), keys("K7XA"), wait("thrown away")})...)
	m := finish(t, tm)
	if f.confirmed != 0 || f.reverted != 0 || m.apply.phase != phaseConfirm || m.apply.typed != "" {
		t.Fatalf("confirmed %d, reverted %d, phase %d, typed %q: keys typed before the code decided the change", f.confirmed, f.reverted, m.apply.phase, m.apply.typed)
	}
}

// TestFlowKeepCodeNoFlush: when the terminal's input cannot be thrown
// away, no code is shown and nothing typed keeps; n reverts, and `nictab
// confirm` from elsewhere keeps.
func TestFlowKeepCodeNoFlush(t *testing.T) {
	fixedCode(t, "K7XA")
	for _, elsewhere := range []bool{false, true} {
		f := newFake()
		f.caps.SSHClient = "203.0.113.5"
		f.caps.FlushInput = func() error { return errors.New("not a terminal") }
		steps := with(previewEno1, []step{keys("a"), wait("cannot keep the change"), keys("K7XA"), keys("y"), wait("`nictab confirm` from another login keeps it")})
		if elsewhere {
			steps = append(steps, do(f.confirmElsewhere), wait("Kept elsewhere"))
		} else {
			steps = append(steps, keys("n"), wait("Reverted"))
		}
		finish(t, run(t, f, 80, 24, false, steps...))
		if elsewhere && (f.reverted != 0 || f.confirmed != 0) || !elsewhere && (f.reverted != 1 || f.confirmed != 0) {
			t.Fatalf("elsewhere %v: reverted %d, confirmed %d", elsewhere, f.reverted, f.confirmed)
		}
	}
}

// TestFlowKeepCodeResumed: the dialog of a change another nictab applied
// asks for a code too over SSH, drawn when the dialog opens.
func TestFlowKeepCodeResumed(t *testing.T) {
	fixedCode(t, "K7XA")
	for _, tc := range []struct {
		typed          string
		ends           string
		kept, reverted int
	}{{"y", "Reverted", 0, 1}, {"K7XA", "Kept", 1, 0}} {
		f, flushes := sshFake()
		open := do(func() {
			f.mu.Lock()
			f.pending = &Pending{Deadline: time.Now().Add(40 * time.Second)}
			f.applied = append(f.applied, f.base)
			f.before = cloneState(f.state)
			f.mu.Unlock()
			f.watch <- struct{}{}
		})
		finish(t, run(t, f, 80, 24, false, wait("enp2s0"), open, wait("applied by another nictab"), wait("to keep   [____]"), keys(tc.typed), wait(tc.ends)))
		if f.confirmed != tc.kept || f.reverted != tc.reverted || len(flushes()) != 1 {
			t.Errorf("typed %q: confirmed %d, reverted %d, flushes %v", tc.typed, f.confirmed, f.reverted, flushes())
		}
	}
}
