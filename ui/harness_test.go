package ui

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"
)

func TestMain(m *testing.M) {
	// Snapshot times are shown in local time; golden files need one zone.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// testStyles renders 16 colours, or no colour with bold and reverse kept,
// whatever terminal the tests run in.
func testStyles(color bool) Styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI)
	r.SetHasDarkBackground(true)
	if color {
		return DefaultStyles(r)
	}
	return MonoStyles(r)
}

// step is one thing a test does to the running UI: type keys, or wait
// until the screen shows a text.
type step struct {
	keys []tea.KeyMsg
	wait string
	do   func()
}

func keys(s string) step {
	var out []tea.KeyMsg
	for _, r := range s {
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return step{keys: out}
}

func press(t tea.KeyType) step { return step{keys: []tea.KeyMsg{{Type: t}}} }

func wait(text string) step { return step{wait: text} }

func do(fn func()) step { return step{do: fn} }

// run starts the UI on a fake backend in a w×h terminal and carries out
// the steps.
func run(t *testing.T, f *fakeBackend, w, h int, color bool, steps ...step) *teatest.TestModel {
	t.Helper()
	m := New(Options{Backend: f, Styles: testStyles(color)})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	t.Cleanup(func() { _ = tm.Quit() })
	for _, s := range steps {
		switch {
		case s.do != nil:
			s.do()
		case s.wait != "":
			want := []byte(s.wait)
			teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, want) },
				teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
		default:
			for _, k := range s.keys {
				tm.Send(k)
			}
		}
	}
	return tm
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
