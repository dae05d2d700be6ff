// Package app is what the command line and the terminal UI of nictab
// share: where a namespace's history lives, the engine both open on it,
// how the watchdog of a confirm window is started, the SSH session the
// guard traces; and the terminal UI's backend over them. cmd/nictab
// parses flags into a Config, wires it, and prints.
package app

import (
	"os"
	"path/filepath"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/snapshots"
)

// Config is what the command line chose for a run.
type Config struct {
	// Netns is --netns: the named network namespace, "" for the host's.
	Netns string
	// StateDir is --state-dir; "" is the default of StateBase.
	StateDir string
	// Priorities is the range the engine allocates rule priorities from;
	// the zero value is netcfg.DefaultPriorities.
	Priorities netcfg.PriorityRange
	// Version is nictab's own, recorded in snapshots and exports.
	Version string
	// StartWatchdog starts the process that reverts an unconfirmed change
	// at its deadline (see StartWatchdog); it knows the command line that
	// runs it.
	StartWatchdog func(l *snapshots.Lock) error
}

// OpenKernel opens the namespace of Netns, or the host's.
func (c Config) OpenKernel() (netcfg.Kernel, error) {
	return kernel.Open(c.Netns)
}

// NamePaths are the files table and protocol names are read from and
// written to: the namespace's own under /etc/netns.
func (c Config) NamePaths() netcfg.NamePaths { return netcfg.DefaultNamePaths(c.Netns) }

// LoadNames reads the table and protocol names of NamePaths.
func (c Config) LoadNames() netcfg.Names { return netcfg.LoadNames(c.NamePaths()) }

// StateBase is the state directory before a namespace's own folder:
// StateDir, else /var/lib/nictab as root and $XDG_STATE_HOME/nictab
// otherwise.
func (c Config) StateBase() string {
	if c.StateDir != "" {
		return c.StateDir
	}
	if os.Geteuid() == 0 {
		return "/var/lib/nictab"
	}
	x := os.Getenv("XDG_STATE_HOME")
	if x == "" {
		home, _ := os.UserHomeDir()
		x = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(x, "nictab")
}

// StateRoot is where snapshots and the journal live. A named namespace gets
// a folder of its own, under StateDir too: its history is not the
// host's, and a rollback must never take another namespace's snapshot.
func (c Config) StateRoot() string {
	if c.Netns != "" {
		return filepath.Join(c.StateBase(), "netns", c.Netns)
	}
	return c.StateBase()
}

// Engine opens the transaction engine on Netns and StateRoot.
func (c Config) Engine() (*snapshots.Engine, error) { return c.newEngine(false) }

// ChangeEngine is Engine for a command that applies the proposal it
// makes right away (apply, rollback): it plans under a change monitor,
// which spares the apply's stale check a second read of the tables when
// nothing changed in between.
func (c Config) ChangeEngine() (*snapshots.Engine, error) { return c.newEngine(true) }

func (c Config) newEngine(watch bool) (*snapshots.Engine, error) {
	return snapshots.NewEngine(snapshots.EngineConfig{
		Watch:         watch,
		Netns:         c.Netns,
		StateDir:      c.StateRoot(),
		NamePaths:     c.NamePaths(),
		Open:          c.OpenKernel,
		Version:       c.Version,
		Networkd:      c.Netns == "" && networkdRunning(),
		StartWatchdog: c.StartWatchdog,
		Priorities:    c.Priorities,
	})
}

// networkdRunning reports whether systemd-networkd manages this host's
// links; exports default to its flavour then.
func networkdRunning() bool {
	_, err := os.Stat("/run/systemd/netif/state")
	return err == nil
}
