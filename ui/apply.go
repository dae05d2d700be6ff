package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// The apply screen: progress while the steps run, then the confirm dialog
// with its countdown, then the result, which stays until a key is pressed.

type applyPhase int

const (
	phaseApplying applyPhase = iota
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
	done     int
	total    int
	deadline time.Time
	now      time.Time
	outcome  *Outcome
	result   applyResult
}

type applyResult struct {
	kind  resultKind
	title string
	lines []string
}

// resumeConfirm shows the confirm dialog for a change applied before this
// screen existed.
func resumeConfirm(p *Pending) applyScreen {
	return applyScreen{phase: phaseConfirm, deadline: p.Deadline, now: time.Now(), outcome: &Outcome{Deadline: p.Deadline}}
}

// key handles every key while the apply screen is up.
func (a *applyScreen) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch a.phase {
	case phaseConfirm:
		if key.Matches(msg, k.Keep) {
			a.phase = phaseKeeping
			return confirmCmd(m.be)
		}
		a.phase = phaseReverting
		return revertCmd(m.be, "key")
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
			m.showHelp = true
		}
	default:
		m.setFlash("wait: a change is in flight", true)
	}
	return nil
}

// update takes in what the apply, the clock, confirm and revert report.
func (a *applyScreen) update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
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
				a.finish(keptResult(msg.outcome))
			}
			return m.reload(true)
		}
		a.phase, a.deadline, a.now = phaseConfirm, msg.outcome.Deadline, msg.at
		return tick(a.deadline)
	case tickMsg:
		if a.phase != phaseConfirm {
			return nil
		}
		a.now = time.Time(msg)
		if !a.now.Before(a.deadline) {
			// The watchdog reverts at the deadline on its own; asking it
			// here too makes the screen say so at once.
			a.phase = phaseReverting
			return revertCmd(m.be, "timeout")
		}
		return tick(a.deadline)
	case confirmedMsg:
		if msg.err != nil {
			a.finish(applyResult{kind: resultFailed, title: "Could not keep the change", lines: []string{netcfg.SafeText(msg.err.Error())}})
			return m.reload(false)
		}
		a.finish(keptResult(a.outcome))
		return m.reload(true)
	case revertedMsg:
		if msg.err != nil {
			a.finish(applyResult{kind: resultFailed, title: "Revert failed", lines: []string{
				netcfg.SafeText(msg.err.Error()),
				"Run `nictab recover` to bring the host back to the state before the change.",
			}})
			return m.reload(false)
		}
		why := "A key other than y was pressed."
		if msg.why == "timeout" {
			why = "It was not confirmed in time."
		}
		a.finish(applyResult{kind: resultReverted, title: "Reverted", lines: []string{why, "The host's rules and routes are as they were before the change."}})
		return m.reload(false)
	}
	return nil
}

func (a *applyScreen) finish(r applyResult) {
	a.phase, a.result = phaseDone, r
}

// reload reads the namespace again after a change; when it was kept, the
// edits are done with and the intent is read afresh.
func (m *Model) reload(kept bool) tea.Cmd {
	cmds := []tea.Cmd{}
	if !m.live.reading {
		m.live.reading = true
		cmds = append(cmds, detectCmd(m.be))
	} else {
		m.live.again = true
	}
	if kept {
		m.edits = edits{}
		cmds = append(cmds, intentCmd(m.be))
	}
	return tea.Batch(cmds...)
}

func keptResult(o *Outcome) applyResult {
	r := applyResult{kind: resultKept, title: "Kept"}
	if o == nil {
		return r
	}
	if o.Steps > 0 {
		r.lines = append(r.lines, fmt.Sprintf("%s applied and verified against the kernel.", plural(o.Steps, "step")))
	} else {
		r.lines = append(r.lines, "The change that waited for confirmation stays.")
	}
	if o.SnapshotID != "" {
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
	var lines []string
	switch a.phase {
	case phaseApplying:
		lines = append(lines, "", " "+st.Title.Render("Applying")+fmt.Sprintf("  %d of %d steps", a.done, a.total), " "+bar(a.done, a.total, min(width-4, 60)))
		lines = append(lines, "", " "+st.Muted.Render("Each step is checked; a failure undoes the steps before it."))
		return strings.Join(lines, "\n")
	case phaseKeeping:
		return "\n " + st.Title.Render("Keeping the change...")
	case phaseReverting:
		return "\n " + st.Title.Render("Reverting the change...")
	case phaseConfirm:
		where := "this host"
		if caps.Netns != "" {
			where = "network namespace " + netcfg.SafeText(caps.Netns)
		}
		steps := "A change waits for confirmation on "
		if a.proposal != nil {
			steps = plural(len(a.proposal.Plan.Changes), "change") + " applied to "
		}
		dialog := box([]string{
			st.Title.Render(steps + where + "."),
			"",
			st.Warning.Render(fmt.Sprintf("Keep these changes? Reverting in %ds", remaining(a.deadline, a.now))),
			"",
			st.Key.Render("y") + " keep      " + st.Key.Render("any other key") + " revert now",
			st.Muted.Render("If this session is cut, the change reverts on its own."),
		}, width, st.Alarm)
		frame := make([]string, height)
		return strings.Join(overlay(frame, dialog, width), "\n")
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
		body = append(body, wrap(l, min(width-6, 72))...)
	}
	body = append(body, "", st.Muted.Render("esc back to the NICs · s snapshots · q quit"))
	return "\n" + box(body, width, st.Box)
}

// bar is a progress bar of plain characters, readable without colour.
func bar(done, total, width int) string {
	width = max(width-2, 4)
	fill := 0
	if total > 0 {
		fill = min(done*width/total, width)
	}
	return "[" + strings.Repeat("#", fill) + strings.Repeat(".", width-fill) + "]"
}

// wrap breaks text into lines of at most width cells at spaces.
func wrap(s string, width int) []string {
	width = max(width, 10)
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			switch {
			case line == "":
				line = w
			case len(line)+1+len(w) <= width:
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
