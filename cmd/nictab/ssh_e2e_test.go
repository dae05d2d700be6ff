package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The snapshot files of the SSH session test. labDanger sends the
// server's replies to the client (from 192.168.20.2) into table 13, out
// of vpn0, whose far side has no route back: it cuts the session.
// labSafe gives lan0 a table of its own with the same gateway: the replies
// leave as before. labEmpty takes nictab's rules away again.
const (
	labDanger = `version: 1
tables: [{id: 13, name: vpn}]
nics:
  - {name: vpn0, table: 13}
rules:
  - {priority: 900, from: 192.168.20.2, table: 13}
`
	labSafe = `version: 1
tables: [{id: 14, name: lan}]
nics:
  - {name: lan0, table: 14}
`
	labEmpty = "version: 1\n"
)

func (l *sshLab) file(name, content string) string {
	l.t.Helper()
	p := filepath.Join(l.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		l.t.Fatal(err)
	}
	return p
}

// TestSSHSessionSudoCLI is issue 13's point 5 through the CLI: a real
// `ssh -t` login, nictab run through sudo (Debian's env_reset drops
// $SSH_CONNECTION), a change that cuts the session flagged, typed-ahead
// and blind keys that keep nothing, a window that runs out and reverts,
// a safe change kept by its code, one kept by `nictab confirm` from a
// second login. Every outcome is read back from the kernel.
func TestSSHSessionSudoCLI(t *testing.T) {
	l := newSSHLab(t)
	danger, safe, empty := l.file("danger.yaml", labDanger), l.file("safe.yaml", labSafe), l.file("empty.yaml", labEmpty)
	x := l.session()
	before := l.rules()

	// plan through sudo: the guard finds the session through sshd.
	l.remote(x, "plan", l.nictab("plan", "-f", danger))
	if code := l.exitStatus("plan", 20*time.Second); code != 0 {
		t.Fatalf("plan exited %d", code)
	}
	h := x.waitHistory(5*time.Second, "plan-START", "DANGER")
	mustContain(t, "plan through sudo", h, "SSH session found through process", "(sshd): "+labClient+":", "→ "+labServer+":22", "rule 900: from 192.168.20.2 lookup 13")
	if strings.Contains(h, "SSH ok") {
		t.Errorf("the dangerous plan says SSH ok:\n%s", h)
	}

	// Typed ahead: the y that answers "Apply?" and a second y Enter sent
	// with it, before the code exists. The second is thrown away, nothing
	// is typed after, and the window runs out.
	l.remote(x, "ahead", l.nictab("apply", "-f", danger, "--confirm", "3s"))
	x.waitHistory(10*time.Second, "ahead-START", "Apply these changes")
	x.tmux("send-keys", "-t", "nictab", "y", "Enter", "y", "Enter")
	deadline := l.deadline(10 * time.Second)
	if r := l.rules(); r == before || !strings.Contains(l.srv.IP("rule", "show"), "900:\tfrom 192.168.20.2 lookup vpn") {
		t.Fatalf("the dangerous change is not live:\n%s", r)
	}
	waitFor(t, 10*time.Second, "the revert at the deadline", func() bool { return l.rules() == before })
	late := time.Since(deadline)
	t.Logf("window ran out: the kernel's rules were back %v after the deadline", late.Round(time.Millisecond))
	if late < -100*time.Millisecond {
		t.Errorf("reverted %v before the deadline: the typed-ahead y was not thrown away", -late)
	}
	if code := l.exitStatus("ahead", 10*time.Second); code != exitReverted {
		t.Errorf("apply whose window ran out exited %d, want %d", code, exitReverted)
	}
	// The same session works again, and so does a new login.
	h = x.waitHistory(20*time.Second, "ahead-START", "Type ", "reverted (")
	if strings.Contains(h, "Kept") || strings.Contains(h, "Not the code") {
		t.Errorf("the typed-ahead y decided the change:\n%s", h)
	}
	if r := l.login("echo", "reconnected"); r.code != 0 || !strings.Contains(r.stdout, "reconnected") {
		t.Fatalf("a new login after the revert: %s", r)
	}

	// Blind: y Enter typed 1.5 s into the window, the session cut, the
	// code never seen. It is not the code: reverted now.
	l.remote(x, "blind", l.nictab("apply", "-f", danger, "--confirm", "30s"))
	x.waitHistory(10*time.Second, "blind-START", "Apply these changes")
	x.tmux("send-keys", "-t", "nictab", "y", "Enter")
	deadline = l.deadline(10 * time.Second)
	time.Sleep(1500 * time.Millisecond)
	if l.rules() == before {
		t.Fatal("the dangerous change is not live")
	}
	typed := time.Now()
	x.tmux("send-keys", "-t", "nictab", "y", "Enter")
	waitFor(t, 15*time.Second, "the revert after a blind y", func() bool { return l.rules() == before })
	t.Logf("blind y: the kernel's rules were back %v after it was typed, %v before the deadline", time.Since(typed).Round(time.Millisecond), time.Until(deadline).Round(time.Second))
	if time.Now().After(deadline) {
		t.Error("the blind y did not revert: the window ran out")
	}
	if code := l.exitStatus("blind", 10*time.Second); code != exitReverted {
		t.Errorf("apply with a blind y exited %d, want %d", code, exitReverted)
	}
	x.waitHistory(20*time.Second, "blind-START", `Not the code ("y" typed at the keep prompt`, "reverted (")

	// Ctrl-C and Ctrl-D (end of input) at the code prompt revert now.
	for _, k := range []struct{ id, key, says string }{{"ctrlc", "C-c", "Interrupted: reverting the change now."}, {"ctrld", "C-d", "Not the code (end of input (Ctrl-D)"}} {
		l.remote(x, k.id, l.nictab("apply", "-f", safe, "--yes", "--confirm", "30s"))
		x.waitHistory(10*time.Second, k.id+"-START", "to keep: ")
		if l.rules() == before {
			t.Fatalf("%s: the change is not live", k.id)
		}
		x.tmux("send-keys", "-t", "nictab", k.key)
		if code := l.exitStatus(k.id, 10*time.Second); code != exitReverted {
			t.Errorf("%s at the code prompt: exit %d, want %d", k.key, code, exitReverted)
		}
		x.waitHistory(5*time.Second, k.id+"-START", k.says, "reverted (")
		if r := l.rules(); r != before {
			t.Errorf("%s at the code prompt left rules:\n%s", k.key, r)
		}
	}

	// Safe, kept by typing the code it shows.
	l.remote(x, "code", l.nictab("apply", "-f", safe, "--confirm", "4s"))
	x.waitHistory(10*time.Second, "code-START", "SSH ok", "Apply these changes")
	x.tmux("send-keys", "-t", "nictab", "y", "Enter")
	h = x.waitHistory(10*time.Second, "code-START", "to keep: ")
	m := keepCodeShown.FindAllStringSubmatch(h, -1)
	if m == nil {
		t.Fatalf("no code shown:\n%s", h)
	}
	deadline = l.deadline(time.Second)
	x.typeText(strings.ToLower(m[len(m)-1][1]))
	if code := l.exitStatus("code", 10*time.Second); code != 0 {
		t.Fatalf("apply kept by its code exited %d", code)
	}
	x.waitHistory(5*time.Second, "code-START", "Kept. Snapshot")
	time.Sleep(time.Until(deadline) + 500*time.Millisecond)
	mustContain(t, "ip rule after the deadline of a kept change", l.srv.IP("rule", "show"), "from 192.168.20.2 lookup lan proto nictab")

	// Kept by `nictab confirm` from a second login.
	l.remote(x, "confirm", l.nictab("apply", "-f", empty, "--yes", "--confirm", "20s"))
	x.waitHistory(10*time.Second, "confirm-START", "to keep: ")
	if r := l.login(l.nictabArgs("confirm")...); r.code != 0 {
		t.Fatalf("nictab confirm from a second login: %s", r)
	}
	if code := l.exitStatus("confirm", 10*time.Second); code != 0 {
		t.Fatalf("apply kept from a second login exited %d", code)
	}
	x.waitHistory(5*time.Second, "confirm-START", "Kept (confirmed)")
	if r := l.rules(); r != before {
		t.Errorf("the kept empty intent left rules:\n%s\nbefore:\n%s", r, before)
	}
}

// TestSSHSessionSudoTUI is the same for the terminal UI run through sudo
// in the SSH session: a safe change kept by the code its dialog shows once
// the change is live; then a change that cuts the session, flagged in the
// preview naming the rule, where a blind y reverts now, and where typing
// nothing lets the window run out. The kernel is read back each time.
func TestSSHSessionSudoTUI(t *testing.T) {
	l := newSSHLab(t)
	// Table 14 with no route yet, and a rule that sends the server's
	// replies to it: harmless until a NIC's routes fill the table.
	pre := l.file("pre.yaml", "version: 1\ntables: [{id: 14, name: spare}]\nrules:\n  - {priority: 900, from: 192.168.20.2, table: 14}\n")
	if r := runCmd(t, exec.Command(nictabBin, "--netns", l.srv.Name, "--state-dir", l.state, "apply", "-f", pre, "--yes", "--confirm", "0")); r.code != 0 {
		t.Fatalf("setting up table 14: %s", r)
	}
	x := l.session()
	l.remote(x, "tui", l.nictab("tui", "--confirm", "5s"))
	x.waitScreen(15*time.Second, "vpn0", "lan0")

	// cut applies the edits on screen that cut the session: the dialog is
	// on screen before the change goes out; after it, nothing arrives.
	cut := func(preview ...string) {
		x.press("p")
		x.waitScreen(10*time.Second, preview...)
		prior := l.rules()
		x.press("a")
		x.waitScreen(10*time.Second, "Keep these changes? Reverting in")
		waitFor(t, 10*time.Second, "the change to be live", func() bool { return l.rules() != prior })
	}
	// apply applies the edits on screen and returns the code the dialog
	// shows.
	apply := func(preview ...string) string {
		x.press("p")
		x.waitScreen(10*time.Second, preview...)
		x.press("a")
		s := x.waitScreen(10*time.Second, "applied to", "to keep")
		m := keepCodeShown.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("no code in the dialog:\n%s", s)
		}
		if strings.Contains(s, "y keep") {
			t.Errorf("over SSH the dialog offers y:\n%s", s)
		}
		checkScreen(t, s, 80, 24)
		return m[1]
	}

	// Safe: lan0 to a new table 15, kept by its code.
	before := l.rules()
	x.press("j", "a") // vpn0 is the first NIC, lan0 the second
	x.waitScreen(3*time.Second, "assign lan0", "new table")
	x.press("Down")
	x.waitScreen(3*time.Second, "Table id")
	x.typeText("15")
	x.press("Tab")
	x.typeText("lan")
	x.waitScreen(3*time.Second, "15 lan (new)")
	x.press("Enter")
	x.waitScreen(3*time.Second, "1 unapplied edit")
	code := apply("table 15 lan", "SSH ok")
	// The dialog throws away what comes in its first 300 ms.
	time.Sleep(400 * time.Millisecond)
	x.typeText(strings.ToLower(code))
	x.waitScreen(10*time.Second, "Kept", "Saved as snapshot")
	mustContain(t, "ip rule after the TUI kept a change", l.srv.IP("rule", "show"), "from 192.168.20.2 lookup lan proto nictab")
	if _, err := os.Stat(filepath.Join((&cli{ns: l.srv, state: l.state}).stateDir(), "journal.json")); err == nil {
		t.Error("a confirm window is still open after Kept")
	}
	if l.rules() == before {
		t.Fatal("the kept change is not in the kernel")
	}
	before = l.rules()
	x.press("Escape")
	x.waitScreen(5*time.Second, "vpn0", "lan0")
	time.Sleep(100 * time.Millisecond)

	// Danger: vpn0's routes into table 14, where rule 900 sends the
	// replies. A blind y 1.5 s into the cut session reverts now.
	x.press("k", "a") // back up to vpn0
	x.waitScreen(3*time.Second, "assign vpn0", "14 spare")
	x.press("Up", "Up") // from "+ new table", past 15 lan
	x.waitScreen(3*time.Second, "to table 14 spare")
	x.press("Enter")
	x.waitScreen(3*time.Second, "1 unapplied edit")
	cut("MOVES YOUR SSH SESSION", "rule 900: from 192.168.20.2 lookup 14")
	time.Sleep(1500 * time.Millisecond)
	typed := time.Now()
	x.press("y")
	waitFor(t, 10*time.Second, "the revert after a blind y", func() bool { return l.rules() == before })
	t.Logf("TUI, blind y: the kernel's rules were back %v after it was typed", time.Since(typed).Round(time.Millisecond))
	x.waitScreen(20*time.Second, "Reverted", "not the code's next character")

	// The edit stays; applied again, nothing is typed: the window runs
	// out and the watchdog reverts it.
	x.press("Escape")
	x.waitScreen(5*time.Second, "1 unapplied edit")
	time.Sleep(100 * time.Millisecond)
	cut("MOVES YOUR SSH SESSION")
	deadline := l.deadline(5 * time.Second)
	waitFor(t, 15*time.Second, "the revert at the deadline", func() bool { return l.rules() == before })
	t.Logf("TUI, window ran out: the kernel's rules were back %v after the deadline", time.Since(deadline).Round(time.Millisecond))
	if late := time.Since(deadline); late < -100*time.Millisecond {
		t.Errorf("reverted %v before the deadline", -late)
	}
	x.waitScreen(20*time.Second, "Reverted", "not confirmed in time")

	x.press("Escape")
	x.waitScreen(5*time.Second, "vpn0", "lan0")
	time.Sleep(100 * time.Millisecond)
	x.press("q")
	x.waitScreen(5*time.Second, "Quit and drop")
	x.press("y")
	if code := l.exitStatus("tui", 10*time.Second); code != 0 {
		t.Errorf("the TUI exited %d", code)
	}
	if r := l.login("echo", "reconnected"); r.code != 0 || !strings.Contains(r.stdout, "reconnected") {
		t.Errorf("a new login after the TUI's reverts: %s", r)
	}
}
