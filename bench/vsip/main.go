//go:build linux

// Command vsip times nictab beside iproute2's ip on the same work, in the
// same network namespaces, in one run, and prints the medians, their
// ratios and whether each meets its target. bench/vs-iproute2.sh builds
// nictab and this program and runs it; bench/README.md explains the rows.
//
// Everything happens inside namespaces vsip creates and deletes again,
// also when it is interrupted.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	nictab string
	runs   int
	prefix string
	routes int
	rules  int
	main   int
	main6  int
	other  int
	only   string
	keep   bool
	rmdir  string
	tmp    string
	// keepState is where the cli group leaves its state directory (for
	// the terminal UI's start-up, timed by bench/ttystart); "" drops it.
	keepState string
}

func main() {
	var o options
	flag.StringVar(&o.nictab, "nictab", "", "the nictab binary to time (for the show rows)")
	flag.IntVar(&o.runs, "runs", 5, "repetitions of every measurement (at least 3)")
	flag.StringVar(&o.prefix, "prefix", fmt.Sprintf("vsip%d", os.Getpid()), "prefix of the namespaces made")
	flag.IntVar(&o.routes, "routes", 100_000, "routes added and deleted by the apply rows")
	flag.IntVar(&o.rules, "rules", 10_000, "rules added and deleted by the rule rows")
	flag.IntVar(&o.main, "main", 1_000_000, "routes in main for the detection rows")
	flag.IntVar(&o.main6, "main6", 200_000, "IPv6 routes in main for the internet rows")
	flag.IntVar(&o.other, "other", 100_000, "routes in an unrelated table for the detection rows")
	flag.StringVar(&o.only, "only", "apply,rules,show,table", "row groups to run (and cli: the commands end to end, bench/cli-e2e.sh)")
	flag.StringVar(&o.rmdir, "rmdir", "", "a directory to remove on the way out (the script's build directory)")
	flag.StringVar(&o.keepState, "keep-state", "", "cli group: move the state directory it made here at the end")
	flag.BoolVar(&o.keep, "keep", false, "leave the namespaces of the last group for inspection (delete them with ip netns del)")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "vsip: run as root: it creates network namespaces and writes routes in them")
		os.Exit(2)
	}
	if o.runs < 3 {
		fmt.Fprintln(os.Stderr, "vsip: -runs must be at least 3")
		os.Exit(2)
	}
	var err error
	if o.tmp, err = os.MkdirTemp("", "vsip"); err != nil {
		fmt.Fprintln(os.Stderr, "vsip:", err)
		os.Exit(1)
	}
	set := &nsSet{prefix: o.prefix}
	var once sync.Once
	cleanup := func() {
		once.Do(func() {
			if o.keep {
				fmt.Fprintf(os.Stderr, "vsip: left namespaces %v\n", set.names)
				set.names = nil
			}
			set.deleteAll()
			os.RemoveAll(o.tmp)
			if o.rmdir != "" {
				os.RemoveAll(o.rmdir)
			}
		})
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "vsip: %v: removing the namespaces\n", s)
		cleanup()
		os.Exit(130)
	}()
	rows, err := run(o, set)
	cleanup()
	if len(rows) > 0 {
		printRows(rows)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vsip:", err)
		os.Exit(1)
	}
	for _, r := range rows {
		if !r.pass() {
			os.Exit(1)
		}
	}
}

func run(o options, set *nsSet) ([]row, error) {
	var rows []row
	groups := strings.Split(o.only, ",")
	steps := []struct {
		name string
		fn   func(options, *nsSet) ([]row, error)
	}{
		{"apply", benchApply},
		{"rules", benchRules},
		{"show", benchShow},
		{"internet", benchInternet},
		{"keys", benchKeys},
		{"cli", func(o options, set *nsSet) ([]row, error) { return nil, benchCLI(o, set) }},
	}
	for _, s := range steps {
		if !slices.Contains(groups, s.name) && !(s.name == "show" && slices.Contains(groups, "table")) {
			continue
		}
		r, err := s.fn(o, set)
		for i := range r {
			r[i].load = loadavg()
		}
		rows = append(rows, r...)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", s.name, err)
		}
		if !o.keep {
			set.deleteAll()
		}
		runtime.GC()
	}
	return rows, nil
}

// row is one line of the result table: nictab's measurements beside the
// baseline's (ip, or nictab itself without the big tables).
type row struct {
	work     string
	baseline string // what ours is compared with
	unit     string // "s", "ms" or "MB"
	ours     []float64
	theirs   []float64 // nil for a row with an absolute limit
	limit    float64   // the highest ratio, or value, that passes
	// kernel is the raw writer's times for the same writes (see raw.go),
	// nil for a row that writes nothing; kernelLimit is the highest
	// ratio to it that passes.
	kernel      []float64
	kernelLimit float64
	// quiet is the raw writer's times with one ACK per window, as nictab
	// writes: shown beside the limit, not judged.
	quiet []float64
	// info marks a row that has no target: it shows a cost that is the
	// kernel's, beside the rows that have one.
	info bool
	// load is the load average when the row's last measurement ended:
	// the machine may be shared, and the figures move with it.
	load string
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r row) value() float64 {
	if r.theirs == nil {
		return median(r.ours)
	}
	return median(r.ours) / median(r.theirs)
}

func (r row) kernelRatio() float64 { return median(r.ours) / median(r.kernel) }

// pass judges a write row on the limit alone: ip -batch's speed moves
// with the machine (its userland cost dominates), so its ratio is shown,
// not judged.
func (r row) pass() bool {
	switch {
	case r.info:
		return true
	case len(r.ours) == 0:
		return false
	case r.kernel != nil:
		return r.kernelRatio() <= r.kernelLimit
	}
	return r.value() <= r.limit
}

// loadavg is /proc/loadavg's first three fields.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// printRows prints the result table, ready to paste into the README,
// with the load average each row was measured under.
func printRows(rows []row) {
	fmt.Println("| work | nictab | baseline | ratio | target | limit (raw rtnetlink) | ÷ limit | target | one-ACK writer | ÷ it | | load |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
	for _, r := range rows {
		res := "FAIL"
		switch {
		case r.info:
			res = "—"
		case r.pass():
			res = "PASS"
		}
		ours := fmtVal(median(r.ours), r.unit)
		if r.theirs == nil {
			fmt.Printf("| %s | %s | | | ≤ %s | | | | | | %s | %s |\n", r.work, ours, fmtVal(r.limit, r.unit), res, r.load)
			continue
		}
		lim, target := "| | | | |", fmt.Sprintf("≤ %.2f×", r.limit)
		if r.kernel != nil {
			quiet := " | |"
			if r.quiet != nil {
				quiet = fmt.Sprintf(" %s | %.3f× |", fmtVal(median(r.quiet), r.unit), median(r.ours)/median(r.quiet))
			}
			lim = fmt.Sprintf("%s | %.3f× | ≤ %.2f× |%s", fmtVal(median(r.kernel), r.unit), r.kernelRatio(), r.kernelLimit, quiet)
			target = "(shown)"
		}
		if r.info {
			target = ""
		}
		fmt.Printf("| %s | %s | %s: %s | %.3f× | %s | %s %s | %s |\n", r.work, ours, r.baseline, fmtVal(median(r.theirs), r.unit), r.value(), target, lim, res, r.load)
	}
}

func fmtVal(v float64, unit string) string {
	switch unit {
	case "s":
		return fmt.Sprintf("%.3f s", v)
	case "ms":
		return fmt.Sprintf("%.1f ms", v)
	case "MB":
		return fmt.Sprintf("%.1f MB", v)
	case "B":
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprint(v)
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }
