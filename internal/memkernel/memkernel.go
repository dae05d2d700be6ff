//go:build linux

// Package memkernel is an in-memory stand-in for one network namespace's
// rtnetlink: links with addresses, rules and routes, written through the
// same netcfg.Kernel interface the real executor implements, refused with
// the errno the kernel gives. It lets the plan, apply, revert and recover
// logic run in tests without root; oracle_linux_test.go checks it against
// a real namespace.
//
// What it models is what nictab sends: routes added with CREATE|EXCL,
// replaced with CREATE|REPLACE and deleted; rules added with CREATE|EXCL
// and deleted. IPv6 multipath routes (siblings) and nexthop objects are
// not modelled: ops that use them are refused with an error saying so, so
// that no test passes on behaviour the kernel does not have.
package memkernel

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"syscall"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// Kernel is one in-memory namespace. It is safe for concurrent use (the
// engine's watchdog reads and writes from its own goroutine).
type Kernel struct {
	mu     sync.Mutex
	links  []netcfg.Link
	rules  [2][]netcfg.Rule // per family, in the order the kernel walks them
	routes []netcfg.Route   // in insertion order; dumps sort by identity
	log    []string
	// tables6 are the IPv6 tables that exist: the kernel makes one at
	// the first route add naming it and never removes it.
	tables6 map[uint32]bool

	received int // ops received by Exec so far, refused ones included
	calls    int
	faults   map[int]error

	// Window is how many ops one Exec handles before it looks at the
	// answers, as the real executor's pipelined window: after a refusal
	// the rest of the window is still carried out (and reported as
	// Stray), nothing after it. 0 is one window for the whole call, which
	// is what the real executor does for batches up to its window (1024
	// requests or more).
	Window int
	// BeforeExec, when set, runs at the start of each Exec call (numbered
	// from 0), before any op of it: a foreign process changing the
	// namespace between nictab's read and its write. It may call Foreign.
	BeforeExec func(call int)
}

// New returns an empty namespace: no links, the kernel's default rules,
// no routes.
func New() *Kernel {
	k := &Kernel{faults: map[int]error{}, tables6: map[uint32]bool{netcfg.TableMain: true, netcfg.TableLocal: true}}
	for _, d := range []struct {
		f     netcfg.Family
		prio  uint32
		table uint32
	}{{netcfg.V4, 0, netcfg.TableLocal}, {netcfg.V4, 32766, netcfg.TableMain}, {netcfg.V4, 32767, netcfg.TableDefault},
		{netcfg.V6, 0, netcfg.TableLocal}, {netcfg.V6, 32766, netcfg.TableMain}} {
		r := netcfg.NewRule()
		r.Family, r.Priority, r.Table, r.Proto = d.f, d.prio, d.table, netcfg.ProtoKernel
		k.rules[fam(d.f)] = append(k.rules[fam(d.f)], r)
	}
	return k
}

func fam(f netcfg.Family) int {
	if f == netcfg.V6 {
		return 1
	}
	return 0
}

// Open returns k as a netcfg.Kernel, for EngineConfig.Open.
func (k *Kernel) Open() (netcfg.Kernel, error) { return k, nil }

// Close does nothing: the namespace outlives every handle on it.
func (k *Kernel) Close() error { return nil }

// AddLink adds a link, as a test sets one up; its index is the next free.
func (k *Kernel) AddLink(l netcfg.Link) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l.Index = len(k.links) + 1
	l.Addrs = slices.Clone(l.Addrs)
	k.links = append(k.links, l)
}

// Log returns the `ip` command of every op accepted so far, in order;
// writes by Foreign are marked as such.
func (k *Kernel) Log() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.log)
}

// Received is how many ops Exec has sent to the kernel so far, refused
// ones included; an op the executor refuses before sending (an unknown
// device) and ops after it are not counted. FailAt counts in the same
// numbers.
func (k *Kernel) Received() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.received
}

// FailAt makes the kernel refuse the n-th op Exec receives (0-based,
// counted as Received counts) with errno, changing nothing: a fault such
// as ENOBUFS or ENOMEM the plan could not foresee.
func (k *Kernel) FailAt(n int, errno syscall.Errno) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.faults[n] = &kernel.Error{Errno: errno}
}

// Links returns every link with its addresses, ordered by index.
func (k *Kernel) Links() ([]netcfg.Link, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]netcfg.Link, len(k.links))
	for i, l := range k.links {
		out[i] = l
		out[i].Addrs = slices.Clone(l.Addrs)
	}
	return out, nil
}

// Rules returns the IPv4 rules then the IPv6 rules, each in walk order, as
// a dump of both families does.
func (k *Kernel) Rules() ([]netcfg.Rule, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Concat(k.rules[0], k.rules[1]), nil
}

// Routes streams the routes q selects: IPv4 first, each family by table
// then identity; routes of one identity in the order the kernel keeps
// them.
func (k *Kernel) Routes(q netcfg.RouteQuery, fn func(*netcfg.Route) error) error {
	k.mu.Lock()
	sel := k.sorted()
	k.mu.Unlock()
	for i := range sel {
		r := &sel[i]
		switch {
		case q.Family != 0 && r.Family() != q.Family,
			q.Table != 0 && r.Table != q.Table,
			q.Proto != 0 && r.Proto != q.Proto,
			q.DefaultsOnly && !r.IsDefault():
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// sorted returns a copy of the routes in dump order.
func (k *Kernel) sorted() []netcfg.Route {
	out := make([]netcfg.Route, len(k.routes))
	for i, r := range k.routes {
		out[i] = cloneRoute(&r)
	}
	slices.SortStableFunc(out, func(a, b netcfg.Route) int {
		if a.Family() != b.Family() {
			return int(a.Family()) - int(b.Family())
		}
		return a.Key().Compare(b.Key())
	})
	return out
}

func cloneRoute(r *netcfg.Route) netcfg.Route {
	c := *r
	c.MultiPath = slices.Clone(r.MultiPath)
	return c
}

func cloneRule(r *netcfg.Rule) netcfg.Rule {
	c := *r
	if r.Mark != nil {
		m := *r.Mark
		c.Mark = &m
	}
	if r.UIDRange != nil {
		u := *r.UIDRange
		c.UIDRange = &u
	}
	if r.SPort != nil {
		p := *r.SPort
		c.SPort = &p
	}
	if r.DPort != nil {
		p := *r.DPort
		c.DPort = &p
	}
	if r.DSCP != nil {
		d := *r.DSCP
		c.DSCP = &d
	}
	if r.FlowLabel != nil {
		f := *r.FlowLabel
		c.FlowLabel = &f
	}
	return c
}

// Exec carries out ops as the real executor does: in windows, each op
// answered; after a refused op the rest of its window still runs (Stray),
// and no later window is sent.
func (k *Kernel) Exec(ops []netcfg.Op) netcfg.ExecResult {
	k.mu.Lock()
	call := k.calls
	k.calls++
	hook := k.BeforeExec
	k.mu.Unlock()
	if hook != nil {
		hook(call)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	win := k.Window
	if win <= 0 {
		win = len(ops)
	}
	errs := make([]error, len(ops))
	refused := false
	for start := 0; start < len(ops) && !refused; start += win {
		end := min(start+win, len(ops))
		// The executor encodes a window before it sends it; an op it
		// cannot encode (a device it does not know) is refused there, and
		// nothing after it is sent.
		for i := start; i < end; i++ {
			if err := k.encodable(ops[i]); err != nil {
				errs[i] = err
				end = i
				refused = true
			}
		}
		for i := start; i < end; i++ {
			n := k.received
			k.received++
			if f, ok := k.faults[n]; ok {
				delete(k.faults, n)
				errs[i] = f
			} else {
				errs[i] = k.apply(ops[i])
			}
			if errs[i] != nil {
				refused = true
			} else {
				k.log = append(k.log, ops[i].Command())
			}
		}
		if refused {
			// Nothing after the window, or after an op that could not be
			// encoded, was sent.
			for i := end; i < len(ops); i++ {
				if errs[i] == nil {
					errs[i] = errNotSent
				}
			}
		}
	}
	var res netcfg.ExecResult
	for res.Done < len(ops) && errs[res.Done] == nil {
		res.Done++
	}
	if res.Done < len(ops) {
		res.Failed = &netcfg.OpError{Index: res.Done, Op: ops[res.Done], Err: errs[res.Done]}
		for i := res.Done + 1; i < len(ops); i++ {
			if errs[i] == nil {
				res.Stray = append(res.Stray, i)
			}
		}
	}
	return res
}

var errNotSent = fmt.Errorf("not sent: an earlier op of the batch was refused")

// Foreign applies ops as another process would (iproute2, a routing
// daemon): outside Exec's counting and faults, logged as foreign. It
// returns the first refusal.
func (k *Kernel) Foreign(ops ...netcfg.Op) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, o := range ops {
		if err := k.apply(o); err != nil {
			return fmt.Errorf("%s: %w", o.Command(), err)
		}
		k.log = append(k.log, "# foreign: "+o.Command())
	}
	return nil
}

func (k *Kernel) apply(o netcfg.Op) error {
	switch {
	case o.Route != nil && (o.Kind == netcfg.OpAddRoute || o.Kind == netcfg.OpReplaceRoute || o.Kind == netcfg.OpDelRoute):
		return k.applyRoute(o.Kind, o.Route)
	case o.Rule != nil && o.Kind == netcfg.OpAddRule:
		return k.addRule(o.Rule)
	case o.Rule != nil && o.Kind == netcfg.OpDelRule:
		return k.delRule(o.Rule)
	}
	return fmt.Errorf("unknown op %v", o.Kind)
}

func kerr(errno syscall.Errno, msg string) error {
	return &kernel.Error{Errno: errno, Msg: msg}
}

func (k *Kernel) linkIndex(name string) (int, bool) {
	for _, l := range k.links {
		if l.Name == name {
			return l.Index, true
		}
	}
	return 0, false
}

// prefixMasked is the kernel's check that a prefix has no host bits.
func prefixMasked(p netip.Prefix) bool { return !p.IsValid() || p.Masked() == p }
