package ui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// lineWith is the frame's line that holds s, in plain text.
func lineWith(frame, s string) string {
	for _, l := range strings.Split(plain(frame), "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// TestSmallTerminalKeepsNICAndTable: at 60 columns a NIC's line still
// shows its name and the table its traffic goes to, edit included, and an
// unapplied gateway shows beside it.
func TestSmallTerminalKeepsNICAndTable(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 60, 20, false, wait("enp2s0"), keys("a"), wait("new table"), keys("13"), press(tea.KeyTab), keys("vpn"),
		press(tea.KeyTab), ctrl('u'), keys("192.168.10.254"), press(tea.KeyEnter), wait("unapplied edit")))
	v := m.frame()
	checkFrame(t, v, 60, 20)
	if l := lineWith(v, "> eno1"); !strings.Contains(l, "main → 13 vpn") {
		t.Errorf("eno1's line lacks its table edit: %q\n%s", l, plain(v))
	}
	if l := lineWith(v, "enp2s0"); !strings.HasSuffix(strings.TrimSpace(l), "main") {
		t.Errorf("enp2s0's line lacks its table: %q", l)
	}
	m = finish(t, run(t, f, 120, 40, false, wait("enp2s0"), keys("a"), wait("new table"), keys("13"), press(tea.KeyTab), keys("vpn"),
		press(tea.KeyTab), ctrl('u'), keys("192.168.10.254"), press(tea.KeyEnter), wait("unapplied edit")))
	if l := lineWith(m.frame(), "> eno1"); !strings.Contains(l, "→ 192.168.10.254") {
		t.Errorf("the pending gateway is not shown: %q", l)
	}
}

// TestFitNICColumns: what goes first as the terminal narrows.
func TestFitNICColumns(t *testing.T) {
	for _, c := range []struct {
		width int
		want  [colCount]int
	}{
		{120, [colCount]int{8, 5, 6, 19, 15}},
		{74, [colCount]int{8, 5, 0, 19, 15}},
		{62, [colCount]int{8, 0, 0, 18, 15}},
		{60, [colCount]int{8, 0, 0, 16, 15}},
		{57, [colCount]int{8, 0, 0, 19, 0}},
		{40, [colCount]int{8, 0, 0, 15, 0}},
	} {
		if got := fitNICColumns(c.width, 8, 5, 6, 19, 15, 13).w; got != c.want {
			t.Errorf("width %d: columns %v, want %v", c.width, got, c.want)
		}
	}
}

// TestHelpScrollsWhenTall: at 60x20 the help lists one key a line and
// scrolls; a key other than the scroll keys closes it.
func TestHelpScrollsWhenTall(t *testing.T) {
	f := newFake()
	tm := run(t, f, 60, 20, false, wait("enp2s0"), keys("?"), wait("keys 1-11 of 18"), keys("jj"), wait("keys 3-13 of 18"), press(tea.KeyPgDown), wait("keys 8-18 of 18"))
	if s := plain(probe(t, tm)); !strings.Contains(s, "quit") || strings.Contains(s, "↑/k") {
		t.Errorf("scrolled to the end, the help shows:\n%s", s)
	}
	m := finish(t, run(t, f, 120, 40, false, wait("enp2s0"), keys("?"), wait("Keys on this screen")))
	if strings.Contains(plain(m.frame()), "scroll") {
		t.Errorf("the help fits at 120x40 but says it scrolls")
	}
}

// TestMessagesWrap: a long message wraps instead of being cut.
func TestMessagesWrap(t *testing.T) {
	f := newFake()
	f.writeErr = errFake("write /tmp/nictab-export/some/deep/directory/nictab-261124-184000.nix: open /tmp/nictab-export/some/deep/directory/.tmp-1: permission denied")
	m := finish(t, run(t, f, 60, 20, false, wait("enp2s0"), keys("s"), wait("History"), keys("e"), wait("routeTables"), keys("w"), wait("write to"),
		press(tea.KeyEnter), wait("permission")))
	v := plain(m.frame())
	checkFrame(t, m.frame(), 60, 20)
	if !strings.Contains(strings.ReplaceAll(v, "\n", ""), "permission denied") || strings.Count(v, "/tmp/nictab-export/some/deep/directory/nictab-") != 1 {
		t.Fatalf("the error is cut or doubled:\n%s", v)
	}
}

// TestExpandHome: ~ in the export's file name is the home directory.
func TestExpandHome(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip(err)
	}
	for in, want := range map[string]string{
		"~/nixos/nictab.nix": filepath.Join(home, "nixos/nictab.nix"),
		"~":                  home,
		"/etc/nixos/x.nix":   "/etc/nixos/x.nix",
		"x~/y":               "x~/y",
	} {
		if got, err := expandHome(in); err != nil || got != want {
			t.Errorf("expandHome(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	f := newFake()
	finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("s"), wait("History"), keys("e"), wait("routeTables"), keys("w"), wait("write to"),
		ctrl('u'), keys("~/nictab-test.nix"), press(tea.KeyEnter), wait("wrote")))
	if _, ok := f.written[filepath.Join(home, "nictab-test.nix")]; !ok {
		t.Fatalf("written %v, want the file in %s", f.written, home)
	}
}

// TestExportDefaultFlavour: the export opens in the flavour the backend
// picks, as `nictab export nix` does, not always networkd.
func TestExportDefaultFlavour(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("s"), wait("History"), keys("e"), wait("routeTables")))
	if m.export.flavor != "scripted" || !strings.Contains(plain(m.frame()), "[scripted]") {
		t.Fatalf("flavour %q:\n%s", m.export.flavor, plain(m.frame()))
	}
	m = finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("s"), wait("History"), keys("e"), wait("routeTables"), keys("f"), wait("flavour networkd")))
	if m.export.flavor != "networkd" {
		t.Fatalf("f switched to %q", m.export.flavor)
	}
}

// TestSnapshotToSnapshotDiff: m marks a snapshot; d on another diffs from
// the marked one to it, not with live.
func TestSnapshotToSnapshotDiff(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("s"), wait("History"), keys("G"), keys("m"), wait("marked 261123-090000"),
		keys("g"), keys("d"), wait("diff from 261123-090000"), wait("lookup 14")))
	if !slices.Contains(f.diffs, [2]string{"261123-090000", "261124-184000"}) {
		t.Fatalf("diffs asked: %v", f.diffs)
	}
	if !strings.Contains(plain(m.frame()), "From 261123-090000 to 261124-184000") {
		t.Fatalf("the diff does not say what it compares:\n%s", plain(m.frame()))
	}
}

// probe is the frame on screen now.
func probe(t *testing.T, tm interface{ Send(tea.Msg) }) string {
	t.Helper()
	p := make(probeMsg, 1)
	tm.Send(p)
	return <-p
}

type errFake string

func (e errFake) Error() string { return string(e) }
