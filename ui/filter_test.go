package ui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nictab/nictab/netcfg"
)

// typed sends s to a model without a program, one key at a time.
func typed(m Model, s string) Model {
	for _, r := range s {
		next, _ := m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		m = next.(Model)
	}
	return m
}

func pressed(m Model, code rune) Model {
	next, _ := m.Update(tea.KeyPressMsg{Code: code})
	return next.(Model)
}

// TestFilterRules: on ten thousand rules, each letter narrows the pane to
// the rules holding every word typed, backspace widens it again, esc
// clears it and leaves the cursor on the rule it was on.
func TestFilterRules(t *testing.T) {
	m := pressed(pressed(loaded(manyRules(10000)), tea.KeyTab), tea.KeyTab)
	m = typed(m, "/10.0.3")
	if !m.typing() {
		t.Fatal("after / the keys do not go to the filter")
	}
	// 10.0.3.x and 10.0.30.x .. 10.0.39.x: 256 + 10*256 rules, all below 10k.
	if got := m.list.ruleCount(); got != 256+min(10000-30*256, 10*256) {
		t.Fatalf("/10.0.3 keeps %d rules", got)
	}
	m = typed(m, ".7 nictab")
	for i := range m.list.ruleCount() {
		r := m.list.ruleAt(i)
		text := RuleText(&r.Rule, r.TableName, &m.state.Names)
		if !strings.Contains(text, "10.0.3.7") || !r.Rule.Owned() {
			t.Fatalf("/10.0.3.7 nictab kept %q (owned %v)", text, r.Rule.Owned())
		}
	}
	want := 0
	for i := range m.show.Rules {
		r := &m.show.Rules[i]
		if r.Rule.Owned() && strings.Contains(RuleText(&r.Rule, r.TableName, &m.state.Names), "10.0.3.7") {
			want++
		}
	}
	if m.list.ruleCount() != want || want == 0 {
		t.Fatalf("/10.0.3.7 nictab keeps %d rules, %d match", m.list.ruleCount(), want)
	}
	frame := plain(m.frame())
	if !strings.Contains(frame, "/10.0.3.7 nictab_") || !strings.Contains(frame, fmt.Sprintf("%d of %d", want, len(m.show.Rules))) {
		t.Fatalf("the rules pane does not show the filter and its count:\n%s", frame)
	}
	if !strings.Contains(frame, "enter keep filter") || !strings.Contains(frame, "esc clear filter") {
		t.Fatalf("the footer does not say how to keep or clear the filter:\n%s", frame)
	}
	// Backspace over " nictab" widens to every rule of 10.0.3.7x.
	for range len(" nictab") {
		m = pressed(m, tea.KeyBackspace)
	}
	if m.nics.filter[paneRules].text != "10.0.3.7" || m.list.ruleCount() <= want {
		t.Fatalf("backspace left %q keeping %d rules", m.nics.filter[paneRules].text, m.list.ruleCount())
	}
	m = pressed(m, tea.KeyEnter)
	if m.typing() {
		t.Fatal("enter did not end typing the filter")
	}
	m = typed(m, "j")
	sel := m.list.ruleAt(m.nics.cursor[paneRules]).Priority
	if m.nics.cursor[paneRules] != 1 {
		t.Fatalf("j after enter moved the cursor to %d", m.nics.cursor[paneRules])
	}
	m = pressed(m, tea.KeyEscape)
	if m.nics.filter[paneRules].active() || m.list.ruleCount() != len(m.show.Rules) {
		t.Fatal("esc did not clear the filter")
	}
	if got := m.list.ruleAt(m.nics.cursor[paneRules]).Priority; got != sel {
		t.Fatalf("after esc the cursor is on rule %d, was on %d", got, sel)
	}
}

// TestFilterNICsThenAssign: the NICs pane filtered to one NIC assigns
// that NIC, not the one at the same row of the whole list.
func TestFilterNICsThenAssign(t *testing.T) {
	m := typed(loaded(sandboxState()), "/enp")
	if len(m.list.NICs) != 1 || m.list.NICs[0].Name != "enp2s0" {
		t.Fatalf("/enp keeps %v", m.list.NICs)
	}
	m = pressed(m, tea.KeyEnter)
	m = typed(m, "a")
	if m.screen != screenAssign || m.assign.link.Name != "enp2s0" {
		t.Fatalf("a on the filtered NICs opened %v for %q", m.screen, m.assign.link.Name)
	}
	m = typed(loaded(sandboxState()), "/nothing-like-it")
	m = pressed(m, tea.KeyEnter)
	m = typed(m, "a")
	if m.screen != screenNICs || !strings.Contains(m.flash, "no NIC matches") {
		t.Fatalf("a with no NIC kept: screen %v, message %q", m.screen, m.flash)
	}
}

// TestFilterLettersAreText: q and ? typed in a filter are letters, not
// quit and help.
func TestFilterLettersAreText(t *testing.T) {
	m := typed(loaded(sandboxState()), "/q?")
	if m.showHelp || m.nics.filter[paneNICs].text != "q?" {
		t.Fatalf("q? in the filter: help %v, filter %q", m.showHelp, m.nics.filter[paneNICs].text)
	}
	next, cmd := m.Update(tea.KeyPressMsg{Code: 'q', Text: "q"})
	if cmd != nil {
		if _, quit := cmd().(tea.QuitMsg); quit {
			t.Fatal("q in the filter quit")
		}
	}
	_ = next
}

// TestFilterSurvivesLiveUpdate: a state read while a filter is on is
// filtered by it too.
func TestFilterSurvivesLiveUpdate(t *testing.T) {
	m := typed(loaded(sandboxState()), "/eno")
	st := sandboxState()
	st.Links = st.Links[:2] // enp2s0 gone
	next, _ := m.Update(stateMsg{state: st})
	m = next.(Model)
	if len(m.list.NICs) != 1 || m.list.NICs[0].Name != "eno1" || m.nics.filter[paneNICs].text != "eno" {
		t.Fatalf("after a new state the filter keeps %v", m.list.NICs)
	}
}

// TestFilterAfterStateChangeNotCached: a text typed, erased, and typed
// again after a new state is looked for in the new state, not taken from
// what it kept in the old one.
func TestFilterAfterStateChangeNotCached(t *testing.T) {
	m := typed(loaded(sandboxState()), "/enp")
	for range 3 {
		m = pressed(m, tea.KeyBackspace)
	}
	st := sandboxState()
	st.Links = []netcfg.Link{st.Links[0], st.Links[2]} // eno1 gone: enp2s0 is now the first NIC
	next, _ := m.Update(stateMsg{state: st})
	m = typed(next.(Model), "enp")
	if len(m.list.NICs) != 1 || m.list.NICs[0].Name != "enp2s0" {
		t.Fatalf("/enp after the state changed keeps %v", m.list.NICs)
	}
}

// TestFilterFlows runs the filters in the program, as a person types
// them, and keeps each filtered screen as a golden at 80×24 and 120×40.
func TestFilterFlows(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		want  []string
		not   []string
	}{
		{"filter-nics", []step{wait("enp2s0"), keys("/eno"), wait("/eno_")}, []string{"eno1", "1 of 2"}, []string{"enp2s0"}},
		{"filter-tables", []step{wait("enp2s0"), press(tea.KeyTab), keys("/wg"), press(tea.KeyEnter), wait("1 of 4")}, []string{"100 wg", "/ filter"}, []string{"  253 default"}},
		{"filter-rules", []step{wait("enp2s0"), press(tea.KeyTab), press(tea.KeyTab), keys("/ipv6"), wait("/ipv6_")}, []string{"2 of 6", "enter keep filter"}, []string{"10.8.0.0/24"}},
		{"filter-snapshots", []step{wait("enp2s0"), keys("s"), wait("History"), keys("/first"), press(tea.KeyEnter), wait("1 of 3")}, []string{"261123-090000", "/ filter"}, []string{"261124-184000"}},
		{"filter-snapshots-none", []step{wait("enp2s0"), keys("s"), wait("History"), keys("/zzz"), wait("No snapshot matches")}, []string{"0 of 3"}, nil},
	}
	for _, c := range cases {
		for _, size := range [][2]int{{80, 24}, {120, 40}} {
			t.Run(fmt.Sprintf("%s/%dx%d", c.name, size[0], size[1]), func(t *testing.T) {
				m := finish(t, run(t, newFake(), size[0], size[1], false, c.steps...))
				view := m.frame()
				checkFrame(t, view, size[0], size[1])
				text := plain(view)
				for _, w := range c.want {
					if !strings.Contains(text, w) {
						t.Errorf("the screen does not show %q:\n%s", w, text)
					}
				}
				for _, w := range c.not {
					if strings.Contains(text, w) {
						t.Errorf("the filter left %q on screen:\n%s", w, text)
					}
				}
				golden.RequireEqual(t, []byte(view))
			})
		}
	}
}
