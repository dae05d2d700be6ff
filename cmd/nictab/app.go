package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/ui"
)

// version is set at build time with -ldflags "-X main.version=…"; a plain
// build reports the module version or "dev".
var version = ""

func nictabVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "0.1.0-dev"
}

// app is the wiring every subcommand shares: global flags, the terminal,
// and constructors for the real kernel, names and store.
type app struct {
	// jsonOut is stdout while a --json command runs (out discards the
	// text meant for people then); jsonDone is set once the document is
	// printed.
	jsonOut  io.Writer
	jsonDone bool

	stdin    io.Reader
	out      io.Writer
	errOut   io.Writer
	netns    string
	stateDir string
	noColor  bool
	// watchdogLauncher is --watchdog: auto, systemd-run or detached.
	watchdogLauncher string
	// priorities is the range the engine allocates rule priorities from;
	// the zero value is netcfg.DefaultPriorities.
	priorities netcfg.PriorityRange
}

// openKernel opens the namespace of --netns, or the host's.
func (a *app) openKernel() (netcfg.Kernel, error) {
	return kernel.Open(a.netns)
}

func (a *app) namePaths() netcfg.NamePaths { return netcfg.DefaultNamePaths(a.netns) }

func (a *app) loadNames() netcfg.Names { return netcfg.LoadNames(a.namePaths()) }

// stateBase is the state directory before a namespace's own folder:
// --state-dir, else /var/lib/nictab as root and $XDG_STATE_HOME/nictab
// otherwise.
func (a *app) stateBase() string {
	if a.stateDir != "" {
		return a.stateDir
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

// stateRoot is where snapshots and the journal live. A named namespace gets
// a folder of its own, under --state-dir too: its history is not the
// host's, and a rollback must never take another namespace's snapshot.
func (a *app) stateRoot() string {
	if a.netns != "" {
		return filepath.Join(a.stateBase(), "netns", a.netns)
	}
	return a.stateBase()
}

func (a *app) styles() ui.Styles {
	return ui.OutputStyles(a.out, a.noColor)
}
