package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// updateResult takes in what a command brought back.
func (m *Model) updateResult(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case recoveredMsg:
		switch {
		case msg.err != nil:
			m.setFlash("an interrupted apply could not be finished or undone: "+msg.err.Error()+" (run `nictab recover`)", true)
		case msg.what != "":
			m.setFlash("recovered: "+msg.what, false)
		}
		m.live.reading = true
		return nil
	case stateMsg:
		return m.gotState(msg)
	case intentMsg:
		m.base, m.baseErr, m.baseRead = msg.intent, msg.err, true
		if msg.err != nil {
			m.setFlash("cannot read what nictab manages now: "+msg.err.Error(), true)
		}
		var cmds []tea.Cmd
		if m.previewWaits {
			m.previewWaits = false
			if m.screen == screenPreview {
				cmds = append(cmds, m.openPreview())
			}
		}
		return tea.Batch(append(cmds, m.replayHeldKeys())...)
	case pendingMsg:
		if msg.err != nil {
			m.setFlash("cannot tell whether a change waits for confirmation: "+msg.err.Error(), true)
			return nil
		}
		if msg.pending != nil && m.screen != screenApply {
			// A change from an earlier session (or another terminal)
			// still waits: the person decides here, as if just applied.
			m.screen = screenApply
			m.apply = resumeConfirm(m, msg.pending, msg.at)
			return tick(msg.pending.Deadline, msg.at, m.clock)
		}
		return nil
	case watchStartedMsg:
		if msg.err != nil {
			m.live.err = msg.err
			m.setFlash("live updates are off: "+msg.err.Error(), true)
			return nil
		}
		m.live.ch = msg.ch
		return waitLive(msg.ch)
	case liveMsg:
		return m.gotLive(msg)
	case proposalMsg:
		return m.gotProposal(msg)
	case priorMsg:
		m.preview.gotPrior(msg)
		return nil
	case armedMsg, progressMsg, appliedMsg, tickMsg, confirmedMsg, revertedMsg, settledMsg:
		return m.apply.update(m, msg)
	case historyMsg:
		m.snaps.take(msg)
		m.snaps.reflow(m.bodyHeight())
		return nil
	case snapshotTextMsg, diffMsg:
		m.snap.take(m, msg)
		return nil
	case exportMsg, wroteMsg:
		m.export.take(m, msg)
		return nil
	}
	return nil
}

// NOTE: the intent is the newest snapshot's, 100k routes for a large
// table: read beside the namespace at start-up, its parse on both cores
// delayed the first frame by 1.5–2.5 ms (24.5–25.8 ms against 21.9–22.0
// with an empty history, bench/ttystart), and 23.3–25.7 ms read as soon
// as the namespace was, beside the renderer putting the frame out. It is
// read once that frame is out (intentAfterFrame): 22.3–22.6 ms. Keys
// typed before it is read wait for it (holdsKey), and so does a preview.
func (m *Model) gotState(msg stateMsg) tea.Cmd {
	m.live.reading = false
	var cmds []tea.Cmd
	if !m.intentAsked {
		m.intentAsked = true
		cmds = append(cmds, tea.Tick(intentAfterFrame, func(time.Time) tea.Msg { return intentCmd(m.be)() }))
	}
	if msg.err != nil {
		if m.load != ready {
			m.load, m.loadErr = loadFailed, msg.err
			return tea.Batch(cmds...)
		}
		m.setFlash("reading the namespace failed: "+msg.err.Error(), true)
	} else {
		m.setState(msg.state)
	}
	if m.live.again {
		m.live.again = false
		m.live.reading = true
		cmds = append(cmds, detectCmd(m.be))
	}
	return tea.Batch(cmds...)
}

// gotLive reacts to a change made by anyone: read the namespace and the
// intent again (the namespace once at a time), and check whether the plan
// on screen still holds.
func (m *Model) gotLive(msg liveMsg) tea.Cmd {
	if msg.closed {
		m.live.ch = nil
		m.live.err = errWatchEnded
		return nil
	}
	// Another nictab may have applied, kept or reverted: the next plan
	// must start from the newest snapshot, and a dialog on screen must
	// learn how its change ended.
	cmds := []tea.Cmd{waitLive(m.live.ch), intentCmd(m.be)}
	switch {
	case m.screen == screenApply && m.apply.phase == phaseConfirm:
		cmds = append(cmds, settledCmd(m.be))
	case m.screen != screenApply:
		// Another nictab's apply may now wait for confirmation: it is
		// shown as one found at start-up is.
		cmds = append(cmds, pendingCmd(m.be, m.clock))
	}
	if m.live.reading {
		m.live.again = true
	} else {
		m.live.reading = true
		cmds = append(cmds, detectCmd(m.be))
	}
	if c := m.preview.staleCheck(m); c != nil {
		cmds = append(cmds, c)
	}
	return tea.Batch(cmds...)
}

type watchEnded struct{}

func (watchEnded) Error() string { return "the watch on the namespace ended" }

var errWatchEnded error = watchEnded{}

func (m *Model) gotProposal(msg proposalMsg) tea.Cmd {
	if m.screen != screenPreview {
		// The person went elsewhere while it was planned.
		return nil
	}
	m.preview.take(m, msg)
	return nil
}
