//go:build linux

package main

import (
	"fmt"
	"net/netip"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// timeIP runs `ip -n ns -batch file` and returns how long it took.
func timeIP(ns, file string) (float64, error) {
	t := time.Now()
	out, err := exec.Command("ip", "-n", ns, "-batch", file).CombinedOutput()
	d := since(t)
	if err != nil {
		return 0, fmt.Errorf("ip -batch %s: %v: %s", file, err, firstLine(out))
	}
	return d, nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

// engine is nictab's apply engine bound to one namespace, as `nictab
// apply` drives it: detect, plan, then netcfg.Apply, which checks the plan
// is current, writes with an ACK per request, reads back and verifies.
type engine struct {
	ns    string
	k     netcfg.Kernel
	names func() netcfg.Names
}

func newEngine(ns string) (*engine, error) {
	k, err := kernel.Open(ns)
	if err != nil {
		return nil, err
	}
	paths := netcfg.DefaultNamePaths(ns)
	return &engine{ns: ns, k: k, names: func() netcfg.Names { return netcfg.LoadNames(paths) }}, nil
}

// plan is not timed: ip -batch has nothing like it. The plan benchmark
// (go test -bench PlanRoutes ./netcfg/) measures it. The state is read
// under a change monitor (kernel.DetectWatched): the stale check
// then reads the kernel again only if the monitor heard of a change.
func (e *engine) plan(want netcfg.Desired) (netcfg.Plan, *netcfg.Watched, error) {
	w, err := kernel.DetectWatched(e.k, e.names(), netcfg.DetectOptions{Tables: want.Tables, Owned: true})
	if err != nil {
		return netcfg.Plan{}, nil, err
	}
	return w.Plan(want), w, nil
}

// apply plans the move to want and times netcfg.Apply of that plan.
func (e *engine) apply(want netcfg.Desired, steps int) (float64, error) {
	p, w, err := e.plan(want)
	if err != nil {
		return 0, err
	}
	defer w.Close()
	if n := len(p.Ops()); n != steps {
		return 0, fmt.Errorf("plan has %d steps, want %d", n, steps)
	}
	runtime.GC()
	t := time.Now()
	_, err = netcfg.Apply(e.k, p, netcfg.ApplyOptions{LoadNames: e.names, Watched: w})
	d := since(t)
	if err != nil {
		return 0, err
	}
	return d, nil
}

func benchApply(o options, set *nsSet) ([]row, error) {
	add := row{work: fmt.Sprintf("add %d routes to a table", o.routes), baseline: "ip -batch", unit: "s", limit: 0.2, kernelLimit: 1.25}
	del := row{work: fmt.Sprintf("delete %d routes", o.routes), baseline: "ip -batch", unit: "s", limit: 0.2, kernelLimit: 1.25}
	ns, err := set.add("apply")
	if err != nil {
		return nil, err
	}
	if err := veth(ns, "sc0", "10.0.0.1/16"); err != nil {
		return nil, err
	}
	g := routeGen{table: 100, gw: netip.MustParseAddr("10.0.0.2"), dev: "sc0", proto: netcfg.ProtoNictab, skip: map[uint32]bool{10: true, 127: true}}
	routes := g.routes(o.routes)
	addLines := make([]string, len(routes))
	delLines := make([]string, len(routes))
	for i := range routes {
		s := netcfg.RouteString(&routes[i])
		addLines[i], delLines[i] = "route add "+s, "route del "+s
	}
	raw, err := rawOpen(ns)
	if err != nil {
		return nil, err
	}
	defer raw.close()
	rawAdd, rawDel, err := raw.rawRoutes(ns, routes)
	if err != nil {
		return nil, err
	}
	w := writes{addLines, delLines, rawAdd, rawDel}
	if err := addThenDelete(o, ns, "routes", w, raw, netcfg.Desired{Owned: netcfg.Owned{Routes: routes}, Tables: []uint32{100}}, len(routes), &add, &del); err != nil {
		return nil, err
	}
	return []row{add, del}, nil
}

func benchRules(o options, set *nsSet) ([]row, error) {
	add := row{work: fmt.Sprintf("add %d rules", o.rules), baseline: "ip -batch", unit: "s", limit: 0.7, kernelLimit: 1.1}
	del := row{work: fmt.Sprintf("delete %d rules", o.rules), baseline: "ip -batch", unit: "s", limit: 0.7, kernelLimit: 1.1}
	ns, err := set.add("rules")
	if err != nil {
		return nil, err
	}
	rules := make([]netcfg.Rule, o.rules)
	addLines := make([]string, len(rules))
	delLines := make([]string, len(rules))
	for i := range rules {
		r := netcfg.NewRule()
		r.Family, r.Priority, r.Table, r.Proto = netcfg.V4, uint32(1000+i), 100, netcfg.ProtoNictab
		r.From = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), 32)
		rules[i] = r
		addLines[i] = strings.TrimPrefix(netcfg.RuleCommand("add", &r), "ip ")
		delLines[i] = strings.TrimPrefix(netcfg.RuleCommand("del", &r), "ip ")
	}
	raw, err := rawOpen(ns)
	if err != nil {
		return nil, err
	}
	defer raw.close()
	rawAdd, rawDel := raw.rawRules(rules)
	w := writes{addLines, delLines, rawAdd, rawDel}
	if err := addThenDelete(o, ns, "rules", w, raw, netcfg.Desired{Owned: netcfg.Owned{Rules: rules}, Tables: []uint32{100}}, len(rules), &add, &del); err != nil {
		return nil, err
	}
	return []row{add, del}, nil
}

// writes are the same additions and deletions as ip -batch lines and as
// raw rtnetlink requests.
type writes struct {
	addLines, delLines []string
	rawAdd, rawDel     [][]byte
}

// addThenDelete times, o.runs times over, ip -batch adding then deleting
// the lines, the raw writer doing the same (the limit), and nictab
// applying full then an empty table 100. nictab's plan must find exactly
// n steps each time, so what ip or the raw writer left behind cannot go
// unnoticed.
func addThenDelete(o options, ns, name string, w writes, raw *rawConn, full netcfg.Desired, n int, add, del *row) error {
	addFile, err := writeBatch(o.tmp, name+"-add", w.addLines)
	if err != nil {
		return err
	}
	delFile, err := writeBatch(o.tmp, name+"-del", w.delLines)
	if err != nil {
		return err
	}
	// The lines are in the files now; held, they would be heap that every
	// collection during nictab's applies scans.
	w.addLines, w.delLines = nil, nil
	e, err := newEngine(ns)
	if err != nil {
		return err
	}
	defer e.k.Close()
	empty := netcfg.Desired{Tables: full.Tables}
	for range o.runs {
		d, err := timeIP(ns, addFile)
		if err != nil {
			return err
		}
		add.theirs = append(add.theirs, d)
		if d, err = timeIP(ns, delFile); err != nil {
			return err
		}
		del.theirs = append(del.theirs, d)
		runtime.GC()
		if d, err = raw.send(w.rawAdd); err != nil {
			return fmt.Errorf("raw writer, add: %w", err)
		}
		add.kernel = append(add.kernel, d)
		if d, err = raw.send(w.rawDel); err != nil {
			return fmt.Errorf("raw writer, delete: %w", err)
		}
		del.kernel = append(del.kernel, d)
		if d, err = raw.sendQuiet(w.rawAdd); err != nil {
			return fmt.Errorf("raw writer, add, one ACK per window: %w", err)
		}
		add.quiet = append(add.quiet, d)
		if d, err = raw.sendQuiet(w.rawDel); err != nil {
			return fmt.Errorf("raw writer, delete, one ACK per window: %w", err)
		}
		del.quiet = append(del.quiet, d)
		if d, err = e.apply(full, n); err != nil {
			return err
		}
		add.ours = append(add.ours, d)
		if d, err = e.apply(empty, n); err != nil {
			return err
		}
		del.ours = append(del.ours, d)
	}
	return nil
}
