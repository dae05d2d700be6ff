package ui

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// manyRules is the sandbox with n more rules, as a router with a rule per
// customer prefix has them: half nictab's, half someone else's.
func manyRules(n int) netcfg.State {
	s := sandboxState()
	for i := range n {
		r := netcfg.NewRule()
		r.Family, r.Priority, r.Table = netcfg.V4, uint32(2000+i), uint32(1000+i%50)
		r.From = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
		r.Proto = netcfg.ProtoBoot
		if i%2 == 0 {
			r.Proto = netcfg.ProtoNictab
		}
		s.Rules = append(s.Rules, r)
	}
	return s
}

// loaded is a model that has read st, at 80×24, without a program.
func loaded(st netcfg.State) Model {
	f := newFake()
	f.state = st
	m := New(Options{Backend: f, Styles: testStyles(true)})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	next, _ = next.Update(stateMsg{state: st})
	next, _ = next.Update(intentMsg{intent: f.base})
	return next.(Model)
}

var down = tea.KeyPressMsg{Code: tea.KeyDown}

// BenchmarkKeystroke10kRules is one keystroke on the rules pane of a host
// with ten thousand rules: the update and the whole frame it redraws.
func BenchmarkKeystroke10kRules(b *testing.B) {
	m := loaded(manyRules(10000))
	next, _ := m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	next, _ = next.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	m = next.(Model)
	b.ReportAllocs()
	for b.Loop() {
		next, _ := m.Update(down)
		m = next.(Model)
		_ = m.frame()
	}
}

// BenchmarkKeystrokeNICs is one keystroke on the NICs pane.
func BenchmarkKeystrokeNICs(b *testing.B) {
	m := loaded(sandboxState())
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := down
		if i%2 == 1 {
			k = tea.KeyPressMsg{Code: tea.KeyUp}
		}
		next, _ := m.Update(k)
		m = next.(Model)
		_ = m.frame()
	}
}

// TestKeystrokeOn10kRules: 500 keystrokes down the rules pane of ten
// thousand rules each move the cursor one row and redraw a frame. Their
// speed is BenchmarkKeystroke10kRules's to measure, not a timed assertion's.
func TestKeystrokeOn10kRules(t *testing.T) {
	m := loaded(manyRules(10000))
	for range 2 {
		next, _ := m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
		m = next.(Model)
	}
	const n = 500
	for i := range n {
		next, _ := m.Update(down)
		m = next.(Model)
		if f := m.frame(); f == "" {
			t.Fatalf("keystroke %d drew an empty frame", i+1)
		}
	}
	if m.nics.cursor[paneRules] != n {
		t.Fatalf("cursor at %d after %d keys down", m.nics.cursor[paneRules], n)
	}
}

// countingWriter counts what the program writes to the terminal.
type countingWriter struct {
	mu sync.Mutex
	n  int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.n += len(p)
	w.mu.Unlock()
	return len(p), nil
}

func (w *countingWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// bytesPerKey runs the UI as a program and measures what crosses the
// terminal (an SSH link) per keystroke, each key given time for its own
// frame.
func bytesPerKey(t testing.TB, st netcfg.State, color bool, prep []tea.KeyPressMsg, keys []tea.KeyPressMsg) float64 {
	f := newFake()
	f.state = st
	w := &countingWriter{}
	p := tea.NewProgram(New(Options{Backend: f, Styles: testStyles(color)}), tea.WithInput(nil), tea.WithOutput(w), tea.WithoutSignals(), tea.WithWindowSize(80, 24))
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	p.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
	// Frames go out at 60 Hz; 50 ms lets each key have its own.
	settle := func() { time.Sleep(50 * time.Millisecond) }
	settle()
	for _, k := range prep {
		p.Send(k)
		settle()
	}
	settle()
	before := w.count()
	for _, k := range keys {
		p.Send(k)
		settle()
	}
	total := w.count() - before
	p.Quit()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return float64(total) / float64(len(keys))
}

func upDown(n int) []tea.KeyPressMsg {
	var out []tea.KeyPressMsg
	for i := range n {
		if i%2 == 0 {
			out = append(out, down)
		} else {
			out = append(out, tea.KeyPressMsg{Code: tea.KeyUp})
		}
	}
	return out
}

// TestBytesPerKeystroke measures, on the NICs screen at 80×24, what one
// keystroke costs on the wire: only the cells that change are redrawn. The
// limits are what Bubble Tea v1's line renderer wrote (321 and 166 bytes):
// v2 must not cost more.
func TestBytesPerKeystroke(t *testing.T) {
	tab := tea.KeyPressMsg{Code: tea.KeyTab}
	for _, c := range []struct {
		name  string
		st    netcfg.State
		color bool
		prep  []tea.KeyPressMsg
		limit float64
	}{
		{"NICs pane, colour", sandboxState(), true, nil, 321},
		{"NICs pane, no colour", sandboxState(), false, nil, 321},
		{"rules pane of 10,000 rules, colour", manyRules(10000), true, []tea.KeyPressMsg{tab, tab}, 166},
	} {
		got := bytesPerKey(t, c.st, c.color, c.prep, upDown(40))
		t.Logf("%s: %.0f bytes per keystroke", c.name, got)
		if got > c.limit {
			t.Errorf("%s: %.0f bytes per keystroke, more than %.0f", c.name, got, c.limit)
		}
		if got == 0 {
			t.Errorf("%s: keystrokes drew nothing", c.name)
		}
	}
}

// filtered10kRules is the rules pane of ten thousand rules with the
// filter typed so far, still typing.
func filtered10kRules(text string) Model {
	m := loaded(manyRules(10000))
	for _, k := range []tea.KeyPressMsg{{Code: tea.KeyTab}, {Code: tea.KeyTab}, {Code: '/', Text: "/"}} {
		next, _ := m.Update(k)
		m = next.(Model)
	}
	for _, r := range text {
		next, _ := m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		m = next.(Model)
	}
	return m
}

// BenchmarkFilterKeystroke10kRules is one letter typed into a filter on
// the rules pane of ten thousand rules: "10.0.1 nicta" becomes
// "10.0.1 nictab", which looks again at the rules the shorter text kept,
// and the frame it redraws. Each round starts from the same model: a value, as Bubble
// Tea's are.
func BenchmarkFilterKeystroke10kRules(b *testing.B) {
	m := filtered10kRules("10.0.1 nicta")
	// Without what was kept for each text typed, as if "b" had never
	// been typed after these.
	m.nics.filter[paneRules].seen = nil
	b_ := tea.KeyPressMsg{Code: 'b', Text: "b"}
	b.ReportAllocs()
	for b.Loop() {
		next, _ := m.Update(b_)
		_ = next.(Model).frame()
	}
}

// BenchmarkFilterBackspace10kRules is a backspace in that filter: it
// widens, so all ten thousand rules are looked at again.
func BenchmarkFilterBackspace10kRules(b *testing.B) {
	m := filtered10kRules("10.0.1 nictab")
	bs := tea.KeyPressMsg{Code: tea.KeyBackspace}
	b.ReportAllocs()
	for b.Loop() {
		next, _ := m.Update(bs)
		_ = next.(Model).frame()
	}
}

// BenchmarkFilteredMove10kRules is a move down the rules a filter kept.
func BenchmarkFilteredMove10kRules(b *testing.B) {
	m := filtered10kRules("10.0.1 nictab")
	next, _ := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	m = next.(Model)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := down
		if i%2 == 1 {
			k = tea.KeyPressMsg{Code: tea.KeyUp}
		}
		next, _ := m.Update(k)
		m = next.(Model)
		_ = m.frame()
	}
}

// BenchmarkFilterFirstKey10kRules is the first letter of a filter on ten
// thousand rules, the widest it gets: "1" keeps nearly all of them.
func BenchmarkFilterFirstKey10kRules(b *testing.B) {
	m := filtered10kRules("")
	one := tea.KeyPressMsg{Code: '1', Text: "1"}
	b.ReportAllocs()
	for b.Loop() {
		next, _ := m.Update(one)
		_ = next.(Model).frame()
	}
}

// BenchmarkFilterOpen10kRules is `/` on the rules pane of ten thousand
// rules: it makes the text each rule is found by, once per state read.
func BenchmarkFilterOpen10kRules(b *testing.B) {
	m := loaded(manyRules(10000))
	for range 2 {
		next, _ := m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
		m = next.(Model)
	}
	slash := tea.KeyPressMsg{Code: '/', Text: "/"}
	b.ReportAllocs()
	for b.Loop() {
		next, _ := m.Update(slash)
		_ = next.(Model).frame()
	}
}
