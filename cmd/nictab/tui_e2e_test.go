package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxTUI is the real binary's terminal UI running in a tmux server of its
// own, driven by keystrokes and read back as the text on its screen, as a
// person over SSH would use it.
type tmuxTUI struct {
	t      *testing.T
	socket string
	errLog string
}

// startTUI runs `nictab [args] tui …` in a w×h tmux window against the
// test's namespace.
func startTUI(t *testing.T, c *cli, w, h int, env []string, tuiArgs ...string) *tmuxTUI {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the terminal UI tests need tmux (apt-get install tmux)")
		}
		t.Skip("tmux is not installed")
	}
	dir := t.TempDir()
	x := &tmuxTUI{t: t, socket: filepath.Join(dir, "tmux.sock"), errLog: filepath.Join(dir, "stderr")}
	args := append([]string{nictabBin, "--netns", c.ns.Name, "--state-dir", c.state, "tui"}, tuiArgs...)
	var line []string
	for _, e := range env {
		line = append(line, shellQuote(e))
	}
	for _, a := range args {
		line = append(line, shellQuote(a))
	}
	cmdline := "env " + strings.Join(line, " ") + " 2>" + shellQuote(x.errLog)
	// remain-on-exit keeps the pane after nictab quits, so its exit can be
	// seen; TERM is what tmux gives its panes.
	x.tmux("new-session", "-d", "-s", "nictab", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), cmdline)
	x.tmux("set-option", "-t", "nictab", "remain-on-exit", "on")
	t.Cleanup(func() {
		_ = exec.Command("tmux", "-S", x.socket, "kill-server").Run()
		if t.Failed() {
			if b, err := os.ReadFile(x.errLog); err == nil && len(b) > 0 {
				t.Logf("nictab's stderr:\n%s", b)
			}
		}
	})
	return x
}

// checkScreen holds what tmux shows to the size: exactly h lines, none
// wider than w, and the texts present.
func checkScreen(t *testing.T, s string, w, h int, texts ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != h {
		t.Errorf("capture-pane has %d lines at %dx%d:\n%s", len(lines), w, h, s)
	}
	for i, l := range lines {
		if n := len([]rune(l)); n > w {
			t.Errorf("line %d is %d wide at %dx%d: %q", i+1, n, w, h, l)
		}
	}
	for _, x := range texts {
		if !strings.Contains(s, x) {
			t.Errorf("the screen at %dx%d lacks %q:\n%s", w, h, x, s)
		}
	}
}

// screenLine is the first line of s that holds sub.
func screenLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (x *tmuxTUI) tmux(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", x.socket}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

func (x *tmuxTUI) screen() string {
	x.t.Helper()
	return x.tmux("capture-pane", "-p", "-t", "nictab")
}

// press sends keys one at a time, with a pause between them: an escape
// followed at once by a letter would read as alt+letter.
func (x *tmuxTUI) press(keys ...string) {
	x.t.Helper()
	for _, k := range keys {
		x.tmux("send-keys", "-t", "nictab", k)
		time.Sleep(30 * time.Millisecond)
	}
}

// typeText types literal text.
func (x *tmuxTUI) typeText(s string) {
	x.t.Helper()
	x.tmux("send-keys", "-t", "nictab", "-l", s)
	time.Sleep(30 * time.Millisecond)
}

// waitScreen waits until the screen shows every text.
func (x *tmuxTUI) waitScreen(timeout time.Duration, texts ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := x.screen()
		missing := ""
		for _, t := range texts {
			if !strings.Contains(s, t) {
				missing = t
				break
			}
		}
		if missing == "" {
			return s
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("the screen does not show %q after %v:\n%s", missing, timeout, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exited reports whether nictab has quit, and its exit status.
func (x *tmuxTUI) exited() (bool, string) {
	out := strings.Fields(x.tmux("list-panes", "-t", "nictab", "-F", "#{pane_dead} #{pane_dead_status}"))
	if len(out) == 0 || out[0] != "1" {
		return false, ""
	}
	if len(out) < 2 {
		// tmux leaves the status empty for an exit with 0.
		return true, "0"
	}
	return true, out[1]
}

// assignEno1 types what a person types to send eno1 to a new table 13
// named vpn, and applies it: up to the confirm dialog.
func assignEno1(x *tmuxTUI) {
	x.t.Helper()
	x.waitScreen(5*time.Second, "eno1", "enp2s0", "Tables", "Rules")
	x.press("a")
	x.waitScreen(3*time.Second, "assign eno1", "new table")
	x.typeText("13")
	x.press("Tab")
	x.typeText("vpn")
	x.waitScreen(3*time.Second, "13 vpn (new)")
	x.press("Enter")
	x.waitScreen(3*time.Second, "1 unapplied edit", "main → 13 vpn")
	x.press("p")
	s := x.waitScreen(5*time.Second, "+7 to add", "table 13 vpn")
	for _, want := range []string{"+ rule  1000: from 192.168.10.2 lookup 13 vpn", "+ route default via 192.168.10.1 dev eno1"} {
		if !strings.Contains(s, want) {
			x.t.Fatalf("the preview does not show %q:\n%s", want, s)
		}
	}
	x.press("a")
	x.waitScreen(10*time.Second, "Keep these changes? Reverting in", "applied to")
}

// TestTUIAssignApplyConfirm is issue 5's path through the real binary:
// eno1 to a new table 13 named vpn by keystrokes at 60×20, 80×24 and
// 120×40, previewed, applied, confirmed, and then in the kernel.
func TestTUIAssignApplyConfirm(t *testing.T) {
	for _, size := range [][2]int{{60, 20}, {80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) { assignApplyConfirm(t, size[0], size[1]) })
	}
}

func assignApplyConfirm(t *testing.T, w, h int) {
	c := newCLI(t)
	x := startTUI(t, c, w, h, []string{"TERM=xterm-256color"})
	assignEno1(x)
	checkScreen(t, x.screen(), w, h, "Keep these changes? Reverting in", "y keep", "n or esc revert now")
	x.press("y")
	checkScreen(t, x.waitScreen(10*time.Second, "Kept", "Saved as snapshot"), w, h)

	rules := c.ns.IP("rule", "show")
	mustContain(t, "ip rule", rules, "1000:\tfrom 192.168.10.2 lookup vpn proto nictab")
	mustContain(t, "ip -6 rule", c.ns.IP("-6", "rule", "show"), "1000:\tfrom 2001:db8:10::2 lookup vpn proto nictab")
	mustContain(t, "ip route show table 13", c.ns.IP("route", "show", "table", "13"),
		"default via 192.168.10.1 dev eno1 proto nictab",
		"192.168.10.0/24 dev eno1 proto nictab scope link src 192.168.10.2")
	// The change stays after the confirm window would have closed.
	time.Sleep(time.Second)
	if r := c.run("snapshot", "list"); r.code != 0 || !strings.Contains(r.stdout, "eno1→13 vpn") {
		t.Fatalf("snapshot list after the change was kept:\n%s", r)
	}

	x.press("Escape")
	s := x.waitScreen(5*time.Second, "13 vpn (nictab)")
	// The NIC and its table stay on one line at every size.
	checkScreen(t, s, w, h, "eno1", "enp2s0", "TABLE")
	if l := screenLine(s, "eno1 "); !strings.Contains(l, "13 vpn (nictab)") {
		t.Errorf("at %dx%d eno1's line lacks its table: %q\n%s", w, h, l, s)
	}
	if l := screenLine(s, "enp2s0"); !strings.Contains(l, "main") {
		t.Errorf("at %dx%d enp2s0's line lacks its table: %q\n%s", w, h, l, s)
	}
	x.press("?")
	s = x.waitScreen(3*time.Second, "Keys on this screen")
	checkScreen(t, s, w, h, "assign", "close")
	t.Logf("capture-pane at %dx%d, help open:\n%s", w, h, s)
	x.press("x")
	x.waitScreen(3*time.Second, "TABLE")
	x.press("q")
	waitFor(t, 5*time.Second, "nictab to quit", func() bool { ok, _ := x.exited(); return ok })
	if _, status := x.exited(); status != "0" {
		t.Fatalf("nictab exited with %s", status)
	}
}

// TestTUIUnconfirmedChangeReverts: the confirm window closes without an
// answer and the change is undone.
func TestTUIUnconfirmedChangeReverts(t *testing.T) {
	c := newCLI(t)
	before := c.routing()
	x := startTUI(t, c, 80, 24, []string{"NO_COLOR=1", "TERM=xterm-256color"}, "--confirm", "3s")
	assignEno1(x)
	mustContain(t, "ip rule during the confirm window", c.ns.IP("rule", "show"), "lookup vpn")
	x.waitScreen(10*time.Second, "Reverted", "It was not confirmed in time")
	if after := c.routing(); after != before {
		t.Fatalf("after the revert the namespace is not as before:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if r := c.run("snapshot", "list"); strings.Contains(r.stdout, "eno1→13") {
		t.Fatalf("a reverted change left a snapshot:\n%s", r)
	}
}

// TestTUISessionCutReverts: the terminal goes away with the confirm
// dialog open; the change is reverted all the same.
func TestTUISessionCutReverts(t *testing.T) {
	c := newCLI(t)
	before := c.routing()
	x := startTUI(t, c, 80, 24, []string{"TERM=linux"}, "--confirm", "3s")
	assignEno1(x)
	// Killing the tmux server hangs up nictab's terminal, as a dropped
	// SSH connection does.
	x.tmux("kill-server")
	waitFor(t, 15*time.Second, "the change to be reverted", func() bool { return c.routing() == before })
}

// TestTUINoTerminalPrintsShow: without a terminal the TUI command prints
// what show prints.
func TestTUINoTerminalPrintsShow(t *testing.T) {
	c := newCLI(t)
	r := c.run("tui")
	if r.code != 0 || !strings.Contains(r.stdout, "eno1") || !strings.Contains(r.stdout, "Tables") {
		t.Fatalf("tui without a terminal:\n%s", r)
	}
}

// TestTUILive: what others change shows within a second, a plan on screen
// that they made stale says so, and a resize redraws at the new size.
func TestTUILive(t *testing.T) {
	c := newCLI(t)
	x := startTUI(t, c, 80, 24, nil)
	x.waitScreen(5*time.Second, "enp2s0", "Rules")
	c.ns.IP("link", "set", "enp2s0", "down")
	x.waitScreen(time.Second, "enp2s0    down")
	c.ns.IP("rule", "add", "from", "10.9.0.0/24", "lookup", "77", "pref", "900")
	x.waitScreen(time.Second, "1 rule not nictab's")

	x.press("a")
	x.waitScreen(3*time.Second, "new table")
	x.typeText("13")
	x.press("Tab")
	x.typeText("vpn")
	x.press("Enter")
	x.press("p")
	x.waitScreen(5*time.Second, "+7 to add")
	c.ns.IP("addr", "add", "192.168.10.9/24", "dev", "eno1")
	x.waitScreen(2*time.Second, "STALE")
	x.press("a")
	x.waitScreen(time.Second, "this plan is stale")
	if strings.Contains(c.ns.IP("rule", "show"), "lookup 13") {
		t.Fatal("a stale plan was applied")
	}
	x.press("r")
	x.waitScreen(5*time.Second, "+8 to add")

	x.tmux("resize-window", "-t", "nictab", "-x", "120", "-y", "40")
	waitFor(t, 2*time.Second, "a redraw at 120x40", func() bool {
		lines := strings.Split(strings.TrimRight(x.screen(), "\n"), "\n")
		// The title bar spans the width and the help line is the last.
		return len(lines) == 40 && strings.HasSuffix(strings.TrimRight(lines[0], " "), "live") &&
			len([]rune(strings.TrimRight(lines[0], " "))) > 100 && strings.Contains(lines[39], "apply")
	})
}
