package main

import (
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCommandsAskTheTerminalNothing: `nictab version` and `nictab show`
// on a terminal send it no query (background colour, cursor position,
// device attributes), so a terminal that never answers cannot hold them.
// Bubble Tea v1's package init asked for the background colour.
func TestCommandsAskTheTerminalNothing(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"version"}, {"show"}} {
		master, slave := openPty(t, 80, 24)
		cmd := c.cmd(args...)
		cmd.Env = append(cmd.Env, "TERM=xterm-256color")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		slave.Close()
		var out bytes.Buffer
		buf := make([]byte, 64<<10)
		_ = master.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%v: %v\n%q", args, err, out.String())
		}
		for _, q := range []string{"\x1b]11;?", "\x1b]10;?", "\x1b[6n", "\x1b[c", "\x1b[>c", "\x1b[?u"} {
			if strings.Contains(out.String(), q) {
				t.Errorf("nictab %v asks the terminal %q:\n%q", args, q, out.String())
			}
		}
		if !strings.Contains(out.String(), map[bool]string{true: "eno1", false: "nictab"}[args[0] == "show"]) {
			t.Errorf("nictab %v printed nothing useful:\n%q", args, out.String())
		}
	}
}

// TestNoBubbleTeaV1: the binary links none of the v1 terminal modules
// whose package init waited on the terminal.
func TestNoBubbleTeaV1(t *testing.T) {
	out, err := exec.Command("go", "version", "-m", nictabBin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	for _, mod := range []string{"github.com/charmbracelet/bubbletea\t", "github.com/charmbracelet/lipgloss\t", "github.com/charmbracelet/bubbles\t", "github.com/muesli/termenv\t"} {
		if strings.Contains(string(out), "\tdep\t"+mod) {
			t.Errorf("the binary links %s", strings.TrimSpace(mod))
		}
	}
	for _, mod := range []string{"charm.land/bubbletea/v2\t", "charm.land/lipgloss/v2\t"} {
		if !strings.Contains(string(out), "\tdep\t"+mod) {
			t.Errorf("the binary does not link %s:\n%s", strings.TrimSpace(mod), out)
		}
	}
}
