package main

import (
	"bytes"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/format"
)

// fakeClock advances by step on every reading.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time { c.t = c.t.Add(c.step); return c.t }

// feed reports total steps in batches of 1024, as netcfg.Apply does.
func feed(p *progress, total int) {
	for done := 1024; ; done += 1024 {
		p.update(min(done, total), total)
		if done >= total {
			break
		}
	}
	p.finish()
}

var (
	logLine  = regexp.MustCompile(`^applied (\d+) of (\d+) steps, \d+ steps/s, (under 1 s|\d+ s|\d+ min \d\d s) left$`)
	liveLine = regexp.MustCompile(`^applied (\d+) of (\d+) steps(, \d+ steps/s(, (under 1 s|\d+ s|\d+ min \d\d s) left)?)?$`)
)

// checkLog checks stderr off a terminal: whole progress lines, no
// carriage return, and returns how many there were.
func checkLog(t *testing.T, out string) int {
	t.Helper()
	if strings.ContainsAny(out, "\r\x1b") {
		t.Fatalf("progress off a terminal holds a carriage return or escape: %q", out)
	}
	n := 0
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(l, "applied ") {
			continue
		}
		if !logLine.MatchString(l) {
			t.Errorf("progress line %q is not one whole line with rate and time left", l)
		}
		n++
	}
	return n
}

func TestProgressOffATerminal(t *testing.T) {
	// 98 batches, 100 ms apart: 9.8 s in all, so one line at 5 s.
	clk := &fakeClock{t: time.Unix(0, 0), step: 100 * time.Millisecond}
	var b bytes.Buffer
	p := newProgress(&b, false, clk.now)
	feed(p, 100_000)
	if n := checkLog(t, b.String()); n != 1 {
		t.Errorf("%d lines in 9.8 s, want one every 5 s: %q", n, b.String())
	}
	if !strings.HasPrefix(b.String(), "applied 51200 of 100000 steps, 10240 steps/s, 5 s left\n") {
		t.Errorf("progress = %q", b.String())
	}

	// A short apply writes nothing at all.
	b.Reset()
	clk.step = time.Millisecond
	feed(newProgress(&b, false, clk.now), 100_000)
	if b.Len() != 0 {
		t.Errorf("a 0.1 s apply wrote %q", b.String())
	}
}

// frames splits what was drawn on a terminal into its frames, checking
// that each is drawn over the last (carriage return, erase line).
func frames(t *testing.T, out string) []string {
	t.Helper()
	out = strings.TrimRight(out, "\r\n")
	if !strings.HasPrefix(out, "\r\x1b[K") {
		t.Fatalf("the live line does not start by erasing the line: %q", out)
	}
	fs := strings.Split(strings.TrimPrefix(out, "\r\x1b[K"), "\r\x1b[K")
	for _, f := range fs {
		if !liveLine.MatchString(f) {
			t.Errorf("frame %q is not a progress line", f)
		}
	}
	return fs
}

func TestProgressOnATerminal(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0), step: 50 * time.Millisecond}
	var b bytes.Buffer
	feed(newProgress(&b, true, clk.now), 100_000)
	out := b.String()
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("the live line is not ended by one newline: %q", out)
	}
	fs := frames(t, out)
	// A batch every 50 ms, redrawn at most every 100 ms: half of the 98
	// batches, and the last always.
	if len(fs) < 45 || len(fs) > 50 {
		t.Errorf("%d frames for 98 batches 50 ms apart", len(fs))
	}
	if fs[len(fs)-1] != "applied 100000 of 100000 steps, 20408 steps/s" {
		t.Errorf("last frame %q", fs[len(fs)-1])
	}
	if !strings.Contains(fs[len(fs)/2], " left") {
		t.Errorf("a frame mid-way gives no time left: %q", fs[len(fs)/2])
	}
	b.Reset()
	feed(newProgress(&b, true, clk.now), progressMin)
	if b.Len() != 0 {
		t.Errorf("an apply of %d steps drew %q", progressMin, b.String())
	}
}

// TestProgressOfALongRollback runs a rollback of 12,000 routes with
// stderr on a pipe and on a pseudo-terminal.
func TestProgressOfALongRollback(t *testing.T) {
	c := newCLI(t)
	const n = 12_000
	now := time.Now().UTC().Add(-time.Hour)
	st, err := snapshots.OpenStore(c.stateDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	big := &netcfg.Owned{}
	for i := range n {
		big.Routes = append(big.Routes, netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Proto: netcfg.ProtoNictab, Dev: "eno1",
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + i>>8), byte(i), 0}), 24)})
	}
	saved := map[string]string{}
	for _, s := range []struct {
		name string
		res  *netcfg.Owned
	}{{"empty", &netcfg.Owned{}}, {"big", big}} {
		snap := &format.Snapshot{Version: format.Version, Meta: &format.Meta{Time: now, Kind: "save", Netns: c.ns.Name}, Resolved: s.res}
		if err := st.Save(snap); err != nil {
			t.Fatal(err)
		}
		saved[s.name] = snap.Meta.ID
		now = now.Add(time.Minute)
	}

	r := c.run("rollback", saved["big"], "--yes")
	if r.code != 0 {
		t.Fatalf("rollback to %d routes: %s", n, r)
	}
	if got := strings.Count(c.ns.IP("route", "show", "table", "100"), "\n"); got != n {
		t.Fatalf("table 100 holds %d routes after the rollback, want %d", got, n)
	}
	// The rollback takes well under progressLog here, so whatever it wrote
	// must be whole lines, and there are none of progress.
	checkLog(t, r.stderr)

	master, slave := openPty(t, 120, 24)
	cmd := c.cmd("rollback", saved["empty"], "--yes")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, slave
	drawn := make(chan string, 1)
	go func() { b, _ := io.ReadAll(master); drawn <- string(b) }()
	if err := cmd.Run(); err != nil {
		t.Fatalf("rollback with stderr on a terminal: %v\n%s", err, stdout.String())
	}
	slave.Close()
	// Closing our end of the slave may not end the master's read if the
	// kernel keeps the pty open; read what is there.
	var out string
	select {
	case out = <-drawn:
	case <-time.After(2 * time.Second):
		master.Close()
		out = <-drawn
	}
	if got := c.ns.IP("route", "show", "table", "100"); got != "" {
		t.Fatalf("table 100 after the rollback to the empty snapshot: %d lines", strings.Count(got, "\n"))
	}
	fs := frames(t, strings.TrimRight(out, "\r\n"))
	last := liveLine.FindStringSubmatch(fs[len(fs)-1])
	if last == nil || last[1] != last[2] || last[2] != strconv.Itoa(n) {
		t.Errorf("the last frame on the terminal is %q, want all %d steps", fs[len(fs)-1], n)
	}
	if !strings.HasSuffix(out, "\r\n") {
		t.Errorf("the live line is not ended: %q", out[max(0, len(out)-80):])
	}
}
