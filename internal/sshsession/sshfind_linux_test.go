package sshsession_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/internal/sshsession"
)

// The test binary plays two processes of TestFindSSHSessionReal: a fake
// sshd holding a served TCP connection, and below it the process that looks
// for the session with $SSH_CONNECTION unset.
const sshfindHelperEnv = "NICTAB_SSHFIND_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(sshfindHelperEnv) {
	case "":
		os.Exit(m.Run())
	case "sshd":
		os.Exit(fakeSSHD(os.Args[1], os.Args[2]))
	case "detect":
		s, ok := sshsession.Find(os.DirFS("/proc"), os.Getppid())
		if !ok {
			fmt.Println("none")
			os.Exit(0)
		}
		b, _ := json.Marshal(s)
		fmt.Println(string(b))
		os.Exit(0)
	}
	os.Exit(3)
}

// fakeSSHD listens, connects to itself (so it holds the served end and
// an outgoing end, both established), prints the served connection, and
// runs the detecting child.
func fakeSSHD(network, addr string) int {
	l, err := net.Listen(network, addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	port := l.Addr().(*net.TCPAddr).Port
	out, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer out.Close()
	in, err := l.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer in.Close()
	fmt.Printf("%s %s\n", in.RemoteAddr(), in.LocalAddr())
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c := exec.Command(self)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SSH_CONNECTION=") && !strings.HasPrefix(kv, sshfindHelperEnv+"=") {
			c.Env = append(c.Env, kv)
		}
	}
	c.Env = append(c.Env, sshfindHelperEnv+"=detect")
	c.Stdout, c.Stderr = os.Stdout, os.Stderr
	if err := c.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestFindSSHSessionReal(t *testing.T) {
	n := nstest.New(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// comm is the name the program is run by: a link called sshd.
	sshd := filepath.Join(t.TempDir(), "sshd")
	if err := os.Symlink(self, sshd); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, network, addr string }{
		{"tcp", "tcp4", "127.0.0.1:0"},
		{"tcp6 with an IPv4-mapped peer", "tcp", "[::]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := exec.Command("ip", "netns", "exec", n.Name, sshd, tc.network, tc.addr)
			c.Env = append(os.Environ(), sshfindHelperEnv+"=sshd", "SSH_CONNECTION=")
			var stderr strings.Builder
			c.Stderr = &stderr
			out, err := c.Output()
			if err != nil {
				t.Fatalf("fake sshd: %v: %s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 2 {
				t.Fatalf("fake sshd printed %q", out)
			}
			f := strings.Fields(lines[0])
			want := sshsession.Conn{Client: unmapped(t, f[0]), Server: unmapped(t, f[1])}
			var got sshsession.Session
			if err := json.Unmarshal([]byte(lines[1]), &got); err != nil {
				t.Fatalf("the detection printed %q: %v", lines[1], err)
			}
			if got.Conn != want || got.Comm != "sshd" || got.PID != c.Process.Pid || got.FromEnviron {
				t.Fatalf("found %+v, want %v from the socket of the fake sshd, pid %d", got, want, c.Process.Pid)
			}
			t.Log(got)
		})
	}
}

func unmapped(t *testing.T, s string) netip.AddrPort {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
