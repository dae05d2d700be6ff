//go:build linux

// Command ttystart times nictab's start-up on a pseudo-terminal that never
// answers a terminal query, as a serial console, or tmux or screen over a
// slow SSH link, can behave: `nictab version` and `nictab show` until they
// exit, and the terminal UI until its first full frame is on the pty.
//
//	go build -o /tmp/nictab ./cmd/nictab
//	sudo go run ./bench/ttystart -bin /tmp/nictab
//
// It works in a network namespace of its own (two veth pairs with
// addresses and gateways), deleted on the way out.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nictab/nictab/internal/pty"
	"github.com/nictab/nictab/netcfg/kernel"
)

func main() {
	bin := flag.String("bin", "nictab", "the nictab binary to time")
	runs := flag.Int("n", 15, "runs per command")
	term := flag.String("term", "xterm-256color", "TERM given to nictab")
	noColor := flag.Bool("no-color", false, "set NO_COLOR=1 for nictab")
	flag.StringVar(&opt.state, "state", "", "state directory to start with (a history to load; left as it is), instead of an empty one")
	flag.StringVar(&opt.ns, "ns", fmt.Sprintf("nictab-ttystart-%d", os.Getpid()), "name of the network namespace made for the run")
	flag.StringVar(&opt.only, "only", "version,show,tui", "commands to time")
	flag.Parse()
	if err := run(*bin, *runs, *term, *noColor); err != nil {
		fmt.Fprintln(os.Stderr, "ttystart:", err)
		os.Exit(1)
	}
}

// opt are the flags that choose what is timed, and where.
var opt struct{ state, ns, only string }

func run(bin string, runs int, term string, noColor bool) error {
	ns := opt.ns
	if err := makeNS(ns); err != nil {
		_ = kernel.DeleteNamedNS(ns)
		return err
	}
	defer func() {
		if err := kernel.DeleteNamedNS(ns); err != nil {
			fmt.Fprintln(os.Stderr, "ttystart: cleanup:", err)
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	state := opt.state
	if state == "" {
		tmp, err := os.MkdirTemp("", "ttystart-state-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		state = tmp
	}
	env := slices.DeleteFunc(os.Environ(), func(e string) bool {
		// The terminal's own answers are not there to be had; nor is
		// anything tmux could tell the colour profile.
		return strings.HasPrefix(e, "TERM=") || strings.HasPrefix(e, "TMUX=") || strings.HasPrefix(e, "COLORFGBG=") || strings.HasPrefix(e, "NO_COLOR=")
	})
	env = append(env, "TERM="+term)
	if noColor {
		env = append(env, "NO_COLOR=1")
	}
	cases := []struct {
		key, name string
		args      []string
		tui       bool
	}{
		{"version", "nictab version", []string{"version"}, false},
		{"show", "nictab show", []string{"--netns", ns, "--state-dir", state, "show"}, false},
		{"tui", "nictab tui: first full frame", []string{"--netns", ns, "--state-dir", state, "tui"}, true},
	}
	cases = slices.DeleteFunc(cases, func(c struct {
		key, name string
		args      []string
		tui       bool
	}) bool {
		return !slices.Contains(strings.Split(opt.only, ","), c.key)
	})
	fmt.Printf("%s, TERM=%s, NO_COLOR %v, a pty that never answers, %d runs each\n", bin, term, noColor, runs)
	for _, c := range cases {
		var ds []time.Duration
		for range runs {
			select {
			case <-stop:
				return errors.New("interrupted")
			default:
			}
			d, err := once(bin, c.args, env, c.tui)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			ds = append(ds, d)
		}
		slices.Sort(ds)
		fmt.Printf("  %-30s median %7.1f ms   min %7.1f ms   max %7.1f ms\n", c.name, ms(ds[len(ds)/2]), ms(ds[0]), ms(ds[len(ds)-1]))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// once starts bin on a fresh 80x24 pty and returns how long until it
// exits, or for the terminal UI until the frame holds the NICs and the
// help line. Nothing is ever written to the pty's master: a query the
// program sends stays unanswered.
func once(bin string, args, env []string, tui bool) (time.Duration, error) {
	master, slave, err := pty.Open(80, 24)
	if err != nil {
		return 0, err
	}
	defer master.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		slave.Close()
		return 0, err
	}
	slave.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var out bytes.Buffer
	buf := make([]byte, 64<<10)
	deadline := start.Add(20 * time.Second)
	for {
		_ = master.SetReadDeadline(deadline)
		n, rerr := master.Read(buf)
		out.Write(buf[:n])
		if tui && bytes.Contains(out.Bytes(), []byte("veth0")) && bytes.Contains(out.Bytes(), []byte("quit")) {
			d := time.Since(start)
			_ = cmd.Process.Kill()
			<-exited
			return d, nil
		}
		if rerr != nil {
			// EIO: the last holder of the slave is gone, the program
			// exited.
			break
		}
	}
	if tui {
		_ = cmd.Process.Kill()
		<-exited
		return 0, fmt.Errorf("no full frame within 20s: %q", out.String())
	}
	if err := <-exited; err != nil {
		return 0, fmt.Errorf("%v: %s", err, out.String())
	}
	return time.Since(start), nil
}

// makeNS is a namespace with two NICs, each with an address and a
// default route, so that show and the NICs screen have something to show.
func makeNS(ns string) error {
	steps := [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0p"},
		{"-n", ns, "link", "add", "veth1", "type", "veth", "peer", "name", "veth1p"},
		{"-n", ns, "addr", "add", "192.168.10.2/24", "dev", "veth0"},
		{"-n", ns, "addr", "add", "192.168.20.2/24", "dev", "veth1"},
		{"-n", ns, "link", "set", "veth0p", "up"},
		{"-n", ns, "link", "set", "veth1p", "up"},
		{"-n", ns, "link", "set", "veth0", "up"},
		{"-n", ns, "link", "set", "veth1", "up"},
		{"-n", ns, "route", "add", "default", "via", "192.168.10.1", "dev", "veth0"},
	}
	for _, s := range steps {
		var errb bytes.Buffer
		c := exec.Command("ip", s...)
		c.Stderr = &errb
		if err := c.Run(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(s, " "), err, strings.TrimSpace(errb.String()))
		}
	}
	return nil
}
