package ui

import (
	"os"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

func TestMain(m *testing.M) {
	// Snapshot times are shown in local time; golden files need one zone.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// testStyles renders 16 colours, or no colour with bold and reverse kept,
// whatever terminal the tests run in.
func testStyles(color bool) Styles {
	if color {
		return DefaultStyles(true)
	}
	return MonoStyles()
}

// step is one thing a test does to the running UI: type keys, or wait
// until the screen shows a text.
type step struct {
	keys []tea.KeyPressMsg
	wait string
	do   func()
}

func keys(s string) step {
	var out []tea.KeyPressMsg
	for _, r := range s {
		out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return step{keys: out}
}

// press is a key without text: tea.KeyTab, tea.KeyEnter, tea.KeyUp...
func press(code rune) step { return step{keys: []tea.KeyPressMsg{{Code: code}}} }

// ctrl is ctrl and a letter.
func ctrl(r rune) step { return step{keys: []tea.KeyPressMsg{{Code: r, Mod: tea.ModCtrl}}} }

func wait(text string) step { return step{wait: text} }

func do(fn func()) step { return step{do: fn} }

// run starts the UI on a fake backend in a w×h terminal and carries out
// the steps.
func run(t *testing.T, f *fakeBackend, w, h int, color bool, steps ...step) *teatest.TestModel {
	t.Helper()
	m := New(Options{Backend: f, Styles: testStyles(color)})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h), teatest.WithProgramOptions(tea.WithFilter(answerProbe)))
	t.Cleanup(func() { _ = tm.Quit() })
	for _, s := range steps {
		switch {
		case s.do != nil:
			s.do()
		case s.wait != "":
			waitFrame(t, tm, s.wait)
		default:
			for _, k := range s.keys {
				tm.Send(k)
			}
		}
	}
	return tm
}

// probeMsg asks the running program for the frame on screen now.
type probeMsg chan string

// answerProbe runs in the program's event loop, so it reads the model
// between two updates, as the renderer does.
func answerProbe(m tea.Model, msg tea.Msg) tea.Msg {
	if p, ok := msg.(probeMsg); ok {
		p <- m.(Model).frame()
		return nil
	}
	return msg
}

// waitFrame waits until the frame on screen shows text. Bubble Tea v2
// writes only the cells that changed, so the bytes written need not hold
// the text in one piece; the frame does.
func waitFrame(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		p := make(probeMsg, 1)
		tm.Send(p)
		select {
		case last = <-p:
			if strings.Contains(last, text) {
				return
			}
		case <-time.After(time.Second):
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the screen never showed %q; last frame:\n%s", text, plain(last))
}

// finish quits the UI and returns its last model.
func finish(t *testing.T, tm *teatest.TestModel) Model {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	return tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
}

// plain strips escape sequences from a view, for assertions on text.
func plain(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
