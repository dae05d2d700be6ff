package main

import (
	"io"
	"runtime/debug"

	nictabapp "github.com/nictab/nictab/internal/app"
	"github.com/nictab/nictab/netcfg"
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

// config is what the flags chose, for the application code the CLI and
// the terminal UI share.
func (a *app) config() nictabapp.Config {
	return nictabapp.Config{
		Netns:         a.netns,
		StateDir:      a.stateDir,
		Priorities:    a.priorities,
		Version:       nictabVersion(),
		StartWatchdog: a.startWatchdog,
	}
}

// openKernel opens the namespace of --netns, or the host's.
func (a *app) openKernel() (netcfg.Kernel, error) { return a.config().OpenKernel() }

func (a *app) namePaths() netcfg.NamePaths { return a.config().NamePaths() }

func (a *app) loadNames() netcfg.Names { return a.config().LoadNames() }

// stateBase is the state directory before a namespace's own folder.
func (a *app) stateBase() string { return a.config().StateBase() }

// stateRoot is where snapshots and the journal live.
func (a *app) stateRoot() string { return a.config().StateRoot() }

func (a *app) styles() ui.Styles {
	return ui.OutputStyles(a.out, a.noColor)
}
