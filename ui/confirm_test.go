package ui

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// TestFlowConfirmKeys: in the confirm dialog y keeps and n or esc revert;
// every other key leaves the change waiting and says which keys count.
func TestFlowConfirmKeys(t *testing.T) {
	for _, k := range []step{keys("n"), press(tea.KeyEsc)} {
		f := newFake()
		m := finish(t, run(t, f, 80, 24, false, with(previewEno1, []step{keys("a"), wait("applied to"), k, wait("Reverted")})...))
		if f.reverted != 1 || f.confirmed != 0 {
			t.Fatalf("key %v: reverted %d, confirmed %d", k.keys, f.reverted, f.confirmed)
		}
		if !strings.Contains(plain(m.frame()), "n or esc was pressed") {
			t.Errorf("key %v: the result does not say why:\n%s", k.keys, plain(m.frame()))
		}
		if m.edits.len() != 1 {
			t.Errorf("key %v: the edit should stay for another try, have %d", k.keys, m.edits.len())
		}
	}
	for _, k := range []step{keys("q"), keys("?"), ctrl('c'), press(tea.KeyEnter), keys("Y"), keys("x")} {
		f := newFake()
		m := finish(t, run(t, f, 80, 24, false, with(previewEno1, []step{keys("a"), wait("applied to"), k, wait("only y (keep) and n or esc")})...))
		if f.reverted != 0 || f.confirmed != 0 || m.apply.phase != phaseConfirm {
			t.Fatalf("key %v: reverted %d, confirmed %d, phase %d: the key decided the change", k.keys, f.reverted, f.confirmed, m.apply.phase)
		}
	}
}

// TestFlowCountdownBeforeChange: the countdown dialog has been written to
// the terminal when the first change goes out, so a session the change
// cuts still shows how to get out of it.
func TestFlowCountdownBeforeChange(t *testing.T) {
	f := newFake()
	var tm interface{ Output() io.Reader }
	var written bytes.Buffer
	drawn := make(chan bool, 1)
	f.onApply = func() {
		_, _ = io.Copy(&written, tm.Output())
		drawn <- bytes.Contains(written.Bytes(), []byte("Keep these changes? Reverting in 60s")) && bytes.Contains(written.Bytes(), []byte("revert now"))
	}
	r := run(t, f, 80, 24, false, previewEno1...)
	tm = r
	for _, k := range keys("a").keys {
		r.Send(k)
	}
	select {
	case ok := <-drawn:
		if !ok {
			t.Fatalf("the first change went out before the dialog was written; written so far:\n%q", written.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the apply never started")
	}
	waitFrame(t, r, "applied to")
	finish(t, r)
}

// TestFlowStepCount: the dialog and the result count the plan's changes,
// the number the preview showed.
func TestFlowStepCount(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, with(previewEno1, []step{keys("a"), wait("applied to"), keys("y"), wait("Kept")})...))
	n := len(m.apply.proposal.Plan.Changes)
	if want := plural(n, "change") + " applied and verified"; !strings.Contains(plain(m.frame()), want) {
		t.Fatalf("the result does not say %q:\n%s", want, plain(m.frame()))
	}
}

// TestFlowConfirmedElsewhere is issue 15's second point: during the window
// another terminal runs `nictab confirm`. Whatever the TUI does then (n, y,
// or nothing), it says the change was kept, never that a revert failed, and
// the next plan holds only what is edited on screen.
func TestFlowConfirmedElsewhere(t *testing.T) {
	for _, k := range []step{keys("n"), keys("y"), {}} {
		f := newFake()
		steps := with(previewEno1, []step{keys("a"), wait("applied to"), do(f.confirmElsewhere), k, wait("Kept elsewhere")})
		m := finish(t, run(t, f, 80, 24, false, append(steps,
			press(tea.KeyEsc), wait("NICs"),
			// Only enp2s0 is edited now.
			keys("j"), keys("a"), wait("new table"), keys("14"), press(tea.KeyTab), keys("lan"), wait("(new)"), press(tea.KeyEnter), wait("1 unapplied edit"),
			keys("p"), wait("to add"))...))
		v := plain(m.frame())
		for _, bad := range []string{"Revert failed", "recover", "Could not keep"} {
			if strings.Contains(v, bad) {
				t.Errorf("key %v: the screen says %q", k.keys, bad)
			}
		}
		if f.reverted != 0 {
			t.Errorf("key %v: reverted %d after the change was kept elsewhere", k.keys, f.reverted)
		}
		p := m.preview.proposal
		if p == nil {
			t.Fatalf("key %v: no plan", k.keys)
		}
		for _, c := range p.Plan.Changes {
			if c.Action == netcfg.ChangeDelete {
				t.Errorf("key %v: the plan deletes what nobody edited: %s", k.keys, c.Reason)
			}
		}
		want := netcfg.Intent{
			Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14, Name: "lan"}},
			NICs:   []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}, {Name: "enp2s0", Table: netcfg.TableRef{ID: 14}}},
		}
		if !intentEqual(p.Intent, want) {
			t.Errorf("key %v: planned intent %+v, want the kept eno1 and the edited enp2s0: %+v", k.keys, p.Intent, want)
		}
	}
}

// TestFlowPendingFromElsewhere: another nictab applies with a confirm
// window while this one runs; its dialog opens here, and the edits on
// screen stay for afterwards.
func TestFlowPendingFromElsewhere(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, with(assignEno1, []step{do(func() {
		f.mu.Lock()
		f.pending = &Pending{Deadline: time.Now().Add(40 * time.Second)}
		f.applied = append(f.applied, netcfg.Intent{})
		f.before = cloneState(f.state)
		f.mu.Unlock()
		f.watch <- struct{}{}
	}), wait("applied by another nictab"), keys("n"), wait("Reverted"), press(tea.KeyEsc), wait("1 unapplied edit")})...))
	if f.reverted != 1 || m.edits.len() != 1 {
		t.Fatalf("reverted %d, edits %d", f.reverted, m.edits.len())
	}
}
