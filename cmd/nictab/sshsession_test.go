package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/nstest"
)

// fakeSSHDEnv makes the test binary a stand-in for sshd: it holds a
// served TCP connection and runs nictab below it, as sudo would with
// $SSH_CONNECTION dropped.
const fakeSSHDEnv = "NICTAB_TEST_FAKE_SSHD"

// fakeSSHD: args are the address to listen on, the client address to
// connect from, and the nictab command line to run.
func fakeSSHD(args []string) int {
	if len(args) < 3 {
		fmt.Fprintln(os.Stderr, "fake sshd: LISTEN CLIENT CMD...")
		return 1
	}
	l, err := net.Listen("tcp4", args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	from, err := net.ResolveTCPAddr("tcp4", args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	client, err := (&net.Dialer{LocalAddr: from}).Dial("tcp4", args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer client.Close()
	served, err := l.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer served.Close()
	c := exec.Command(args[2], args[3:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SSH_CONNECTION=") && !strings.HasPrefix(kv, fakeSSHDEnv+"=") {
			c.Env = append(c.Env, kv)
		}
	}
	c.Stdout, c.Stderr = os.Stdout, os.Stderr
	var ee *exec.ExitError
	if err := c.Run(); errors.As(err, &ee) {
		return ee.ExitCode()
	} else if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestSSHGuardFoundThroughSSHD: without $SSH_CONNECTION, the session is
// read from the socket of the sshd nictab runs under — in another network
// namespace than the one nictab changes — and the guard fires on it: the
// plan is flagged naming the rule, and --confirm 0 is refused.
func TestSSHGuardFoundThroughSSHD(t *testing.T) {
	c := newCLI(t)
	sshns := nstest.New(t)
	sshns.IP("addr", "add", "192.168.20.2/32", "dev", "lo")
	sshns.IP("addr", "add", "198.51.100.7/32", "dev", "lo")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sshd := filepath.Join(t.TempDir(), "sshd") // comm is the name it runs by
	if err := os.Symlink(self, sshd); err != nil {
		t.Fatal(err)
	}
	danger := writeFile(t, "danger.yaml", dangerFile)
	before := c.routing()
	under := func(args ...string) (result, int) {
		full := append([]string{"netns", "exec", sshns.Name, sshd, "192.168.20.2:22", "198.51.100.7:51000",
			nictabBin, "--netns", c.ns.Name, "--state-dir", c.state}, args...)
		cmd := exec.Command("ip", full...)
		cmd.Env = append(os.Environ(), "NO_COLOR=1", fakeSSHDEnv+"=1", "SSH_CONNECTION=")
		r := runCmd(t, cmd)
		return r, cmd.Process.Pid
	}
	r, pid := under("plan", "-f", danger)
	mustContain(t, "plan", r.stdout,
		fmt.Sprintf("SSH session found through process %d (sshd): 198.51.100.7:51000 → 192.168.20.2:22", pid),
		"DANGER: THIS CHANGE MOVES YOUR SSH SESSION", "rule 900: from 192.168.20.2 lookup 13")
	r, _ = under("apply", "-f", danger, "--yes", "--confirm", "0")
	if r.code != 2 || !strings.Contains(r.stderr, "--force") || c.routing() != before {
		t.Fatalf("--confirm 0 on a dangerous change found through sshd: %s", r)
	}
}

// TestNoSSHSessionSaid: run through sudo (SUDO_USER set) on a terminal
// with no SSH session anywhere, nictab says it found none and how to name
// one, rather than staying silent.
func TestNoSSHSessionSaid(t *testing.T) {
	c := newCLI(t)
	if os.Getenv("SSH_CONNECTION") != "" {
		t.Skip("the tests run over SSH: the tmux server's environment names the session")
	}
	requireTools(t, "tmux")
	dir := t.TempDir()
	x := &tmuxTUI{t: t, socket: filepath.Join(dir, "tmux.sock"), errLog: filepath.Join(dir, "err")}
	out := filepath.Join(dir, "out")
	danger := writeFile(t, "danger.yaml", dangerFile)
	line := []string{"env", "SUDO_USER=someone", "NO_COLOR=1", nictabBin, "--netns", c.ns.Name, "--state-dir", c.state, "plan", "-f", danger}
	for i, a := range line {
		line[i] = shellQuote(a)
	}
	x.tmux("-f", "/dev/null", "new-session", "-d", "-s", "nictab", "-x", "80", "-y", "24", strings.Join(line, " ")+" >"+shellQuote(out)+" 2>&1; echo $? >"+shellQuote(out+".rc"))
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", x.socket, "kill-server").Run() })
	waitFor(t, 15*time.Second, "plan to finish", func() bool {
		b, err := os.ReadFile(out + ".rc")
		return err == nil && strings.HasSuffix(string(b), "\n")
	})
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "plan under sudo without a session", string(b), "No SSH session found", "--ssh-client ADDR[,LOCAL]")
	if strings.Contains(string(b), "DANGER") {
		t.Errorf("a guard verdict without a session:\n%s", b)
	}
}
