package main

import (
	"os"
	"sync"

	"github.com/nictab/nictab/netcfg"
)

// sshSession is the SSH session nictab runs for: $SSH_CONNECTION, else
// the connection of the sshd process among its parents, which sudo's
// env_reset, doas, su - and a tmux server started earlier leave in place.
// found is set when the session came from /proc rather than the
// environment, so nictab says where it found it.
var sshSession = sync.OnceValues(func() (netcfg.SSHConn, *netcfg.SSHSession) {
	if c, ok := netcfg.ParseSSHConn(os.Getenv("SSH_CONNECTION")); ok {
		return c, nil
	}
	if s, ok := netcfg.FindSSHSession(os.DirFS("/proc"), os.Getppid()); ok {
		return s.Conn, &s
	}
	return netcfg.SSHConn{}, nil
})

// overSSH reports whether nictab runs for an SSH session.
func overSSH() bool {
	c, _ := sshSession()
	return c.Client.IsValid()
}

// sshSessionNote is what nictab says of how it found the session: the
// process it read it from, or, run through sudo or doas on a terminal
// where the environment tells nothing, that it found none.
func (a *app) sshSessionNote() string {
	c, found := sshSession()
	switch {
	case found != nil:
		return found.String() + "\n"
	case !c.Client.IsValid() && (os.Getenv("SUDO_USER") != "" || os.Getenv("DOAS_USER") != "") && isTerminal(a.stdin):
		return "No SSH session found (no $SSH_CONNECTION, no sshd among the parent processes): the SSH guard checks nothing; --ssh-client ADDR names a client.\n"
	}
	return ""
}
