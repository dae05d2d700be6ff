package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/nstest"
)

// sshLab is a real SSH login into a server namespace, as issue 13 tried
// it by hand: the server has a LAN NIC (lan0, 192.168.20.2) behind which
// a gateway namespace routes to the client namespace (198.51.100.7), and
// a "VPN" NIC (vpn0, 192.168.10.2) whose far side has no route back to
// the client. A real sshd runs in the server namespace with a host key,
// a test user and an authorized key of its own; the user may sudo
// without a password through a sudoers.d drop-in, under the host's own
// /etc/sudoers defaults (Debian's env_reset, use_pty).
type sshLab struct {
	t                    *testing.T
	srv, gw, client, vpn *nstest.NS
	dir, home, state     string
	user, key            string
	sshdErr              *lockedBuffer
}

const (
	labServer = "192.168.20.2"
	labClient = "198.51.100.7"
)

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// requireTools fails in CI and skips elsewhere when a program the lab
// needs is missing.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the SSH session test needs %s (apt-get install openssh-server openssh-client sudo tmux doas screen)", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
}

func run1(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newSSHLab builds the namespaces, the user, the keys and sshd. Every
// piece is removed when the test ends, however it ends.
func newSSHLab(t *testing.T) *sshLab {
	nstest.RequireRoot(t)
	requireTools(t, "/usr/sbin/sshd", "ssh", "ssh-keygen", "sudo", "tmux", "useradd", "userdel", "unshare", "mount")
	l := &sshLab{t: t, sshdErr: &lockedBuffer{}}
	l.srv, l.gw, l.client, l.vpn = nstest.New(t), nstest.New(t), nstest.New(t), nstest.New(t)
	l.wire()

	dir, err := os.MkdirTemp("", "nictab-ssh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// sshd reads the authorized keys as the user: the way must be open.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l.dir, l.home, l.state = dir, filepath.Join(dir, "home"), filepath.Join(dir, "state")
	l.addUser()
	// Registered after the namespaces and the user, so it runs before
	// they go: no process of the lab (sshd, its sessions, sudo, nictab,
	// its watchdog, the ssh clients) outlives the test.
	t.Cleanup(func() {
		for _, ns := range []*nstest.NS{l.srv, l.client} {
			killNamespace(t, ns.Name)
		}
	})
	l.startSSHD()
	return l
}

// wire makes the four namespaces and the links between them.
func (l *sshLab) wire() {
	t := l.t
	veth := func(a *nstest.NS, an string, b *nstest.NS, bn string) {
		run1(t, "ip", "link", "add", an, "netns", a.Name, "type", "veth", "peer", "name", bn, "netns", b.Name)
		a.IP("link", "set", an, "up")
		b.IP("link", "set", bn, "up")
	}
	// vpn0 first: it is the first NIC on the TUI's list.
	veth(l.srv, "vpn0", l.vpn, "vpnpeer")
	veth(l.srv, "lan0", l.gw, "gwlan")
	veth(l.gw, "gwcli", l.client, "cli0")
	l.srv.IP("addr", "add", "192.168.10.2/24", "dev", "vpn0")
	l.srv.IP("addr", "add", labServer+"/24", "dev", "lan0")
	l.srv.IP("route", "add", "default", "via", "192.168.20.1", "dev", "lan0", "metric", "100")
	l.srv.IP("route", "add", "default", "via", "192.168.10.1", "dev", "vpn0", "metric", "200")
	l.vpn.IP("addr", "add", "192.168.10.1/24", "dev", "vpnpeer")
	l.gw.IP("addr", "add", "192.168.20.1/24", "dev", "gwlan")
	l.gw.IP("addr", "add", "198.51.100.1/24", "dev", "gwcli")
	run1(t, "ip", "netns", "exec", l.gw.Name, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	l.client.IP("addr", "add", labClient+"/24", "dev", "cli0")
	l.client.IP("route", "add", "default", "via", "198.51.100.1")
}

// addUser creates a user of the test's own, with its home in the lab's
// directory, a key to log in with, and a NOPASSWD sudoers drop-in.
func (l *sshLab) addUser() {
	t := l.t
	labUsers++
	l.user = fmt.Sprintf("ntssh%d-%d", os.Getpid(), labUsers)
	// "*" is no password, not a locked account: sshd without PAM lets
	// a locked one ("!") in by no means.
	run1(t, "useradd", "--no-create-home", "--home-dir", l.home, "--shell", "/bin/bash", "--password", "*", l.user)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", l.user).CombinedOutput(); err != nil {
			t.Errorf("cleanup: userdel %s: %v: %s", l.user, err, out)
		}
	})
	if err := os.Mkdir(l.home, 0o755); err != nil {
		t.Fatal(err)
	}
	run1(t, "chown", l.user+":", l.home)
	sudoers := filepath.Join("/etc/sudoers.d", l.user)
	if err := os.WriteFile(sudoers, []byte(l.user+" ALL=(root) NOPASSWD: ALL\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(sudoers); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	l.key = filepath.Join(l.dir, "client_key")
	run1(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", l.user, "-f", l.key)
	pub, err := os.ReadFile(l.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.dir, "authorized_keys"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startSSHD runs sshd in the server namespace with a config, host key and
// pid file of the lab's own, and waits until it listens.
func (l *sshLab) startSSHD() {
	t := l.t
	hostKey := filepath.Join(l.dir, "host_key")
	run1(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey)
	config := filepath.Join(l.dir, "sshd_config")
	conf := strings.Join([]string{
		"ListenAddress " + labServer + ":22",
		"HostKey " + hostKey,
		"PidFile " + filepath.Join(l.dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(l.dir, "authorized_keys"),
		"AllowUsers " + l.user,
		"PermitRootLogin no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"PrintMotd no",
		"PrintLastLog no",
		"UseDNS no",
		"LogLevel VERBOSE",
	}, "\n") + "\n"
	if err := os.WriteFile(config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// sshd and everything below it get a /run of their own (a tmpfs in
	// a private mount namespace): its privilege separation directory and
	// its login records (/run/utmp) are the lab's, never the host's, and
	// the guard's fallback to the login record meets a real one. The
	// server's and the gateway's namespaces are carried over for --netns.
	keep := filepath.Join(l.dir, "run-netns")
	if err := os.Mkdir(keep, 0o755); err != nil {
		t.Fatal(err)
	}
	// Only the lab's namespaces: a copy of all of /run/netns would keep
	// other tests' namespaces alive after they delete them.
	script := []string{"set -e"}
	for _, ns := range []*nstest.NS{l.srv, l.gw} {
		k := shellQuote(filepath.Join(keep, ns.Name))
		script = append(script, ": > "+k, "mount --bind "+shellQuote(filepath.Join("/run/netns", ns.Name))+" "+k)
	}
	script = append(script, "mount -t tmpfs -o mode=755 nictab-lab /run", "mkdir /run/netns /run/sshd")
	for _, ns := range []*nstest.NS{l.srv, l.gw} {
		n := shellQuote(filepath.Join("/run/netns", ns.Name))
		script = append(script, ": > "+n, "mount --bind "+shellQuote(filepath.Join(keep, ns.Name))+" "+n)
	}
	script = append(script, ": > /run/utmp", "chmod 644 /run/utmp", "exec /usr/sbin/sshd -D -e -f "+shellQuote(config))
	cmd := exec.Command("ip", "netns", "exec", l.srv.Name, "unshare", "--mount", "--propagation", "private", "sh", "-c", strings.Join(script, "\n"))
	cmd.Stdout, cmd.Stderr = l.sshdErr, l.sshdErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("sshd's log:\n%s", l.sshdErr.String())
		}
	})
	waitFor(t, 10*time.Second, "sshd to listen", func() bool {
		select {
		case <-done:
			t.Fatalf("sshd exited:\n%s", l.sshdErr.String())
		default:
		}
		return strings.Contains(l.sshdErr.String(), "Server listening on "+labServer)
	})
}

// sshArgs is the ssh client's command line from the client namespace.
func (l *sshLab) sshArgs(tty bool, remote ...string) []string {
	args := []string{"netns", "exec", l.client.Name, "ssh", "-F", "/dev/null", "-i", l.key,
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5"}
	if tty {
		args = append(args, "-t")
	}
	return append(append(args, l.user+"@"+labServer), remote...)
}

// login runs a command through a second, separate SSH login.
func (l *sshLab) login(remote ...string) result {
	l.t.Helper()
	return runCmd(l.t, exec.Command("ip", l.sshArgs(false, remote...)...))
}

// session is `ssh -t` under tmux at 80×24, as a person types into it.
func (l *sshLab) session() *tmuxTUI {
	t := l.t
	x := &tmuxTUI{t: t, socket: filepath.Join(l.dir, "tmux.sock"), errLog: filepath.Join(l.dir, "tmux.err")}
	var line []string
	for _, a := range append([]string{"env", "TERM=xterm-256color", "ip"}, l.sshArgs(true)...) {
		line = append(line, shellQuote(a))
	}
	x.tmux("-f", "/dev/null", "new-session", "-d", "-s", "nictab", "-x", "80", "-y", "24", strings.Join(line, " ")+" 2>"+shellQuote(x.errLog))
	x.tmux("set-option", "-t", "nictab", "remain-on-exit", "on")
	x.tmux("set-option", "-t", "nictab", "history-limit", "5000")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the SSH session's screen:\n%s", x.history())
			if b, _ := os.ReadFile(x.errLog); len(b) > 0 {
				t.Logf("ssh's stderr:\n%s", b)
			}
		}
		_ = exec.Command("tmux", "-S", x.socket, "kill-server").Run()
	})
	// The shell's prompt names the user (capture-pane drops the space
	// after its "$").
	x.waitScreen(15*time.Second, l.user+"@", "$")
	return x
}

// history is the whole scrollback and screen, wrapped lines joined.
func (x *tmuxTUI) history() string {
	out, _ := exec.Command("tmux", "-S", x.socket, "capture-pane", "-p", "-J", "-S", "-", "-t", "nictab").CombinedOutput()
	return string(out)
}

// waitHistory waits until the scrollback after mark shows every text.
func (x *tmuxTUI) waitHistory(timeout time.Duration, mark string, texts ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		h := x.history()
		if i := strings.LastIndex(h, mark); i >= 0 {
			h = h[i:]
		}
		missing := ""
		for _, s := range texts {
			if !strings.Contains(h, s) {
				missing = s
				break
			}
		}
		if missing == "" {
			return h
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("the session does not show %q after %v:\n%s", missing, timeout, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// remote types a command line into the session; its exit status is
// written to a file the test reads, since a cut session shows nothing.
func (l *sshLab) remote(x *tmuxTUI, id, cmdline string) {
	l.t.Helper()
	x.typeText("echo " + id + "-START; " + cmdline + "; echo $? > " + filepath.Join(l.home, id+".rc"))
	x.press("Enter")
}

// nictabArgs is nictab through sudo, on the server's namespace.
func (l *sshLab) nictabArgs(args ...string) []string {
	return append([]string{"sudo", nictabBin, "--netns", l.srv.Name, "--state-dir", l.state}, args...)
}

// nictab is the nictab command line the session runs through sudo.
func (l *sshLab) nictab(args ...string) string {
	all := l.nictabArgs(args...)
	for i, a := range all {
		all[i] = shellQuote(a)
	}
	return strings.Join(all, " ")
}

// exitStatus waits for the status of the remote command id.
func (l *sshLab) exitStatus(id string, timeout time.Duration) int {
	l.t.Helper()
	var code int
	waitFor(l.t, timeout, id+"'s exit status", func() bool {
		b, err := os.ReadFile(filepath.Join(l.home, id+".rc"))
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		code, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return code
}

// rules is the server's rules as the kernel reports them.
func (l *sshLab) rules() string {
	l.t.Helper()
	return l.srv.IP("-j", "rule", "show")
}

// deadline reads the open confirm window's deadline from nictab's
// journal in the server namespace's state directory.
// The journal is there from the first write of the apply on, the deadline
// only once the window opens.
func (l *sshLab) deadline(timeout time.Duration) time.Time {
	l.t.Helper()
	path := filepath.Join((&cli{ns: l.srv, state: l.state}).stateDir(), "journal.json")
	var d time.Time
	waitFor(l.t, timeout, "a confirm window's deadline in the journal", func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		var j struct {
			Deadline time.Time `json:"deadline"`
		}
		// The JSON, then the checksum line every state file ends with.
		if json.NewDecoder(bytes.NewReader(b)).Decode(&j) != nil {
			return false
		}
		d = j.Deadline
		return !d.IsZero()
	})
	return d
}

// labUsers numbers the lab's users, one per test.
var labUsers int

var keepCodeShown = regexp.MustCompile(`Type ([A-Z0-9]{4}) to keep`)

// killNamespace ends every process whose network namespace is name's, by
// pid: what the lab started there and nothing else.
func killNamespace(t *testing.T, name string) {
	var target syscall.Stat_t
	if err := syscall.Stat(filepath.Join("/run/netns", name), &target); err != nil {
		return
	}
	want := fmt.Sprintf("net:[%d]", target.Ino)
	for range 50 {
		ents, _ := os.ReadDir("/proc")
		left := 0
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			if l, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", "net")); err == nil && l == want {
				left++
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if left == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("cleanup: processes are left in namespace %s", name)
}
