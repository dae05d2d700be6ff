//go:build linux

package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// showNS makes a namespace shaped like a dual-homed server that nictab
// manages: two NICs with gateways and default routes in main, and a rule
// that sends eno1's traffic to table 13.
func showNS(set *nsSet, suffix string) (string, error) {
	ns, err := seedNS(set, suffix)
	if err != nil {
		return "", err
	}
	for _, c := range [][]string{
		{"route", "add", "192.168.10.0/24", "dev", "eno1", "scope", "link", "src", "192.168.10.2", "table", "13", "proto", "201"},
		{"route", "add", "default", "via", "192.168.10.1", "dev", "eno1", "table", "13", "proto", "201"},
		{"rule", "add", "from", "192.168.10.2", "lookup", "13", "pref", "1000", "proto", "201"},
	} {
		if err := ip(append([]string{"-n", ns}, c...)...); err != nil {
			return "", err
		}
	}
	return ns, nil
}

// timeCmd runs a command with its output thrown away and returns its wall
// time.
func timeCmd(name string, args ...string) (float64, error) {
	d, _, err := timeCmdCPU(name, args...)
	return d, err
}

// timeCmdCPU is timeCmd that also returns the CPU time the command spent
// in user space (from its rusage): its own work, apart from what the
// kernel did on its behalf.
func timeCmdCPU(name string, args ...string) (wall, user float64, err error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, 0, err
	}
	defer devnull.Close()
	var errb strings.Builder
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = devnull, &errb
	t := time.Now()
	err = cmd.Run()
	d := since(t)
	if err != nil {
		return 0, 0, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, errb.String())
	}
	return d, cmd.ProcessState.UserTime().Seconds(), nil
}

// peakRSS runs a command under /usr/bin/time and returns its peak RSS in
// MB.
//
// NOTE: the rusage Go reports for a child is no use here: Go starts
// children with vfork semantics, so their peak counts this program's own
// memory, which holds the generated tables.
func peakRSS(tmp, name string, args ...string) (float64, error) {
	out := filepath.Join(tmp, "rss")
	a := append([]string{"-f", "%M", "-o", out, name}, args...)
	if _, err := timeCmd("/usr/bin/time", a...); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return 0, err
	}
	kb, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return 0, fmt.Errorf("/usr/bin/time printed %q: %w", b, err)
	}
	return kb / 1024, nil
}

func benchShow(o options, set *nsSet) ([]row, error) {
	if o.nictab == "" {
		return nil, errors.New("-nictab is needed for the show rows")
	}
	groups := strings.Split(o.only, ",")
	empty, err := showNS(set, "empty")
	if err != nil {
		return nil, err
	}
	big, err := showNS(set, "big")
	if err != nil {
		return nil, err
	}
	skip := map[uint32]bool{10: true, 127: true, 192: true}
	t := time.Now()
	bgp := routeGen{table: netcfg.TableMain, gw: netip.MustParseAddr("192.168.20.1"), dev: "enp2s0", proto: 186, skip: skip}
	if err := load(big, &bgp, o.main); err != nil {
		return nil, err
	}
	other := routeGen{table: 200, gw: netip.MustParseAddr("192.168.10.1"), dev: "eno1", proto: netcfg.ProtoStatic, skip: skip, next: 5_000_000}
	if err := load(big, &other, o.other); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "vsip: loaded %d routes into main and %d into table 200 in %.1f s\n", o.main, o.other, since(t))

	var rows []row
	if slices.Contains(groups, "show") {
		start := row{work: fmt.Sprintf("`nictab show`, %dk routes in main + %dk in table 200", o.main/1000, o.other/1000), baseline: "same, tables empty", unit: "ms", limit: 1.1}
		abs := row{work: "`nictab show` with those tables", unit: "ms", limit: 200}
		// Short commands are noisy: each run times twenty of each,
		// interleaved, and keeps the median.
		for range o.runs {
			var e, b []float64
			for range 20 {
				d, err := timeCmd(o.nictab, "--netns", empty, "--no-color", "show")
				if err != nil {
					return rows, err
				}
				e = append(e, d*1000)
				if d, err = timeCmd(o.nictab, "--netns", big, "--no-color", "show"); err != nil {
					return rows, err
				}
				b = append(b, d*1000)
			}
			start.theirs = append(start.theirs, median(e))
			start.ours = append(start.ours, median(b))
		}
		abs.ours = start.ours
		rows = append(rows, start, abs)
	}
	if slices.Contains(groups, "table") {
		list := row{work: fmt.Sprintf("`nictab show --table main`, %dk routes", o.main/1000), baseline: "ip route show table main", unit: "s", limit: 0.5}
		rss := row{work: "peak RSS of `nictab show --table main`", unit: "MB", limit: 50}
		for range o.runs {
			d, err := timeCmd("ip", "-n", big, "route", "show", "table", "main")
			if err != nil {
				return rows, err
			}
			list.theirs = append(list.theirs, d)
			if d, err = timeCmd(o.nictab, "--netns", big, "--no-color", "show", "--table", "main"); err != nil {
				return rows, err
			}
			list.ours = append(list.ours, d)
			mb, err := peakRSS(o.tmp, o.nictab, "--netns", big, "--no-color", "show", "--table", "main")
			if err != nil {
				return rows, err
			}
			rss.ours = append(rss.ours, mb)
		}
		rows = append(rows, list, rss)
	}
	return rows, nil
}
