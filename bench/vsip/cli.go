//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// The cli group times the commands a person runs, end to end (process
// start to exit), on a file of o.routes routes, one
// {table, to, via, dev} line each: `plan -f`, `apply -f --yes` (file to
// confirmed snapshot), `snapshot list`, `snapshot show` and `rollback`
// (which deletes them again), each beside the raw writer's add or delete
// of the same routes in the same repetition, and `snapshot list` beside
// the same with an empty history. Peak RSS comes from /usr/bin/time.

// measured is one command's wall time and peak RSS in one repetition.
type measured struct{ secs, mb float64 }

// cliRow is one line of the result: nictab's runs, and the baseline's.
type cliRow struct {
	work, baseline string
	ours, theirs   []measured
	// quiet is the raw writer's time with one ACK per window, as nictab
	// writes: shown beside the limit, not judged.
	quiet     []float64
	target    float64 // the highest ratio that passes; 0: none
	rssTarget float64 // MB; 0: none
	abs       float64 // the highest median time that passes, s; 0: none
}

// runMeasured runs a command under /usr/bin/time, its output thrown away,
// and returns its wall time and peak RSS.
func runMeasured(tmp string, env []string, name string, args ...string) (measured, error) {
	out := filepath.Join(tmp, "rss")
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", out, name}, args...)...)
	cmd.Env = env
	var errb strings.Builder
	cmd.Stderr = &errb
	t := time.Now()
	err := cmd.Run()
	d := since(t)
	if err != nil {
		return measured{}, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, errb.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return measured{}, err
	}
	kb, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return measured{}, fmt.Errorf("/usr/bin/time printed %q: %w", b, err)
	}
	return measured{d, kb / 1024}, nil
}

// cliEnv is the environment nictab runs in: no SSH session, so that no
// confirm window opens, and no terminal.
func cliEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SSH_") {
			env = append(env, e)
		}
	}
	return env
}

// writeRouteFile writes the snapshot file of routes, one line each.
func writeRouteFile(path string, routes []netcfg.Route) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "version: 1\ncomment: %d routes\nroutes:\n", len(routes))
	for i := range routes {
		r := &routes[i]
		fmt.Fprintf(w, "  - {table: %d, to: %s, via: %s, dev: %s}\n", r.Table, r.Dst, r.Gw, r.Dev)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// newestID is the newest snapshot's id in state.
func newestID(env []string, bin, ns, state string) (string, error) {
	cmd := exec.Command(bin, "--netns", ns, "--state-dir", state, "snapshot", "list", "--json")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("snapshot list --json: %w", err)
	}
	var list []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return "", fmt.Errorf("snapshot list --json: %w", err)
	}
	if len(list) == 0 {
		return "", errors.New("snapshot list --json: no snapshot")
	}
	newest := list[0].ID
	for _, s := range list {
		newest = max(newest, s.ID)
	}
	return newest, nil
}

func benchCLI(o options, set *nsSet) error {
	if o.nictab == "" {
		return errors.New("-nictab is needed for the cli rows")
	}
	ns, err := set.add("cli")
	if err != nil {
		return err
	}
	if err := veth(ns, "sc0", "10.0.0.1/16"); err != nil {
		return err
	}
	g := routeGen{table: 100, gw: netip.MustParseAddr("10.0.0.2"), dev: "sc0", proto: netcfg.ProtoNictab, skip: map[uint32]bool{10: true, 127: true}}
	routes := g.routes(o.routes)
	file := filepath.Join(o.tmp, "routes.yaml")
	if err := writeRouteFile(file, routes); err != nil {
		return err
	}
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	raw, err := rawOpen(ns)
	if err != nil {
		return err
	}
	defer raw.close()
	rawAdd, rawDel, err := raw.rawRoutes(ns, routes)
	if err != nil {
		return err
	}
	routes = nil
	state, empty := filepath.Join(o.tmp, "state"), filepath.Join(o.tmp, "empty")
	for _, d := range []string{state, empty} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	env := cliEnv()
	n := o.routes
	rows := []*cliRow{
		{work: fmt.Sprintf("`nictab plan -f` (%d routes to add)", n), baseline: "", abs: 0.5, rssTarget: 150},
		{work: fmt.Sprintf("`nictab apply -f --yes` (add %d routes)", n), baseline: "limit: raw add", target: 1.5, rssTarget: 300},
		{work: "`nictab snapshot list`", baseline: "empty history", target: 1.1, rssTarget: 300},
		{work: fmt.Sprintf("`nictab snapshot show` (the %d-route snapshot)", n), rssTarget: 300},
		{work: fmt.Sprintf("`nictab rollback --yes` (delete %d routes)", n), baseline: "limit: raw delete", target: 1.5, rssTarget: 300},
	}
	nictab := func(args ...string) []string {
		return append([]string{"--netns", ns, "--state-dir", state}, args...)
	}
	fmt.Fprintf(os.Stderr, "cli: %d routes, file %d bytes\n", n, fi.Size())
	for rep := range o.runs {
		fmt.Fprintf(os.Stderr, "cli: repetition %d of %d, load %s\n", rep+1, o.runs, loadavg())
		// The limit, on the same routes, right before nictab's turn.
		addT, err := raw.send(rawAdd)
		if err != nil {
			return fmt.Errorf("raw add: %w", err)
		}
		delT, err := raw.send(rawDel)
		if err != nil {
			return fmt.Errorf("raw delete: %w", err)
		}
		rows[1].theirs = append(rows[1].theirs, measured{secs: addT})
		rows[4].theirs = append(rows[4].theirs, measured{secs: delT})
		if addT, err = raw.sendQuiet(rawAdd); err != nil {
			return fmt.Errorf("raw add, one ACK per window: %w", err)
		}
		if delT, err = raw.sendQuiet(rawDel); err != nil {
			return fmt.Errorf("raw delete, one ACK per window: %w", err)
		}
		rows[1].quiet = append(rows[1].quiet, addT)
		rows[4].quiet = append(rows[4].quiet, delT)
		steps := []struct {
			row  *cliRow
			args []string
		}{
			{rows[0], nictab("plan", "-f", file)},
			{rows[1], nictab("apply", "-f", file, "--yes", "-m", "bench")},
		}
		for _, s := range steps {
			m, err := runMeasured(o.tmp, env, o.nictab, s.args...)
			if err != nil {
				return err
			}
			s.row.ours = append(s.row.ours, m)
		}
		// A listing takes a few ms: each repetition is the median of
		// several, the two histories interleaved.
		var emptyList, fullList []measured
		for range 5 {
			m, err := runMeasured(o.tmp, env, o.nictab, "--netns", ns, "--state-dir", empty, "snapshot", "list")
			if err != nil {
				return err
			}
			emptyList = append(emptyList, m)
			if m, err = runMeasured(o.tmp, env, o.nictab, nictab("snapshot", "list")...); err != nil {
				return err
			}
			fullList = append(fullList, m)
		}
		rows[2].theirs = append(rows[2].theirs, medianMeasured(emptyList))
		rows[2].ours = append(rows[2].ours, medianMeasured(fullList))
		id, err := newestID(env, o.nictab, ns, state)
		if err != nil {
			return err
		}
		m, err := runMeasured(o.tmp, env, o.nictab, nictab("snapshot", "show", id)...)
		if err != nil {
			return err
		}
		rows[3].ours = append(rows[3].ours, m)
		if m, err = runMeasured(o.tmp, env, o.nictab, nictab("rollback", "--steps", "1", "--yes", "-m", "bench back")...); err != nil {
			return err
		}
		rows[4].ours = append(rows[4].ours, m)
	}
	if o.keepState != "" {
		// The history is left with the big apply newest, as the terminal
		// UI would find it after one.
		if _, err := runMeasured(o.tmp, env, o.nictab, nictab("apply", "-f", file, "--yes", "-m", "bench")...); err != nil {
			return err
		}
		if err := os.Rename(state, o.keepState); err != nil {
			return fmt.Errorf("keep the state directory: %w", err)
		}
	}
	printCLI(o, rows)
	return nil
}

// medianMeasured is the median time of ms with the largest peak RSS.
func medianMeasured(ms []measured) measured {
	m := measured{secs: medianOf(ms, secs)}
	for _, x := range ms {
		m.mb = max(m.mb, x.mb)
	}
	return m
}

func medianOf(ms []measured, f func(measured) float64) float64 {
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	return median(v)
}

func secs(m measured) float64 { return m.secs }
func mb(m measured) float64   { return m.mb }

// printCLI prints the rows as the README's table rows, medians of the
// repetitions, with the load the run ended at.
func printCLI(o options, rows []*cliRow) {
	fmt.Printf("\nnictab end to end, %d routes, medians of %d, load at the end %s\n\n", o.routes, o.runs, loadavg())
	fmt.Println("| command | nictab | peak RSS | baseline | ratio (target) | one-ACK writer | ÷ it | |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		t, rss := medianOf(r.ours, secs), medianOf(r.ours, mb)
		maxRSS := 0.0
		for _, m := range r.ours {
			maxRSS = max(maxRSS, m.mb)
		}
		pass := r.rssTarget == 0 || maxRSS <= r.rssTarget
		base, ratio := "", ""
		if r.theirs != nil {
			b := medianOf(r.theirs, secs)
			base = fmt.Sprintf("%s %s", r.baseline, fmtTime(b))
			ratio = fmt.Sprintf("%.3f× (≤ %.2f×)", t/b, r.target)
			pass = pass && t/b <= r.target
		}
		if r.abs > 0 {
			ratio = fmt.Sprintf("(≤ %s)", fmtTime(r.abs))
			pass = pass && t <= r.abs
		}
		res := "PASS"
		if !pass {
			res = "FAIL"
		}
		rssText := fmt.Sprintf("%.0f MB", rss)
		if r.rssTarget > 0 {
			rssText += fmt.Sprintf(" (≤ %.0f)", r.rssTarget)
		}
		quiet := "| "
		if r.quiet != nil {
			q := median(r.quiet)
			quiet = fmt.Sprintf("%s | %.3f×", fmtTime(q), t/q)
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n", r.work, fmtTime(t), rssText, base, ratio, quiet, res)
	}
}

func fmtTime(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.1f ms", s*1000)
	}
	return fmt.Sprintf("%.3f s", s)
}
