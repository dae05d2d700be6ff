package app

import (
	"os"
	"sync"

	"github.com/nictab/nictab/netcfg"
)

// utmpPath is where sshd writes the login records.
const utmpPath = "/run/utmp"

// SSHSession is the SSH session nictab runs for: $SSH_CONNECTION, else
// the connection of the sshd process among its parents, which sudo's
// env_reset, doas, su - and a tmux server started earlier leave in place,
// else an ancestor's environment (unless it names a connection that is
// over: a screen or tmux server attached from a later login), else the
// login record of the terminal, or of one an ancestor holds open (the
// login a screen or tmux server is attached from), else the session
// above the process that holds the terminal's other end.
// found is set when the session came from /proc or the login records
// rather than the environment, so nictab says where it found it. The
// search runs once a process: the CLI and the TUI guard the same session.
func SSHSession() (conn netcfg.SSHConn, found *netcfg.SSHSession) { return sshSession() }

var sshSession = sync.OnceValues(func() (netcfg.SSHConn, *netcfg.SSHSession) {
	if c, ok := netcfg.ParseSSHConn(os.Getenv("SSH_CONNECTION")); ok {
		return c, nil
	}
	procfs := os.DirFS("/proc")
	if s, ok := netcfg.FindSSHSession(procfs, os.Getppid()); ok {
		return s.Conn, &s
	}
	// A missing utmp (a container, a host without login records) is no
	// error: there is just nothing to read there.
	if utmp, err := os.ReadFile(utmpPath); err == nil {
		if s, ok := netcfg.FindSSHLogin(procfs, utmp, os.Getpid()); ok {
			return s.Conn, &s
		}
	}
	// Last, as it reads every process's open files: the terminal's other
	// end, held in the session while nictab runs outside it
	// (systemd-run --pty).
	if s, ok := netcfg.FindSSHThroughPTY(procfs, os.Getpid()); ok {
		return s.Conn, &s
	}
	return netcfg.SSHConn{}, nil
})

// OverSSH reports whether nictab runs for an SSH session.
func OverSSH() bool {
	c, _ := sshSession()
	return c.Client.IsValid()
}
