package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nictab/nictab/internal/keepcode"
	"github.com/nictab/nictab/netcfg"
)

// The apply screen: the confirm dialog with its countdown, drawn before
// the first change goes out and kept up while the steps run, then the
// result, which stays until a key is pressed. What the dialog ends with
// is what the engine recorded, whoever decided it.

type applyPhase int

const (
	// phaseArming: the dialog is up, nothing has gone out yet.
	phaseArming applyPhase = iota
	phaseApplying
	phaseConfirm
	phaseKeeping
	phaseReverting
	phaseDone
)

type resultKind int

const (
	resultKept resultKind = iota
	resultReverted
	resultFailed
	resultUnchanged
)

type applyScreen struct {
	phase    applyPhase
	run      applyRun
	proposal *Proposal
	window   time.Duration
	done     int
	total    int
	deadline time.Time
	now      time.Time
	outcome  *Outcome
	result   applyResult
	// resumed is set for a change this screen did not apply: another
	// session's, or this host's before a restart.
	resumed bool
	// code is what keeps the change over SSH, drawn when the change is
	// live and shown from then on; typed is how much of it has been
	// typed, codeAt when it was shown. "" when y keeps (not over SSH).
	code   string
	typed  string
	codeAt time.Time
	// codeErr says why no code could be drawn or the typed-ahead input
	// thrown away: then only `nictab confirm` from elsewhere keeps.
	codeErr string
}

type applyResult struct {
	kind  resultKind
	title string
	lines []string
}

// armApply is the dialog for a proposal about to be applied with a confirm
// window at now: the countdown starts from the whole window, and is
// corrected to the engine's deadline once the apply returns.
func armApply(p *Proposal, window time.Duration, now time.Time) applyScreen {
	return applyScreen{phase: phaseArming, proposal: p, window: window, total: len(p.Plan.Ops()), now: now, deadline: now.Add(window)}
}

// resumeConfirm shows the confirm dialog for a change applied before this
// screen existed, found at now.
func resumeConfirm(m *Model, p *Pending, now time.Time) applyScreen {
	a := applyScreen{phase: phaseConfirm, deadline: p.Deadline, now: now, outcome: &Outcome{Deadline: p.Deadline}, resumed: true}
	a.startCode(m, now)
	return a
}

// codeGrace is how long after the code is shown a key is still taken as
// typed before it: no one reads a code and types it that fast, and the
// terminal's reader may hand over keys it had read before the flush.
var codeGrace = 300 * time.Millisecond

// drawCode draws a keep code; the screen tests draw a fixed one.
var drawCode = keepcode.New

// startCode, over SSH, throws away what was typed so far and draws the
// keep code. It runs when the change is live and read back (at now), the
// first moment the code exists, so no key typed before can hold it.
func (a *applyScreen) startCode(m *Model, now time.Time) {
	if m.caps.SSHClient == "" {
		return
	}
	a.code, a.typed, a.codeErr = "", "", ""
	if m.caps.FlushInput != nil {
		if err := m.caps.FlushInput(); err != nil {
			a.codeErr = "what was typed before cannot be thrown away (" + err.Error() + ")"
			return
		}
	}
	code, err := drawCode()
	if err != nil {
		a.codeErr = err.Error()
		return
	}
	a.code, a.codeAt = code, now
}

// help is the key help of the apply screen.
func (a *applyScreen) help(m *Model) helpKeys {
	if a.phase != phaseConfirm {
		return m.keys.resultHelp()
	}
	if m.caps.SSHClient == "" {
		return m.keys.confirmHelp()
	}
	code := key.NewBinding(key.WithKeys("code"), key.WithHelp(a.code, "keep"))
	if a.code == "" {
		return helpKeys{short: []key.Binding{m.keys.RevertNow}, full: [][]key.Binding{{m.keys.RevertNow}}}
	}
	return helpKeys{short: []key.Binding{code, m.keys.RevertNow}, full: [][]key.Binding{{code, m.keys.RevertNow}}}
}

// codeKey takes a key in the confirm dialog over SSH: the code's next
// character counts, esc, n and ctrl+c revert now, and so does any other
// key: it was typed blind or wrong, and either way nothing proves the
// replies arrive. A key carries no time: the model's clock says when it
// came.
func (a *applyScreen) codeKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	if a.code != "" && m.clock().Sub(a.codeAt) < codeGrace {
		m.setFlash("a key typed before the code was shown was thrown away", true)
		return nil
	}
	if key.Matches(msg, m.keys.RevertNow) || msg.String() == "ctrl+c" {
		a.phase = phaseReverting
		return revertCmd(m.be, "key")
	}
	if a.code == "" {
		// No code could be drawn: only another login keeps the change.
		m.setFlash("this dialog cannot keep the change ("+a.codeErr+"): `nictab confirm` from another login keeps it; n or esc reverts now", true)
		return nil
	}
	step := keepcode.Wrong
	if r := []rune(msg.Text); len(r) == 1 {
		step = keepcode.Next(a.code, a.typed, r[0])
	}
	switch step {
	case keepcode.Partial:
		a.typed += string(a.code[len(a.typed)])
		return nil
	case keepcode.Complete:
		a.typed = a.code
		a.phase = phaseKeeping
		return confirmCmd(m.be)
	}
	a.phase = phaseReverting
	return revertCmd(m.be, "code")
}

// confirmKeysNote says which keys count in the confirm dialog.
const confirmKeysNote = "only y (keep) and n or esc (revert now) answer here"

// key handles every key while the apply screen is up.
func (a *applyScreen) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch a.phase {
	case phaseConfirm:
		if m.caps.SSHClient != "" {
			return a.codeKey(m, msg)
		}
		switch {
		case key.Matches(msg, k.Keep):
			a.phase = phaseKeeping
			return confirmCmd(m.be)
		case key.Matches(msg, k.RevertNow):
			a.phase = phaseReverting
			return revertCmd(m.be, "key")
		}
		// A stray key (?, q, ctrl+c, a paste) must not decide a change
		// that can cut the session.
		m.setFlash(confirmKeysNote, true)
	case phaseDone:
		switch {
		case key.Matches(msg, k.Back), msg.String() == "enter":
			m.screen = screenNICs
			if a.proposal != nil && m.preview.rollback != "" {
				return m.openSnapshots()
			}
		case key.Matches(msg, k.Snapshots):
			return m.openSnapshots()
		case key.Matches(msg, k.Quit):
			return m.quit()
		case key.Matches(msg, k.Help):
			m.showHelp, m.helpOff = true, 0
		}
	default:
		if m.caps.SSHClient != "" {
			m.setFlash("wait: the change is going out; then only the code it shows keeps it, and any other key reverts it", true)
			return nil
		}
		m.setFlash("wait: the change is going out; then "+confirmKeysNote, true)
	}
	return nil
}

// update takes in what the apply, the clock, confirm and revert report.
func (a *applyScreen) update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case armedMsg:
		if a.phase != phaseArming {
			return nil
		}
		a.phase = phaseApplying
		run, cmd := startApply(m.ctx, m.be, a.proposal, ApplyOptions{Confirm: a.window}, m.clock)
		a.run = run
		return tea.Batch(cmd, tick(a.deadline, msg.at, m.clock))
	case progressMsg:
		a.done, a.total = msg.done, msg.total
		return waitApply(a.run)
	case appliedMsg:
		if msg.err != nil {
			a.finish(failedResult(msg.err))
			return m.reload(false)
		}
		a.outcome = msg.outcome
		a.done = a.total
		if msg.outcome.Deadline.IsZero() {
			if a.proposal != nil && a.proposal.Plan.Empty() {
				a.finish(applyResult{kind: resultUnchanged, title: "Nothing changed", lines: []string{"The live state already matched the plan."}})
			} else {
				a.finish(keptResult(a.proposal, msg.outcome, false))
			}
			return m.reload(true)
		}
		a.phase, a.deadline, a.now = phaseConfirm, msg.outcome.Deadline, msg.at
		a.startCode(m, msg.at)
		return nil
	case tickMsg:
		if a.phase != phaseConfirm && a.phase != phaseApplying {
			return nil
		}
		a.now = time.Time(msg)
		if a.phase == phaseApplying {
			return tick(a.deadline, a.now, m.clock)
		}
		if !a.now.Before(a.deadline) {
			// The watchdog reverts at the deadline on its own; asking it
			// here too makes the screen say so at once.
			a.phase = phaseReverting
			return revertCmd(m.be, "timeout")
		}
		// Anyone may have answered meanwhile: ask the engine each second.
		return tea.Batch(tick(a.deadline, a.now, m.clock), settledCmd(m.be))
	case settledMsg:
		if a.phase != phaseConfirm || (msg.settled == nil && msg.err == nil) {
			// Still waiting, or this screen's own answer is on its way.
			return nil
		}
		return a.settle(m, msg.settled, msg.err, "")
	case confirmedMsg:
		return a.settle(m, msg.settled, msg.err, "")
	case revertedMsg:
		return a.settle(m, msg.settled, msg.err, msg.why)
	}
	return nil
}

// settle ends the dialog with what the engine says happened, and reads
// the namespace and the intent again: whoever kept or reverted it, the
// next plan starts from the truth.
func (a *applyScreen) settle(m *Model, s *Settled, err error, why string) tea.Cmd {
	if err != nil {
		a.finish(applyResult{kind: resultFailed, title: "Cannot tell how the change ended", lines: []string{
			netcfg.SafeText(err.Error()),
			"`nictab snapshot list` shows whether it was kept; `nictab recover` finishes a change left between states.",
		}})
		return m.reload(false)
	}
	switch s.Result {
	case "kept":
		a.finish(keptResult(a.proposal, a.outcome, s.Elsewhere))
		if s.SnapshotID != "" {
			a.result.lines = append(a.result.lines, "Saved as snapshot "+s.SnapshotID+" (s shows the history).")
		}
		// The edits on screen were this change; the resumed one was not
		// theirs.
		return m.reload(!a.resumed)
	case "reverted":
		var what string
		switch {
		case !s.Elsewhere && why == "key":
			what = "n or esc was pressed: reverted now."
		case !s.Elsewhere && why == "code":
			what = "A key that is not the code's next character was typed: reverted now. Over SSH only the code shown after the change keeps it."
		case why == "timeout" || !a.now.Before(a.deadline):
			what = "It was not confirmed in time: the watchdog reverted it."
		default:
			what = "It was reverted elsewhere (`nictab revert`, or another nictab's dialog) before this one answered."
		}
		a.finish(applyResult{kind: resultReverted, title: "Reverted", lines: []string{what, "The host's rules and routes are as they were before the change."}})
		return m.reload(false)
	}
	lines := []string{"The watchdog could not bring the host back: " + netcfg.SafeText(s.Detail)}
	lines = append(lines, "Run `nictab recover` to bring the host back to the state before the change.")
	a.finish(applyResult{kind: resultFailed, title: "Revert failed", lines: lines})
	return m.reload(false)
}

func (a *applyScreen) finish(r applyResult) {
	a.phase, a.result = phaseDone, r
}

// reload reads the namespace and the intent again after a change ended;
// when it was kept, the edits it carried are done with.
func (m *Model) reload(kept bool) tea.Cmd {
	cmds := []tea.Cmd{intentCmd(m.be)}
	if !m.live.reading {
		m.live.reading = true
		cmds = append(cmds, detectCmd(m.be))
	} else {
		m.live.again = true
	}
	if kept {
		m.edits = edits{}
	}
	return tea.Batch(cmds...)
}

// keptResult says a change stays: how many of the plan's changes, the
// count the preview and the dialog showed.
func keptResult(p *Proposal, o *Outcome, elsewhere bool) applyResult {
	r := applyResult{kind: resultKept, title: "Kept"}
	if elsewhere {
		r.title = "Kept elsewhere"
		r.lines = append(r.lines, "It was confirmed elsewhere (`nictab confirm`, or another nictab's dialog) before this one answered.")
	}
	switch {
	case p != nil:
		r.lines = append(r.lines, fmt.Sprintf("%s applied and verified against the kernel.", plural(len(p.Plan.Changes), "change")))
	case o == nil || o.Steps == 0:
		r.lines = append(r.lines, "The change that waited for confirmation stays.")
	}
	if o == nil {
		return r
	}
	if o.SnapshotID != "" && o.Deadline.IsZero() {
		r.lines = append(r.lines, "Saved as snapshot "+o.SnapshotID+" (s shows the history).")
	}
	for _, n := range o.Notes {
		r.lines = append(r.lines, "Note: "+netcfg.SafeText(n))
	}
	return r
}

// failedResult says what failed, at which step, and what state the host
// is in now.
func failedResult(err error) applyResult {
	var ae *netcfg.ApplyError
	var se *netcfg.StaleError
	var ce *netcfg.ConflictError
	switch {
	case errors.As(err, &ae):
		title := "Failed and undone"
		if ae.Step > 0 {
			title = fmt.Sprintf("Failed at step %d of %d and undone", ae.Step, ae.Total)
		}
		lines := []string{"Because: " + netcfg.SafeText(ae.Err.Error())}
		if ae.UndoErr != nil {
			title = "Failed, and undoing it ALSO failed"
			lines = append(lines, "Undo: "+netcfg.SafeText(ae.UndoErr.Error()), "The host is between states: run `nictab recover`.")
		} else {
			lines = append(lines, "Every step before it was undone: the host is as it was.")
		}
		return applyResult{kind: resultFailed, title: title, lines: lines}
	case errors.As(err, &se):
		return applyResult{kind: resultFailed, title: "Not applied: the plan is stale", lines: []string{"The live state changed since the plan was made. Nothing was changed; preview again."}}
	case errors.As(err, &ce):
		return applyResult{kind: resultFailed, title: "Not applied: conflicts", lines: []string{netcfg.SafeText(ce.Error())}}
	}
	return applyResult{kind: resultFailed, title: "Not applied", lines: []string{netcfg.SafeText(err.Error())}}
}

// remaining is the countdown in whole seconds, rounded up, so it reads 60
// right after a 60-second window opens and 1 in its last second.
func remaining(deadline, now time.Time) int {
	d := deadline.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// renderApply draws the apply screen.
func renderApply(a applyScreen, caps Capabilities, width, height int, st Styles) string {
	switch a.phase {
	case phaseKeeping:
		return "\n " + st.Title.Render("Keeping the change...")
	case phaseReverting:
		return "\n " + st.Title.Render("Reverting the change...")
	case phaseArming, phaseApplying, phaseConfirm:
		frame := make([]string, height)
		return strings.Join(overlay(frame, confirmDialog(a, caps, width, st), width), "\n")
	}
	style := st.OK
	switch a.result.kind {
	case resultFailed:
		style = st.Danger
	case resultReverted:
		style = st.Warning
	}
	body := []string{style.Render(" " + a.result.title + " "), ""}
	for _, l := range a.result.lines {
		body = append(body, wrap(caps.Hint(l), min(width-6, 72))...)
	}
	body = append(body, "", st.Muted.Render("esc back to the NICs · s snapshots · q quit"))
	return "\n" + box(body, width, st.Box)
}

// confirmDialog is the countdown dialog. It is the same while the change
// goes out and after, so that the question and the way out are on screen
// before anything can cut the session.
func confirmDialog(a applyScreen, caps Capabilities, width int, st Styles) string {
	where := "this host"
	if caps.Netns != "" {
		where = "network namespace " + netcfg.SafeText(caps.Netns)
	}
	inner := max(min(width-4, 70), 10)
	var head []string
	switch {
	case a.resumed:
		head = wrap("A change applied by another nictab, or before a restart, waits for confirmation on "+where+".", inner)
	case a.phase == phaseConfirm:
		head = wrap(plural(len(a.proposal.Plan.Changes), "change")+" applied to "+where+" and verified.", inner)
	default:
		head = wrap(fmt.Sprintf("Applying %s to %s: kernel operation %d of %d.", plural(len(a.proposal.Plan.Changes), "change"), where, a.done, a.total), inner)
	}
	lines := make([]string, 0, 8)
	for _, l := range head {
		lines = append(lines, st.Title.Render(l))
	}
	lines = append(lines, "", st.Warning.Render(fmt.Sprintf("Keep these changes? Reverting in %ds", remaining(a.deadline, a.now))), "")
	switch {
	case caps.SSHClient == "":
		lines = append(lines, st.Key.Render("y")+" keep      "+st.Key.Render("n")+" or "+st.Key.Render("esc")+" revert now")
	case a.phase != phaseConfirm:
		lines = append(lines, wrap("Over SSH, a code to type back is shown here once the change is live: it proves the replies still reach you.", inner)...)
	case a.code == "":
		lines = append(lines, wrap(caps.Hint("This dialog cannot keep the change ("+a.codeErr+"): `nictab confirm` from another login keeps it."), inner)...)
		lines = append(lines, st.Key.Render("n")+" or "+st.Key.Render("esc")+" revert now")
	default:
		typed := a.typed + strings.Repeat("_", len(a.code)-len(a.typed))
		lines = append(lines, "Type "+st.Key.Render(a.code)+" to keep   ["+typed+"]   any other key reverts now")
		lines = append(lines, wrap(caps.Hint("Over SSH the code proves the replies still reach you; `nictab confirm` from another login keeps it too."), inner)...)
	}
	for _, l := range wrap("If this session is cut, the change reverts on its own.", inner) {
		lines = append(lines, st.Muted.Render(l))
	}
	return box(lines, width, st.Alarm)
}

// wrap breaks text into lines of at most width cells at spaces; a word
// longer than a line (a path, an address list) is broken where the line
// ends, so nothing is cut off.
func wrap(s string, width int) []string {
	width = max(width, 10)
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			for ansi.StringWidth(w) > width {
				if line != "" {
					out = append(out, line)
					line = ""
				}
				head := ansi.Truncate(w, width, "")
				out = append(out, head)
				w = w[len(head):]
			}
			switch {
			case line == "":
				line = w
			case ansi.StringWidth(line)+1+ansi.StringWidth(w) <= width:
				line += " " + w
			default:
				out = append(out, line)
				line = w
			}
		}
		out = append(out, line)
	}
	return out
}
