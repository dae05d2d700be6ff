package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nictab/nictab/netcfg"
)

// assignEno1 sends eno1 to a new table 13 named vpn, as a person types it.
var assignEno1 = []step{wait("enp2s0"), keys("a"), wait("new table"), keys("13"), press(tea.KeyTab), keys("vpn"), wait("(new)"), press(tea.KeyEnter), wait("unapplied edit")}

func with(steps ...[]step) []step {
	var out []step
	for _, s := range steps {
		out = append(out, s...)
	}
	return out
}

var previewEno1 = with(assignEno1, []step{keys("p"), wait("to add")})

// screenCases reach every screen of the UI, each in a state worth seeing.
func screenCases() []struct {
	name  string
	setup func(f *fakeBackend)
	steps []step
} {
	type c = struct {
		name  string
		setup func(f *fakeBackend)
		steps []step
	}
	none := func(*fakeBackend) {}
	return []c{
		{"nics", none, []step{wait("enp2s0")}},
		{"nics-rules-pane", none, []step{wait("enp2s0"), press(tea.KeyTab), press(tea.KeyTab), keys("j"), wait("[Rules]")}},
		{"nics-edited", none, assignEno1},
		{"nics-read-only", func(f *fakeBackend) {
			f.caps.ReadOnly, f.caps.Reason = true, "no CAP_NET_ADMIN: nictab can look, not change (run it with sudo)"
		}, []step{wait("enp2s0"), keys("a"), wait("nothing changed")}},
		{"assign", none, with(assignEno1[:7])},
		{"assign-reserved-id", none, []step{wait("enp2s0"), keys("a"), wait("new table"), keys("254"), wait("reserved")}},
		{"assign-name-in-use", none, []step{wait("enp2s0"), keys("a"), wait("new table"), keys("13"), press(tea.KeyTab), keys("wg"), wait("already names")}},
		{"assign-known-table", func(f *fakeBackend) {
			f.base = netcfg.Intent{Tables: []netcfg.TableDef{{ID: 14, Name: "lan"}}}
		}, []step{wait("enp2s0"), keys("j"), keys("a"), wait("new table"), keys("kk"), wait("14 lan.")}},
		{"preview", none, previewEno1},
		{"preview-ssh-moved", func(f *fakeBackend) {
			f.ssh = &SSHCheck{Client: "203.0.113.5", Changed: true,
				Before:  "through enp2s0 via 192.168.20.1 from 192.168.10.2",
				After:   "through eno1 via 192.168.10.1 from 192.168.10.2",
				Culprit: "rule 1000: from 192.168.10.2 lookup 13 now matches and sends them to table 13 (default via 192.168.10.1 dev eno1 table 13)"}
		}, with(assignEno1, []step{keys("p"), wait("MOVES YOUR SSH SESSION")})},
		{"preview-ssh-safe", func(f *fakeBackend) {
			f.ssh = &SSHCheck{Client: "192.168.20.50", Before: "through enp2s0 from 192.168.20.2", After: "through enp2s0 from 192.168.20.2"}
		}, with(assignEno1, []step{keys("p"), wait("SSH ok")})},
		{"preview-commands", none, with(previewEno1, []step{keys("c"), wait("ip -n test rule add")})},
		{"preview-snapshot", none, with(previewEno1, []step{keys("s"), wait("Saved when")})},
		{"preview-cannot-plan", none, with(assignEno1, []step{
			keys("j"), keys("a"), wait("new table"), keys("kk"), press(tea.KeyEnter), wait("2 unapplied edits"), keys("p"), wait("cannot be planned"),
		})},
		{"preview-stale", nil, nil},
		{"confirm", none, with(previewEno1, []step{keys("a"), wait("applied to")})},
		{"confirm-ssh-code", func(f *fakeBackend) { f.caps.SSHClient = "203.0.113.5" }, with(previewEno1, []step{keys("a"), wait("to keep"), keys("K7"), wait("[K7__]")})},
		{"kept", none, with(previewEno1, []step{keys("a"), wait("applied to"), keys("y"), wait("Kept")})},
		{"reverted", none, with(previewEno1, []step{keys("a"), wait("applied to"), keys("n"), wait("Reverted")})},
		{"failed", func(f *fakeBackend) {
			f.applyErr = &netcfg.ApplyError{Step: 3, Total: 6, Err: errors.New("ip route add default via 192.168.10.1 dev eno1 table 13: Nexthop has invalid gateway")}
		}, with(previewEno1, []step{keys("a"), wait("Failed at step")})},
		{"snapshots", none, []step{wait("enp2s0"), keys("s"), wait("History")}},
		{"snapshots-damaged", none, []step{wait("enp2s0"), keys("s"), wait("History"), keys("j"), wait("damaged")}},
		{"snapshot-file", none, []step{wait("enp2s0"), keys("s"), wait("History"), press(tea.KeyEnter), wait("snapshot file"), wait("version: 1")}},
		{"snapshot-diff", none, []step{wait("enp2s0"), keys("s"), wait("History"), keys("d"), wait("From the snapshot")}},
		{"export", none, []step{wait("enp2s0"), keys("s"), wait("History"), keys("e"), wait("routeTables")}},
		{"export-write", none, []step{wait("enp2s0"), keys("s"), wait("History"), keys("e"), wait("routeTables"), keys("w"), wait("write to")}},
		{"help", none, []step{wait("enp2s0"), keys("?"), wait("Keys on this screen")}},
		{"quit-question", none, with(assignEno1, []step{keys("q"), wait("Quit and drop")})},
		{"rule-form", none, newFwmarkRule},
		{"rule-form-wrong", none, with(toRules, []step{keys("n"), wait("New rule"), keys("10.0.0.1/8"), press(tea.KeyTab), keys("2001:db8::/32"),
			press(tea.KeyEnter), wait("Fix the fields")})},
		{"rule-form-selectors", none, with(toRules, []step{keys("n"), wait("New rule"), keys("10.8.0.0/24"), press(tea.KeyUp), keys("1100"), tabKeys(6), keys("13"),
			tabKeys(7), keys("yes"), tabKeys(1), keys("0x11"), tabKeys(1), keys("8/0x38"), tabKeys(2), keys("42"), wait("tos and dscp")})},
		{"rules-pane-new-rule", none, with(newFwmarkRule, []step{press(tea.KeyEnter), wait("→new")})},
		{"rules-pane-edited", none, with(toRules, []step{keys("jA"), wait("→adopt")})},
		{"routes", managedSetup, with(toTables, []step{press(tea.KeyEnter), wait("Routes of table 13 vpn")})},
		{"routes-filter", managedSetup, with(toTables, []step{press(tea.KeyEnter), wait("Routes of table 13 vpn"), keys("/2001"), wait("2 of 5")})},
		{"route-form", managedSetup, with(toTables, []step{press(tea.KeyEnter), wait("Routes of table 13 vpn"), keys("n"), wait("New route"),
			keys("10.40.0.0/16"), press(tea.KeyTab), keys("192.168.10.1"), press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab), keys("70"), wait("adds the route")})},
		{"routes-new-route", managedSetup, with(toTables, []step{press(tea.KeyEnter), wait("Routes of table 13 vpn"), keys("n"), wait("New route"),
			keys("10.40.0.0/16"), press(tea.KeyTab), keys("192.168.10.1"), press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyTab), keys("70"), press(tea.KeyEnter), wait("+1 new")})},
		{"routes-help", managedSetup, with(toTables, []step{press(tea.KeyEnter), wait("Routes of table 13 vpn"), keys("?"), wait("Keys on this screen")})},
		{"table-form", managedSetup, with(toTables, []step{keys("n"), wait("New table"), keys("13"), wait("in use")})},
		{"preview-table-delete", managedSetup, with(toTables, []step{keys("d"), wait("goes when applied"), keys("p"), wait("to delete")})},
		{"preview-adopt", none, with(toRules, []step{keys("jA"), wait("→adopt"), keys("p"), wait("adoption moves no")})},
	}
}

// TestScreens renders every screen at 60×20, 80×24 and 120×40, with and without
// colour, against golden files (refresh with go test ./ui -update).
func TestScreens(t *testing.T) {
	fixedCode(t, "K7XA")
	for _, sc := range screenCases() {
		for _, size := range [][2]int{{60, 20}, {80, 24}, {120, 40}} {
			for _, color := range []bool{false, true} {
				mode := "nocolor"
				if color {
					mode = "color"
				}
				t.Run(fmt.Sprintf("%s/%dx%d/%s", sc.name, size[0], size[1], mode), func(t *testing.T) {
					f := newFake()
					steps := sc.steps
					if sc.name == "preview-stale" {
						steps = with(previewEno1, []step{do(func() {
							f.change(func(s *netcfg.State) {
								s.Links[1].Addrs = append(s.Links[1].Addrs, netcfg.Addr{Prefix: pfx("192.168.10.3/24")})
							})
						}), wait("STALE")})
					} else {
						sc.setup(f)
					}
					m := finish(t, run(t, f, size[0], size[1], color, steps...))
					view := m.frame()
					checkFrame(t, view, size[0], size[1])
					golden.RequireEqual(t, []byte(view))
				})
			}
		}
	}
}

// checkFrame holds every frame to what a terminal needs: exactly height
// lines, none wider than the terminal (a wider one wraps and shifts the
// whole screen), and no escape sequence but SGR (colours and attributes).
func checkFrame(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("frame has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide, terminal is %d: %q", i+1, n, w, plain(l))
		}
	}
	for i := 0; i < len(view); i++ {
		if view[i] != 0x1b {
			continue
		}
		j := i + 1
		if j >= len(view) || view[j] != '[' {
			t.Fatalf("escape at %d is not a CSI sequence: %q", i, view[i:min(i+10, len(view))])
		}
		for j++; j < len(view) && (view[j] < 0x40 || view[j] > 0x7e); j++ {
		}
		if j >= len(view) || view[j] != 'm' {
			t.Fatalf("escape sequence at %d is not SGR: %q", i, view[i:min(j+1, len(view))])
		}
		i = j
	}
}
