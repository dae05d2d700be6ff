package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// doasConf is where doas reads its rules.
const doasConf = "/etc/doas.conf"

// allowDoas lets the lab's user run anything as root through doas without
// a password, by a rule in /etc/doas.conf. A doas.conf that was there is
// put back as it was, byte for byte (the file is rewritten in place, so
// its owner and mode stay); one made for the test is removed.
func (l *sshLab) allowDoas() {
	t := l.t
	rule := []byte("permit nopass " + l.user + " as root\n")
	old, err := os.ReadFile(doasConf)
	switch {
	case err == nil:
		t.Cleanup(func() {
			if err := os.WriteFile(doasConf, old, 0o600); err != nil {
				t.Errorf("cleanup: restoring %s: %v", doasConf, err)
			}
		})
		conf := append([]byte{}, old...)
		if len(conf) > 0 && conf[len(conf)-1] != '\n' {
			conf = append(conf, '\n')
		}
		if err := os.WriteFile(doasConf, append(conf, rule...), 0o600); err != nil {
			t.Fatal(err)
		}
	case errors.Is(err, fs.ErrNotExist):
		t.Cleanup(func() {
			if err := os.Remove(doasConf); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
		// doas refuses a rule file that group or others may write.
		if err := os.WriteFile(doasConf, rule, 0o600); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal(err)
	}
}

// nsInode is a lab namespace as /proc names it ("net:[4026532301]").
func nsInode(t *testing.T, name string) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join("/run/netns", name), &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("net:[%d]", st.Ino)
}

// readLab reads a file a command in the session wrote.
func (l *sshLab) readLab(name string) string {
	l.t.Helper()
	b, err := os.ReadFile(filepath.Join(l.home, name))
	if err != nil {
		l.t.Fatal(err)
	}
	return string(b)
}

// foundLine is the line in which nictab says how it found the session.
func foundLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if i := strings.Index(line, "SSH session "); i >= 0 {
			return strings.TrimSpace(line[i:])
		}
	}
	return "(none)"
}

// TestSSHSessionFoundEverywhere: in the same real session, with no
// $SSH_CONNECTION in nictab's environment, the guard finds the connection
// and says how: through the sshd among the parents under `su -`, `sudo -i`,
// doas and inside a screen started in the session; through the
// environment of a tmux or screen server that has left sshd's tree; in
// the login record sshd wrote, for a user who can read neither sshd's
// sockets nor an environment that names the session. Each time the guard
// fires on the dangerous plan naming the rule. It says so when the
// namespace nictab changes is not the one sshd works in, and says it
// found no session at all on a terminal that has left the session.
func TestSSHSessionFoundEverywhere(t *testing.T) {
	requireTools(t, "doas", "screen", "script", "setsid")
	l := newSSHLab(t)
	l.allowDoas()
	danger := l.file("danger.yaml", labDanger)
	gwPlan := l.file("gw.yaml", "version: 1\ntables: [{id: 15, name: gw}]\nnics:\n  - {name: gwcli, table: 15}\n")
	x := l.session()
	// What the guard says of the dangerous plan, and the connection as
	// sshd's socket gives it.
	fired := []string{"DANGER", "rule 900: from 192.168.20.2 lookup 13"}
	bySocket := []string{"SSH session found through process", "(sshd): " + labClient + ":", "→ " + labServer + ":22"}
	inSession := func(id, cmdline string, says ...string) {
		t.Helper()
		start := time.Now()
		l.remote(x, id, cmdline)
		if code := l.exitStatus(id, 20*time.Second); code != 0 {
			t.Fatalf("%s: plan exited %d:\n%s", id, code, x.history())
		}
		h := x.waitHistory(5*time.Second, id+"-START", append(says, fired...)...)
		t.Logf("%s (%v): %s", id, time.Since(start).Round(time.Millisecond), foundLine(h))
	}
	plan := l.nictabArgs("plan", "-f", danger)[1:] // without "sudo"
	planLine := strings.Join(plan, " ")

	inSession("su", "sudo su - -c "+shellQuote(planLine), bySocket...)
	inSession("sudoi", "sudo -i "+planLine, bySocket...)
	inSession("doas", "doas "+planLine, bySocket...)

	// screen started in the session, nictab run in its window through
	// sudo: the window's shell descends from the screen server, a child
	// of the screen that attaches it to this terminal. The window's
	// output goes to a file: screen's own screen is no scrollback.
	screenDir := "SCREENDIR=" + shellQuote(filepath.Join(l.home, ".screen"))
	x.typeText(screenDir + " screen -S fg")
	x.press("Enter")
	// screen clears the terminal for its window's shell.
	waitFor(t, 10*time.Second, "screen's window", func() bool {
		s := x.screen()
		return !strings.Contains(s, "screen -S fg") && strings.Contains(s, l.user+"@")
	})
	start := time.Now()
	l.remote(x, "screen", "test -n \"$STY\" && "+l.nictab("plan", "-f", danger)+" > "+filepath.Join(l.home, "screen.out")+" 2>&1")
	if code := l.exitStatus("screen", 20*time.Second); code != 0 {
		t.Fatalf("plan in a screen window exited %d:\n%s", code, l.readLab("screen.out"))
	}
	mustContain(t, "plan in a screen window", l.readLab("screen.out"), append(bySocket, fired...)...)
	t.Logf("screen (%v): %s", time.Since(start).Round(time.Millisecond), foundLine(l.readLab("screen.out")))
	x.typeText("exit")
	x.press("Enter")
	x.waitHistory(10*time.Second, "screen-START", "[screen is terminating]")

	// tmux and a detached screen started in the session: their servers
	// have left sshd's tree, the pane's and the window's shells descend
	// from them. Their output goes to a file.
	for _, srv := range []struct{ id, start string }{
		{"tmux", "tmux -S " + filepath.Join(l.home, "inner.sock") + " -f /dev/null new-session -d -x 80 -y 24"},
		{"screenbg", screenDir + " screen -dmS bg"},
	} {
		out := filepath.Join(l.home, srv.id+".out")
		script := l.file(srv.id+".sh", l.nictab("plan", "-f", danger)+" > "+out+" 2>&1; echo $? > "+filepath.Join(l.home, srv.id+"-in.rc")+"\n")
		start := time.Now()
		l.remote(x, srv.id, srv.start+" sh "+shellQuote(script))
		if code := l.exitStatus(srv.id+"-in", 20*time.Second); code != 0 {
			t.Fatalf("plan inside %s exited %d:\n%s", srv.id, code, l.readLab(srv.id+".out"))
		}
		shown := l.readLab(srv.id + ".out")
		mustContain(t, "plan inside "+srv.id, shown, append([]string{"SSH session found through process", "environment: " + labClient + ":"}, fired...)...)
		t.Logf("%s (%v): %s", srv.id, time.Since(start).Round(time.Millisecond), foundLine(shown))
	}

	// A screen started from another login, which has ended since, and
	// attached now from this session. The environment of its server and
	// its windows names the ended login's connection, and is passed over;
	// the server holds this session's terminal open, and the login record
	// of that terminal names the client.
	if r := l.login(screenDir + " screen -dmS old < /dev/null > /dev/null 2>&1"); r.code != 0 {
		t.Fatalf("screen started from another login: %s", r)
	}
	waitFor(t, 10*time.Second, "the detached screen's socket", func() bool {
		m, _ := filepath.Glob(filepath.Join(l.home, ".screen", "*.old"))
		return len(m) == 1
	})
	x.typeText(screenDir + " screen -r old")
	x.press("Enter")
	waitFor(t, 10*time.Second, "the attached screen's window", func() bool {
		s := x.screen()
		return !strings.Contains(s, "screen -r old") && strings.Contains(s, l.user+"@")
	})
	start = time.Now()
	l.remote(x, "reattach", "test -n \"$STY\" && "+l.nictab("plan", "-f", danger)+" > "+filepath.Join(l.home, "reattach.out")+" 2>&1")
	if code := l.exitStatus("reattach", 20*time.Second); code != 0 {
		t.Fatalf("plan in a re-attached screen exited %d:\n%s", code, l.readLab("reattach.out"))
	}
	out := l.readLab("reattach.out")
	mustContain(t, "plan in a re-attached screen", out, append([]string{"SSH session found in the login record of pts/", "(held open by process ", ", screen): client " + labClient}, fired...)...)
	if strings.Contains(out, "environment:") {
		t.Errorf("plan in a re-attached screen takes the ended login's connection:\n%s", out)
	}
	t.Logf("reattach (%v): %s", time.Since(start).Round(time.Millisecond), foundLine(out))
	x.typeText("exit")
	x.press("Enter")
	x.waitHistory(10*time.Second, "reattach-START", "[screen is terminating]")

	// --netns another namespace than sshd's: it is said, not hidden.
	l.remote(x, "other", l.nictab("--netns", l.gw.Name, "plan", "-f", gwPlan))
	if code := l.exitStatus("other", 20*time.Second); code != 0 {
		t.Fatalf("plan of another namespace exited %d", code)
	}
	x.waitHistory(5*time.Second, "other-START", "SSH session found through process",
		"That sshd works in another network namespace ("+nsInode(t, l.srv.Name)+") than the one being changed ("+nsInode(t, l.gw.Name)+"): the guard traces the client's address here all the same.")

	// systemd-run --pty's shape, without systemd: the command runs on a
	// terminal whose master a process of the session (script) holds,
	// while it descends from none (a new session whose parent is gone,
	// the terminal made its controlling one) and no environment above it
	// names the session. The session is found above the master's holder.
	rc := filepath.Join(l.home, "pty-in.rc")
	inner := "exec < \"$0\" > \"$0\" 2>&1; " + l.nictab("plan", "-f", danger) + "; echo $? > " + rc
	holder := l.file("pty.sh", "env -u SSH_CONNECTION -u SSH_CLIENT -u SSH_TTY setsid -f sh -c "+shellQuote(inner)+" \"$(tty)\"\n"+
		"while [ ! -s "+rc+" ]; do sleep 0.05; done\n")
	start = time.Now()
	l.remote(x, "pty", "script -q -c "+shellQuote("sh "+holder)+" "+filepath.Join(l.home, "pty.typescript"))
	if code := l.exitStatus("pty-in", 20*time.Second); code != 0 {
		t.Fatalf("plan on a terminal script holds exited %d:\n%s", code, l.readLab("pty.typescript"))
	}
	var shown string
	waitFor(t, 5*time.Second, "the pty case's typescript", func() bool {
		shown = l.readLab("pty.typescript")
		return strings.Contains(shown, "Script done")
	})
	shown = strings.ReplaceAll(shown, "\r\n", "\n")
	mustContain(t, "plan on a terminal script holds", shown, append(append(bySocket, ", script, which holds the other end of pts/"), fired...)...)
	t.Logf("pty (%v): %s", time.Since(start).Round(time.Millisecond), foundLine(shown))

	// A terminal that has left the session: script's, in a new session
	// whose parent is gone (so no sshd above), with neither the variable
	// in any environment above nor a login record. nictab through sudo
	// says it found none, and --ssh-client names the client after all.
	// script records what the terminal showed.
	for _, c := range []struct {
		id, flag string
		says     []string
	}{
		// The lab's danger plan moves every login of the lab's client, so
		// with no session of its own found nictab warns of them instead.
		{"none", "", []string{"No SSH session found (no $SSH_CONNECTION, no sshd among the parent processes, no login record of this terminal): the SSH guard checks nothing; --ssh-client ADDR[,LOCAL] names a client.",
			"DANGER: THIS CHANGE MOVES AN SSH LOGIN, AND YOURS WAS NOT FOUND", ":22 (an SSH login)"}},
		{"flag", "--ssh-client=" + labClient, append([]string{"SSH session given by --ssh-client: client " + labClient}, fired...)},
	} {
		args := []string{"plan", "-f", danger}
		if c.flag != "" {
			args = append(args, c.flag)
		}
		script := l.file(c.id+".sh", l.nictab(args...)+"; echo $? > "+filepath.Join(l.home, c.id+"-in.rc")+"\n")
		typescript := filepath.Join(l.home, c.id+".typescript")
		l.remote(x, c.id, "(env -u SSH_CONNECTION -u SSH_CLIENT -u SSH_TTY setsid script -q -c "+shellQuote("sh "+script)+" "+typescript+" < /dev/null > /dev/null 2>&1 &)")
		if code := l.exitStatus(c.id+"-in", 20*time.Second); code != 0 {
			t.Fatalf("%s: plan on a terminal outside the session exited %d:\n%s", c.id, code, l.readLab(c.id+".typescript"))
		}
		// The typescript is complete once script has seen its child end.
		var shown string
		waitFor(t, 5*time.Second, c.id+"'s typescript", func() bool {
			shown = l.readLab(c.id + ".typescript")
			return strings.Contains(shown, "Script done")
		})
		shown = strings.ReplaceAll(shown, "\r\n", "\n")
		mustContain(t, c.id+": plan on a terminal outside the session", shown, c.says...)
		if c.flag == "" && (strings.Contains(shown, "SSH ok") || strings.Contains(shown, "SSH session found through") || strings.Contains(shown, "SSH session found in") || strings.Contains(shown, "YOUR SSH SESSION")) {
			t.Errorf("with no session found, plan speaks of one:\n%s", shown)
		}
	}

	// The login record: the user, not root, in a shell that replaced the
	// login shell without $SSH_CONNECTION. sshd's sockets and environment
	// are not the user's to read, no process above has the variable; the
	// record sshd wrote for the terminal names the client. The server's
	// address is not in it: the guard traces from the one this host
	// picks for the client now, and still sees rule 900.
	userBin := filepath.Join(l.dir, "nictab")
	run1(t, "cp", nictabBin, userBin)
	x.typeText("exec env -u SSH_CONNECTION -u SSH_CLIENT -u SSH_TTY bash --norc")
	x.press("Enter")
	time.Sleep(300 * time.Millisecond)
	inSession("utmp", shellQuote(userBin)+" --state-dir "+shellQuote(filepath.Join(l.home, "state"))+" plan -f "+shellQuote(danger),
		"SSH session found in the login record of pts/", "client "+labClient)
}
