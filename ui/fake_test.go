package ui

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// fakeBackend is a namespace shaped like `nictab sandbox`, held in memory.
// It plans with the real resolver and planner, so what the screens show
// is what nictab would do; apply, confirm and revert change its state.
type fakeBackend struct {
	mu       sync.Mutex
	caps     Capabilities
	state    netcfg.State
	before   netcfg.State
	base     netcfg.Intent
	history  []SnapshotInfo
	watch    chan struct{}
	pending  *Pending
	deadline time.Duration
	applyErr error
	// ssh is attached to every proposal, as the guard's verdict.
	ssh *SSHCheck
	// recovered is what Recover reports having done.
	recovered string
	// calls records the order of Recover and Detect.
	calls []string

	applied   []netcfg.Intent
	confirmed int
	reverted  int
	// writeErr is what WriteFile fails with.
	writeErr error
	// diffs records each DiffSnapshot call as {from, to}.
	diffs [][2]string
	// onApply runs as Apply starts, before the first change.
	onApply func()
	// outcome is how the last change that waited ended.
	outcome *Settled
	written map[string][]byte
	// intentGate, when set, holds Intent until it is closed.
	intentGate chan struct{}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func kernelRule(f netcfg.Family, prio, table uint32) netcfg.Rule {
	r := netcfg.NewRule()
	r.Family, r.Priority, r.Table, r.Proto = f, prio, table, netcfg.ProtoKernel
	return r
}

// sandboxState is the sandbox's two NICs with their gateways, the kernel's
// rules, and one rule a VPN script left: table 100 named wg.
func sandboxState() netcfg.State {
	link := func(i int, name, v4, v6 string) netcfg.Link {
		return netcfg.Link{Index: i, Name: name, Kind: "veth", OperState: "up", Up: true, Carrier: true, MTU: 1500, Addrs: []netcfg.Addr{
			{Prefix: pfx(v4)}, {Prefix: pfx(v6)}, {Prefix: pfx("fe80::" + name[:1] + "/64"), Scope: netcfg.ScopeLink},
		}}
	}
	lo := netcfg.Link{Index: 1, Name: "lo", Loopback: true, Up: true, Carrier: true, OperState: "unknown", Addrs: []netcfg.Addr{{Prefix: pfx("127.0.0.1/8")}}}
	s := netcfg.State{
		Links: []netcfg.Link{lo, link(2, "eno1", "192.168.10.2/24", "2001:db8:10::2/64"), link(3, "enp2s0", "192.168.20.2/24", "2001:db8:20::2/64")},
		Names: netcfg.Names{Dir: "/etc/netns/test/iproute2", Tables: []netcfg.TableName{{ID: 100, Name: "wg", File: "/etc/netns/test/iproute2/rt_tables.d/wg.conf"}}},
	}
	wg := netcfg.NewRule()
	wg.Family, wg.Priority, wg.Table, wg.Proto, wg.From = netcfg.V4, 500, 100, netcfg.ProtoBoot, pfx("10.8.0.0/24")
	s.Rules = []netcfg.Rule{
		kernelRule(netcfg.V4, 0, netcfg.TableLocal), wg, kernelRule(netcfg.V4, 32766, netcfg.TableMain), kernelRule(netcfg.V4, 32767, netcfg.TableDefault),
		kernelRule(netcfg.V6, 0, netcfg.TableLocal), kernelRule(netcfg.V6, 32766, netcfg.TableMain),
	}
	def := func(gw, dev string, metric uint32, v6 bool) netcfg.Route {
		d := pfx("0.0.0.0/0")
		if v6 {
			d = pfx("::/0")
		}
		return netcfg.Route{Table: netcfg.TableMain, Type: netcfg.RouteUnicast, Dst: d, Gw: addr(gw), Dev: dev, Proto: netcfg.ProtoDHCP, Metric: metric}
	}
	s.Routes = []netcfg.Route{
		def("192.168.10.1", "eno1", 200, false), def("192.168.20.1", "enp2s0", 100, false),
		def("2001:db8:10::1", "eno1", 200, true), def("2001:db8:20::1", "enp2s0", 100, true),
		{Table: 100, Type: netcfg.RouteUnicast, Dst: pfx("10.8.0.0/24"), Dev: "eno1", Scope: netcfg.ScopeLink, Proto: netcfg.ProtoBoot},
	}
	s.Complete = []uint32{100}
	s.AllOwned = true
	return s
}

var fakeTime = time.Date(2026, 11, 24, 18, 40, 0, 0, time.UTC)

func newFake() *fakeBackend {
	return &fakeBackend{
		caps:     Capabilities{Netns: "test", History: true, Export: true, Confirm: 60 * time.Second, Host: "vm"},
		state:    sandboxState(),
		watch:    make(chan struct{}, 1),
		deadline: 60 * time.Second,
		written:  map[string][]byte{},
		history: []SnapshotInfo{
			{ID: "261124-184000", Time: fakeTime, Kind: "apply", Summary: "eno1→13 vpn; 2 rules, 4 routes", Live: true, File: "/var/lib/nictab/snapshots/261124-184000.yaml"},
			{ID: "261124-170000", Damaged: "checksum mismatch: the file was changed after nictab wrote it", File: "/var/lib/nictab/snapshots/261124-170000.yaml"},
			{ID: "261123-090000", Time: fakeTime.Add(-33 * time.Hour), Kind: "apply", Comment: "first try", Summary: "enp2s0→14 lan; 2 rules, 4 routes", File: "/var/lib/nictab/snapshots/261123-090000.yaml"},
		},
	}
}

func (f *fakeBackend) Capabilities() Capabilities { return f.caps }

func (f *fakeBackend) Recover() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "recover")
	return f.recovered, nil
}

func (f *fakeBackend) Detect() (netcfg.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "detect")
	return cloneState(f.state), nil
}

func cloneState(s netcfg.State) netcfg.State {
	c := s
	c.Links = slices.Clone(s.Links)
	for i := range c.Links {
		c.Links[i].Addrs = slices.Clone(s.Links[i].Addrs)
	}
	c.Rules = slices.Clone(s.Rules)
	c.Routes = slices.Clone(s.Routes)
	c.Complete = slices.Clone(s.Complete)
	c.Names.Tables = slices.Clone(s.Names.Tables)
	return c
}

func (f *fakeBackend) Intent() (netcfg.Intent, error) {
	if f.intentGate != nil {
		<-f.intentGate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.base, nil
}

func (f *fakeBackend) Propose(in netcfg.Intent, adopt []netcfg.Object) (*Proposal, error) {
	live, _ := f.Detect()
	var adopted []netcfg.Change
	for _, o := range adopt {
		if o.Rule != nil {
			i := slices.IndexFunc(live.Rules, func(r netcfg.Rule) bool { return netcfg.RuleEqual(&r, o.Rule) })
			if i < 0 {
				return nil, fmt.Errorf("rule %s to adopt is no longer there", netcfg.RuleString(o.Rule))
			}
			before := live.Rules[i]
			live.Rules[i].Proto = netcfg.ProtoNictab
			after := live.Rules[i]
			adopted = append(adopted, netcfg.Change{Action: netcfg.ChangeReplace, Before: netcfg.Object{Rule: &before}, After: netcfg.Object{Rule: &after}, Reason: "adopted"})
		}
		if o.Route != nil {
			i := slices.IndexFunc(live.Routes, func(r netcfg.Route) bool { return netcfg.RouteEqual(&r, o.Route) })
			if i < 0 {
				return nil, fmt.Errorf("route %s to adopt is no longer there", netcfg.RouteString(o.Route))
			}
			before := live.Routes[i]
			live.Routes[i].Proto = netcfg.ProtoNictab
			after := live.Routes[i]
			adopted = append(adopted, netcfg.Change{Action: netcfg.ChangeReplace, Before: netcfg.Object{Route: &before}, After: netcfg.Object{Route: &after}, Reason: "adopted"})
		}
	}
	d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		return nil, err
	}
	for _, t := range d.Tables {
		if !live.HasTable(t) {
			live.Complete = append(live.Complete, t)
		}
	}
	slices.Sort(live.Complete)
	plan := netcfg.PlanChanges(live, d)
	plan.Changes = append(adopted, plan.Changes...)
	return &Proposal{Intent: in, Live: live, Desired: d, Plan: plan,
		NamesFile: "/etc/netns/test/iproute2/rt_tables.d/nictab.conf",
		Snapshot:  "version: 1\nnics:\n  - name: eno1\n    table: 13\n", SSH: f.ssh}, nil
}

func (f *fakeBackend) Prior(p *Proposal) (string, error) {
	s, _ := f.Detect()
	s.Complete = p.Live.Complete
	return netcfg.Fingerprint(s), nil
}

func (f *fakeBackend) Apply(_ context.Context, p *Proposal, o ApplyOptions) (*Outcome, error) {
	if f.onApply != nil {
		f.onApply()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applyErr != nil {
		return nil, f.applyErr
	}
	ops := p.Plan.Ops()
	if o.Progress != nil {
		o.Progress(len(ops), len(ops))
	}
	f.applied = append(f.applied, p.Intent)
	f.before = cloneState(f.state)
	f.state = withTarget(f.state, p.Plan.Target)
	out := &Outcome{Steps: len(ops), SnapshotID: "261124-184100"}
	if o.Confirm > 0 {
		out.Deadline = time.Now().Add(f.deadline)
		f.pending = &Pending{Deadline: out.Deadline}
	} else {
		f.base = p.Intent
	}
	return out, nil
}

// withTarget is s with nictab's rules, routes and names replaced by t.
func withTarget(s netcfg.State, t netcfg.Owned) netcfg.State {
	c := cloneState(s)
	c.Rules = slices.DeleteFunc(c.Rules, func(r netcfg.Rule) bool { return r.Owned() })
	c.Rules = append(c.Rules, t.Rules...)
	slices.SortFunc(c.Rules, func(a, b netcfg.Rule) int { return netcfg.CompareRules(&a, &b) })
	c.Routes = slices.DeleteFunc(c.Routes, func(r netcfg.Route) bool { return r.Owned() })
	c.Routes = append(c.Routes, t.Routes...)
	c.Names.Tables = slices.DeleteFunc(c.Names.Tables, func(n netcfg.TableName) bool { return n.File == ownedNames })
	for _, n := range t.Names {
		n.File = ownedNames
		c.Names.Tables = append(c.Names.Tables, n)
	}
	return c
}

func (f *fakeBackend) Confirm() (*Settled, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending == nil {
		return f.ended()
	}
	f.keep()
	f.confirmed++
	return &Settled{Result: "kept", SnapshotID: "261124-184100"}, nil
}

func (f *fakeBackend) keep() {
	f.pending = nil
	f.base = f.applied[len(f.applied)-1]
	f.outcome = &Settled{Result: "kept", SnapshotID: "261124-184100"}
}

func (f *fakeBackend) Revert() (*Settled, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending == nil {
		return f.ended()
	}
	f.pending = nil
	f.reverted++
	f.state = f.before
	f.outcome = &Settled{Result: "reverted"}
	return &Settled{Result: "reverted"}, nil
}

// ended is how the last change ended, seen by a UI that did not decide it.
func (f *fakeBackend) ended() (*Settled, error) {
	if f.outcome == nil {
		return nil, errors.New("no change is waiting for confirmation")
	}
	s := *f.outcome
	s.Elsewhere = true
	return &s, nil
}

func (f *fakeBackend) Settled() (*Settled, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending != nil {
		return nil, nil
	}
	return f.ended()
}

// confirmElsewhere is `nictab confirm` run in another terminal.
func (f *fakeBackend) confirmElsewhere() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keep()
}

func (f *fakeBackend) Pending() (*Pending, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending, nil
}

func (f *fakeBackend) History() ([]SnapshotInfo, error) { return f.history, nil }

func (f *fakeBackend) SnapshotText(id string) (string, error) {
	return "version: 1\ncomment: \"tab\there\"\ntables:\n  - {id: 13, name: vpn}\nnics:\n  - name: eno1\n    table: 13\nsnapshot:\n  id: " + id + "\n", nil
}

func (f *fakeBackend) DiffSnapshot(from, to string) (*SnapshotDiff, error) {
	f.mu.Lock()
	f.diffs = append(f.diffs, [2]string{from, to})
	f.mu.Unlock()
	r := netcfg.NewRule()
	r.Family, r.Priority, r.Table, r.Proto, r.From = netcfg.V4, 1010, 14, netcfg.ProtoNictab, pfx("192.168.20.2/32")
	return &SnapshotDiff{Changes: []netcfg.Change{{Action: netcfg.ChangeAdd, After: netcfg.Object{Rule: &r}}}}, nil
}

func (f *fakeBackend) ProposeRollback(string) (*Proposal, error) {
	return f.Propose(netcfg.Intent{}, nil)
}

// Export is longer than a screen, so that it scrolls. Its default
// flavour is scripted, as for a host without systemd-networkd.
func (f *fakeBackend) Export(id, flavor string) (string, string, error) {
	if flavor == "" {
		flavor = "scripted"
	}
	var b strings.Builder
	b.WriteString("# NixOS module written by nictab, flavour " + flavor + ", snapshot " + id + "\n{ ... }:\n{\n  systemd.network.config.routeTables = { vpn = 13; };\n")
	for i := range 40 {
		fmt.Fprintf(&b, "  # option %d\n", i)
	}
	b.WriteString("}\n")
	return b.String(), flavor, nil
}

func (f *fakeBackend) WriteFile(path string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.writeErr != nil {
		return f.writeErr
	}
	f.written[path] = data
	return nil
}

func (f *fakeBackend) Watch(context.Context) (<-chan struct{}, error) { return f.watch, nil }

// change alters the fake namespace as someone else would, and tells the
// watcher.
func (f *fakeBackend) change(fn func(s *netcfg.State)) {
	f.mu.Lock()
	fn(&f.state)
	f.mu.Unlock()
	select {
	case f.watch <- struct{}{}:
	default:
	}
}

// ownedNames is where the fake namespace keeps nictab's table names.
const ownedNames = "/etc/netns/test/iproute2/rt_tables.d/nictab.conf"
