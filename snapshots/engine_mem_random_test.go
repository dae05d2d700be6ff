//go:build linux

package snapshots_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
)

var (
	memSeed    = flag.Uint64("mem.seed", 1, "seed of the first walk of TestMemRandomTransitions")
	memWalks   = flag.Int("mem.walks", 2, "walks of TestMemRandomTransitions, each from a fresh sandbox")
	memSteps   = flag.Int("mem.steps", 100, "steps of each walk of TestMemRandomTransitions")
	memVerbose = flag.Bool("mem.verbose", false, "log why each refused step of TestMemRandomTransitions was refused")
)

// TestMemRandomTransitions drives the engine through random steps on the
// in-memory kernel: intents applied (kept at once, or in a window then
// confirmed or reverted), rollbacks to any snapshot of the history,
// faults at a random op, foreign routes and rules added and removed, and
// foreign routes slipped in between an apply's read and its first write.
// After every step the kernel's owned rules and routes are what the
// newest snapshot records, the foreign ones are what the test put there,
// and no journal is left.
//
// The walks are short and several because each store read parses the
// whole history: one long walk costs the square of its length.
func TestMemRandomTransitions(t *testing.T) {
	count := map[string]int{}
	for w := range uint64(*memWalks) {
		t.Run(fmt.Sprint("seed", *memSeed+w), func(t *testing.T) { memWalk(t, *memSeed+w, count) })
	}
	// Short runs (test.sh's unprivileged one) need not reach every end.
	if *memWalks**memSteps < 200 {
		return
	}
	for _, k := range []string{"kept", "rolled back", "fault undone", "confirmed", "reverted", "foreign added", "exec conflict undone", "conflict refused"} {
		if count[k] == 0 {
			t.Errorf("no step ended %q: the walks do not cover it", k)
		}
	}
}

func memWalk(t *testing.T, seed uint64, total map[string]int) {
	r := newMemRig(t)
	rng := rand.New(rand.NewPCG(seed, 200))
	foreign := map[string]netcfg.Op{} // rendered → the op that added it
	initial := r.foreignLines()
	count := map[string]int{}
	defer func() {
		for k, n := range count {
			total[k] += n
		}
	}()
	for step := range *memSteps {
		before := r.owned()
		what := r.randomStep(rng, foreign, count)
		want := slices.Clone(initial)
		for s := range foreign {
			want = append(want, s)
		}
		slices.Sort(want)
		if got := r.foreignLines(); !slices.Equal(got, want) {
			t.Fatalf("step %d (%s): foreign objects\n%s\nwant\n%s", step, what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		latest, err := r.e.Store().Latest()
		if err != nil {
			t.Fatalf("step %d (%s): %v", step, what, err)
		}
		claim := ""
		if latest != nil {
			claim = sortAll(targetDump(*latest.Resolved))
		}
		if got := sortAll(r.owned()); got != claim {
			t.Fatalf("step %d (%s): the kernel holds\n%s\nthe newest snapshot (%v) records\n%s\nbefore the step:\n%s", step, what, got, latest != nil, claim, before)
		}
		r.noJournal()
	}
	var kinds []string
	for k, n := range count {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(kinds)
	t.Logf("seed %d, %d steps: %s", seed, *memSteps, strings.Join(kinds, ", "))
}

func sortAll(d string) string {
	lines := strings.Split(d, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func (r *memRig) foreignLines() []string {
	d := memDump(r.t, r.k, func(p uint8) bool { return p != netcfg.ProtoNictab })
	lines := strings.Split(d, "\n")
	slices.Sort(lines)
	return lines
}

var nicNames = []string{"eno1", "enp2s0"}

func randomIntent(rng *rand.Rand) netcfg.Intent {
	var in netcfg.Intent
	tables := rng.Perm(4)
	for i, n := range nicNames {
		if rng.IntN(3) == 0 && !(i == len(nicNames)-1 && len(in.NICs) == 0) {
			continue
		}
		nic := netcfg.NICIntent{Name: n, Table: netcfg.TableRef{ID: uint32(13 + tables[i])}}
		for _, sel := range netcfg.Selectors {
			if rng.IntN(3) == 0 || (sel == netcfg.SelectFrom && rng.IntN(2) == 0) {
				nic.Select = append(nic.Select, sel)
			}
		}
		if slices.Contains(nic.Select, netcfg.SelectFwmark) {
			nic.FwMark = &netcfg.FwMark{Value: uint32(1 + i), Mask: 0xffffffff}
		}
		in.NICs = append(in.NICs, nic)
	}
	return in
}

// randomStep does one random step and says what became of it.
func (r *memRig) randomStep(rng *rand.Rand, foreign map[string]netcfg.Op, count map[string]int) string {
	t := r.t
	end := func(what string) string {
		count[what]++
		return what
	}
	refused := func(err error) string {
		var ae *netcfg.ApplyError
		if errors.As(err, &ae) && ae.UndoErr != nil {
			t.Fatalf("an apply failed and was not undone: %v", err)
		}
		var ce *netcfg.ConflictError
		if errors.As(err, &ce) {
			if *memVerbose {
				t.Logf("conflict: %v", err)
			}
			return end("conflict refused")
		}
		if *memVerbose {
			t.Logf("refused: %v", err)
		}
		return end("refused")
	}
	switch n := rng.IntN(10); {
	case n < 3:
		p, err := r.e.Propose(randomIntent(rng), "")
		if err != nil {
			return refused(err)
		}
		if _, err := r.e.Apply(p, snapshots.ApplyOptions{}); err != nil {
			return refused(err)
		}
		return end("kept")
	case n < 4:
		list, err := r.e.Store().List()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			return end("nothing to roll back to")
		}
		p, err := r.e.ProposeRollback(list[rng.IntN(len(list))].Snapshot)
		if err != nil {
			return refused(err)
		}
		if _, err := r.e.Apply(p, snapshots.ApplyOptions{}); err != nil {
			return refused(err)
		}
		return end("rolled back")
	case n < 5:
		p, err := r.e.Propose(randomIntent(rng), "")
		if err != nil || len(p.Plan.Ops()) == 0 || len(p.Plan.Conflicts) > 0 {
			return end("no fault to inject")
		}
		r.k.FailAt(r.k.Received()+rng.IntN(len(p.Plan.Ops())), pick(rng, unix.ENOBUFS, unix.ENOMEM, unix.EBUSY))
		_, err = r.e.Apply(p, snapshots.ApplyOptions{})
		var ae *netcfg.ApplyError
		if !errors.As(err, &ae) || ae.UndoErr != nil {
			t.Fatalf("an apply with a refused op: %v; want it failed and undone", err)
		}
		return end("fault undone")
	case n < 6:
		p, err := r.e.Propose(randomIntent(rng), "")
		if err != nil {
			return refused(err)
		}
		out, err := r.e.Apply(p, snapshots.ApplyOptions{Confirm: time.Minute})
		if err != nil {
			return refused(err)
		}
		if out.Pending == nil {
			return end("kept") // nothing to change: no window
		}
		if rng.IntN(2) == 0 {
			if _, err := r.e.Confirm(); err != nil {
				t.Fatal(err)
			}
			if res, err := r.e.Wait(context.Background(), out.Pending); err != nil || res.Result != "kept" {
				t.Fatalf("confirmed: %+v, %v", res, err)
			}
			return end("confirmed")
		}
		if res, err := r.e.Revert(context.Background()); err != nil || res.Result != "reverted" {
			t.Fatalf("revert: %+v, %v", res, err)
		}
		return end("reverted")
	case n < 8:
		if len(foreign) > 0 && rng.IntN(2) == 0 {
			keys := make([]string, 0, len(foreign))
			for k := range foreign {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			k := keys[rng.IntN(len(keys))]
			o := foreign[k]
			del := netcfg.Op{Kind: netcfg.OpDelRoute, Route: o.Route, Rule: o.Rule}
			if o.Rule != nil {
				del.Kind = netcfg.OpDelRule
			}
			if err := r.k.Foreign(del); err != nil {
				t.Fatal(err)
			}
			delete(foreign, k)
			return end("foreign removed")
		}
		o := randomForeign(rng)
		if err := r.k.Foreign(o); err != nil {
			return end("foreign refused by the kernel")
		}
		foreign[foreignLine(o)] = o
		return end("foreign added")
	default:
		// A foreign route with the identity of one the plan adds arrives
		// after the apply read the kernel: the kernel refuses nictab's add
		// and the apply is undone around the foreign route, which stays.
		p, err := r.e.Propose(randomIntent(rng), "")
		if err != nil || len(p.Plan.Conflicts) > 0 {
			return end("no exec conflict to make")
		}
		var victim *netcfg.Route
		for _, o := range p.Plan.Ops() {
			if o.Kind == netcfg.OpAddRoute && o.Route.Family() == netcfg.V4 && o.Route.Gw.IsValid() {
				c := *o.Route
				c.Proto, c.Gw = netcfg.ProtoStatic, mustAddr(strings.TrimSuffix(c.Gw.String(), ".1")+".254")
				victim = &c
				break
			}
		}
		if victim == nil {
			return end("no exec conflict to make")
		}
		add := netcfg.Op{Kind: netcfg.OpAddRoute, Route: victim}
		calls := 0
		r.k.BeforeExec = func(int) {
			if calls++; calls == 1 {
				if err := r.k.Foreign(add); err != nil {
					t.Error(err)
				}
			}
		}
		_, err = r.e.Apply(p, snapshots.ApplyOptions{})
		r.k.BeforeExec = nil
		foreign[foreignLine(add)] = add
		if err == nil || !netcfg.IsExistsErr(err) {
			t.Fatalf("an add onto a foreign route's identity: %v", err)
		}
		var ae *netcfg.ApplyError
		if !errors.As(err, &ae) || ae.UndoErr != nil {
			t.Fatalf("an add onto a foreign route's identity was not undone: %v", err)
		}
		if rng.IntN(6) != 0 {
			// Mostly the other program takes it away again, or later
			// intents would meet it as a conflict.
			if err := r.k.Foreign(netcfg.Op{Kind: netcfg.OpDelRoute, Route: victim}); err != nil {
				t.Fatal(err)
			}
			delete(foreign, foreignLine(add))
		}
		return end("exec conflict undone")
	}
}

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// randomForeign is a route or rule another program would add: routes in
// the tables nictab uses, at destinations it does not, and rules around
// its priorities.
func randomForeign(rng *rand.Rand) netcfg.Op {
	if rng.IntN(3) == 0 {
		ru := netcfg.NewRule()
		ru.Family, ru.Priority, ru.Table, ru.Proto = netcfg.V4, uint32(900+rng.IntN(300)), netcfg.TableMain, netcfg.ProtoStatic
		ru.From = mustPrefix(fmt.Sprintf("10.50.%d.0/24", rng.IntN(4)))
		return netcfg.Op{Kind: netcfg.OpAddRule, Rule: &ru}
	}
	nic := rng.IntN(2)
	rt := netcfg.Route{Table: uint32(13 + rng.IntN(4)), Type: netcfg.RouteUnicast,
		Dst: mustPrefix(fmt.Sprintf("10.99.%d.0/24", rng.IntN(4))), Gw: mustAddr(fmt.Sprintf("192.168.%d0.254", nic+1)),
		Dev: nicNames[nic], Proto: netcfg.ProtoStatic}
	return netcfg.Op{Kind: netcfg.OpAddRoute, Route: &rt}
}

func foreignLine(o netcfg.Op) string {
	if o.Rule != nil {
		return netcfg.RuleKey(o.Rule)
	}
	return netcfg.RouteString(o.Route)
}
