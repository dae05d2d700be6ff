//go:build linux

package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nictab/nictab/internal/pty"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// keysPerRun is how many keystrokes (down and up in turn) one
// measurement of bytes per keystroke sends.
const keysPerRun = 40

// bytesPerKey starts the real terminal UI on an 80x24 pty, as an SSH
// session gives it (TERM=xterm-256color, nothing answering queries),
// waits for the first frame, sends prep (and waits for it to be drawn),
// then keysPerRun arrow keys, each left 50 ms to be drawn (frames go out
// at 60 Hz), and returns the bytes written to the terminal per key.
func (r nictabRun) bytesPerKey(prep []string) (float64, error) {
	master, slave, err := pty.Open(80, 24)
	if err != nil {
		return 0, err
	}
	defer master.Close()
	cmd := exec.Command(r.bin, "--netns", r.ns, "--state-dir", r.state, "tui")
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(e string) bool {
		return strings.HasPrefix(e, "TERM=") || strings.HasPrefix(e, "NO_COLOR=") || strings.HasPrefix(e, "SSH_")
	}), "TERM=xterm-256color")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		slave.Close()
		return 0, err
	}
	slave.Close()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	got := make(chan int, 64)
	var first bytes.Buffer
	firstDone := make(chan struct{})
	go func() {
		buf := make([]byte, 64<<10)
		seen := false
		for {
			n, err := master.Read(buf)
			if !seen {
				first.Write(buf[:n])
				if bytes.Contains(first.Bytes(), []byte("quit")) {
					seen = true
					close(firstDone)
				}
			} else if n > 0 {
				got <- n
			}
			if err != nil {
				close(got)
				return
			}
		}
	}()
	select {
	case <-firstDone:
	case <-time.After(20 * time.Second):
		return 0, fmt.Errorf("the terminal UI in %s drew no first frame: %q", r.ns, first.String())
	}
	drain := func(d time.Duration) int {
		total := 0
		deadline := time.After(d)
		for {
			select {
			case n, ok := <-got:
				if !ok {
					return total
				}
				total += n
			case <-deadline:
				return total
			}
		}
	}
	drain(300 * time.Millisecond)
	for _, k := range prep {
		if _, err := master.WriteString(k); err != nil {
			return 0, err
		}
		drain(100 * time.Millisecond)
	}
	drain(200 * time.Millisecond)
	total := 0
	for i := range keysPerRun {
		k := "\x1b[B"
		if i%2 == 1 {
			k = "\x1b[A"
		}
		if _, err := master.WriteString(k); err != nil {
			return 0, err
		}
		total += drain(50 * time.Millisecond)
	}
	if total == 0 {
		return 0, fmt.Errorf("%d keystrokes drew nothing in %s", keysPerRun, r.ns)
	}
	return float64(total) / keysPerRun, nil
}

// benchKeys measures what one keystroke writes to the terminal on the
// NICs pane and on the rules pane of 10,000 rules, against what Bubble
// Tea v1's line renderer wrote there (321 and 166 bytes).
func benchKeys(o options, set *nsSet) ([]row, error) {
	nics, err := seedNS(set, "keys-nics")
	if err != nil {
		return nil, err
	}
	many, err := seedNS(set, "keys-rules")
	if err != nil {
		return nil, err
	}
	k, err := kernel.Open(many)
	if err != nil {
		return nil, err
	}
	var ops []netcfg.Op
	for i := range 10_000 {
		r := netcfg.NewRule()
		r.Family, r.Priority, r.Table, r.Proto = netcfg.V4, uint32(20000-i), 100, netcfg.ProtoStatic
		r.From = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), 32)
		ops = append(ops, netcfg.Op{Kind: netcfg.OpAddRule, Rule: &r})
	}
	res := k.Exec(ops)
	k.Close()
	if res.Failed != nil {
		return nil, fmt.Errorf("add 10k rules to %s: %w", many, res.Failed)
	}
	runFor := func(ns string) (nictabRun, error) {
		st := filepath.Join(o.tmp, "state-"+ns)
		return nictabRun{bin: o.nictab, ns: ns, state: st}, os.Mkdir(st, 0o700)
	}
	rn, err := runFor(nics)
	if err != nil {
		return nil, err
	}
	rr, err := runFor(many)
	if err != nil {
		return nil, err
	}
	nicRow := row{work: "bytes per keystroke, NICs pane, 80x24 (`TERM=xterm-256color`)", unit: "B", limit: 321}
	ruleRow := row{work: "bytes per keystroke, rules pane of 10,000 rules", unit: "B", limit: 166}
	tab := "\t"
	for range o.runs {
		b, err := rn.bytesPerKey(nil)
		if err != nil {
			return nil, err
		}
		nicRow.ours = append(nicRow.ours, b)
		if b, err = rr.bytesPerKey([]string{tab, tab}); err != nil {
			return nil, err
		}
		ruleRow.ours = append(ruleRow.ours, b)
	}
	return []row{nicRow, ruleRow}, nil
}
