package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// fakeClock is the model's clock, moved by the test alone.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) set(d time.Duration, t0 time.Time) { c.t = t0.Add(d) }

// TestClockDrivesTheDialog drives the model by hand on a clock that
// stands still unless the test moves it: the countdown, the keep code's
// grace and the timeout follow that clock alone, which they could not if
// Update read the time itself.
func TestClockDrivesTheDialog(t *testing.T) {
	oldDraw := drawCode
	drawCode = func() (string, error) { return "K7XA", nil }
	t.Cleanup(func() { drawCode = oldDraw })

	f, _ := sshFake()
	t0 := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	clk := &fakeClock{t: t0}
	// A millisecond past the whole second, so the first tick is due at
	// once and the test need not wait for it.
	deadline := t0.Add(40*time.Second + time.Millisecond)
	f.pending = &Pending{Deadline: deadline}
	f.before = cloneState(f.state)

	var m tea.Model = New(Options{Backend: f, Styles: testStyles(false), Clock: clk.now})
	update := func(msg tea.Msg) tea.Cmd {
		t.Helper()
		var cmd tea.Cmd
		m, cmd = m.Update(msg)
		return cmd
	}
	frame := func() string { return plain(m.(Model).frame()) }
	update(tea.WindowSizeMsg{Width: 80, Height: 24})
	update(stateMsg{state: cloneState(f.state)})

	cmd := update(pendingMsg{pending: f.pending, at: t0})
	if got := frame(); !strings.Contains(got, "Reverting in 41s") || !strings.Contains(got, "Type K7XA to keep") {
		t.Fatalf("the dialog found waiting at t0:\n%s", got)
	}
	// The tick carries the clock's time, not the wall's.
	clk.set(time.Second+time.Millisecond, t0)
	if msg, ok := cmd().(tickMsg); !ok || !time.Time(msg).Equal(clk.t) {
		t.Fatalf("the first tick brought %v; want tickMsg(%v)", msg, clk.t)
	}

	// 100 ms after the code was shown a key is taken as typed before it.
	clk.set(100*time.Millisecond, t0)
	update(tea.KeyPressMsg{Code: 'k', Text: "k"})
	if a := m.(Model).apply; a.typed != "" || a.phase != phaseConfirm || !strings.Contains(frame(), "typed before the code was shown") {
		t.Fatalf("a key 100ms after the code: typed %q, phase %d\n%s", a.typed, a.phase, frame())
	}
	// Past the grace it counts.
	clk.set(time.Second, t0)
	update(tea.KeyPressMsg{Code: 'k', Text: "k"})
	if a := m.(Model).apply; a.typed != "K" || a.phase != phaseConfirm {
		t.Fatalf("a key 1s after the code: typed %q, phase %d", a.typed, a.phase)
	}

	// The countdown shows the tick's time, whatever the clock says now.
	clk.set(time.Hour, t0)
	if cmd := update(tickMsg(t0.Add(10*time.Second + 200*time.Millisecond))); cmd == nil {
		t.Fatal("a tick in the window schedules no next tick")
	}
	if got := frame(); !strings.Contains(got, "Reverting in 30s") {
		t.Fatalf("10.2s into the window:\n%s", got)
	}

	// At the deadline the dialog asks for the revert itself.
	cmd = update(tickMsg(deadline))
	if a := m.(Model).apply; a.phase != phaseReverting || cmd == nil {
		t.Fatalf("at the deadline: phase %d, cmd %v", a.phase, cmd)
	}
	rev, ok := cmd().(revertedMsg)
	if !ok || rev.why != "timeout" {
		t.Fatalf("at the deadline the command brought %#v; want a revert for the timeout", rev)
	}
	update(rev)
	if got := frame(); !strings.Contains(got, "It was not confirmed in time") || f.reverted != 1 {
		t.Fatalf("after the timeout (reverted %d):\n%s", f.reverted, got)
	}
}
