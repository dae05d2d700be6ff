//go:build linux

package kernel_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// TestExecWindowFitsReceiveBuffer writes 20k routes with the window the
// socket chose; had a window of ACKs not fitted the receive buffer, the
// kernel would have dropped some and Exec would have had to read back.
func TestExecWindowFitsReceiveBuffer(t *testing.T) {
	ns := scaleNS(t)
	k := openScale(t, ns)
	routes := scaleRoutes(20_000, scaleTable)
	ops := addRouteOps(routes)
	if r := k.Exec(ops); r.Failed != nil || r.Done != len(ops) || len(r.Stray) > 0 {
		t.Fatalf("Exec = done %d, failed %v, stray %d; want all %d done", r.Done, r.Failed, len(r.Stray), len(ops))
	}
	assertTableHolds(t, k, routes, netcfg.ExecResult{Done: len(routes)})
	if n := kernel.LostACKWindows(k); n != 0 {
		t.Errorf("%d windows lost ACKs", n)
	}
}

// TestExecSettlesLostACKs squeezes the receive buffer far below a window of
// answers and has the kernel refuse every other route of the first window,
// so it drops most of the refusals (ENOBUFS). Only a window's last request
// asks for an ACK, so a request whose refusal was dropped looks taken until
// the table is read back. Exec must still say exactly which ops took
// effect: none is taken as done that is not in the kernel, and the first
// refused one is reported.
func TestExecSettlesLostACKs(t *testing.T) {
	ns := scaleNS(t)
	k := openScale(t, ns)
	const window = 1024
	if err := kernel.SqueezeExecWindow(k, 4096, window); err != nil {
		t.Fatal(err)
	}
	routes := scaleRoutes(3_000, scaleTable)
	for i := 1; i < window; i += 2 {
		routes[i].Gw = netip.MustParseAddr("10.1.0.1") // not on-link
	}
	ops := addRouteOps(routes)
	r := k.Exec(ops)
	if kernel.LostACKWindows(k) == 0 {
		t.Fatal("the kernel dropped no answer: the test proves nothing")
	}
	if r.Failed == nil || r.Failed.Index != 1 || r.Done != 1 {
		t.Fatalf("Exec = done %d, failed %v; want op 1 refused after op 0 done", r.Done, r.Failed)
	}
	// The first window went out whole before its answers were read: its
	// routes with a gateway on-link landed after the refusal.
	var want []int
	for _, i := range kernel.SendOrder(ops)[:window] {
		if i > 1 && (i%2 == 0 || i >= window) {
			want = append(want, int(i))
		}
	}
	slices.Sort(want)
	if !slices.Equal(r.Stray, want) {
		t.Errorf("Exec reported %d stray ops, want the %d of the first window after op 1 that the kernel took", len(r.Stray), len(want))
	}
	assertTableHolds(t, k, routes, r)
	// The deletes of what landed go through the same squeezed socket.
	var dels []netcfg.Op
	for i := range r.Done {
		dels = append(dels, netcfg.Op{Kind: netcfg.OpDelRoute, Route: &routes[i]})
	}
	for _, i := range r.Stray {
		dels = append(dels, netcfg.Op{Kind: netcfg.OpDelRoute, Route: &routes[i]})
	}
	if d := k.Exec(dels); d.Failed != nil || d.Done != len(dels) {
		t.Fatalf("deleting what landed: done %d of %d, failed %v", d.Done, len(dels), d.Failed)
	}
	assertTableHolds(t, k, routes, netcfg.ExecResult{})
}

// TestExecRefusalMidWindow has the kernel refuse one route in the middle
// of a window and the route sent last, the one request that asks for an
// ACK. The answers that place the refusals must be the kernel's own: the
// ops before the first refusal are done, it is the one reported, and the
// ops after it that the kernel took are stray.
func TestExecRefusalMidWindow(t *testing.T) {
	ns := scaleNS(t)
	k := openScale(t, ns)
	routes := scaleRoutes(1_000, scaleTable)
	ops := addRouteOps(routes)
	order := kernel.SendOrder(ops)
	last := int(order[len(order)-1])
	mid := last / 2
	if mid == 0 || mid == last {
		t.Fatalf("send order ends at op %d: no op left before it to refuse", last)
	}
	routes[mid].Gw = netip.MustParseAddr("10.1.0.1") // not on-link
	routes[last].Gw = netip.MustParseAddr("10.1.0.1")
	r := k.Exec(ops)
	if r.Failed == nil || r.Failed.Index != mid || r.Done != mid {
		t.Fatalf("Exec = done %d, failed %v; want op %d refused after %d done", r.Done, r.Failed, mid, mid)
	}
	if !strings.Contains(r.Failed.Error(), "gateway") {
		t.Errorf("the refusal %q does not carry the kernel's reason", r.Failed)
	}
	var want []int
	for i := mid + 1; i < len(ops); i++ {
		if i != last {
			want = append(want, i)
		}
	}
	if !slices.Equal(r.Stray, want) {
		t.Errorf("stray = %d ops, want the %d after op %d but %d", len(r.Stray), len(want), mid, last)
	}
	if n := kernel.LostACKWindows(k); n != 0 {
		t.Errorf("%d windows lost answers", n)
	}
	assertTableHolds(t, k, routes, r)
}

func ruleOp(f netcfg.Family, prio uint32, from string) netcfg.Op {
	r := netcfg.NewRule()
	r.Family, r.Priority, r.Table, r.Proto = f, prio, scaleTable, netcfg.ProtoNictab
	r.From = netip.MustParsePrefix(from)
	return netcfg.Op{Kind: netcfg.OpAddRule, Rule: &r}
}

// TestExecRulesEndAsSentInOrder adds rules, some sharing a priority, in
// the order a plan gives them, through Exec (which sends rising runs
// backwards) and through ip one by one: the kernel must end with the same
// rules in the same order.
func TestExecRulesEndAsSentInOrder(t *testing.T) {
	var ops []netcfg.Op
	for i := range 300 {
		p := uint32(1000 + i/3*10) // three rules a priority
		ops = append(ops, ruleOp(netcfg.V4, p, fmt.Sprintf("10.9.%d.%d/32", i/256, i%256)))
		if i%2 == 0 {
			ops = append(ops, ruleOp(netcfg.V6, p, fmt.Sprintf("fd09::%x/128", i)))
		}
	}
	viaExec, viaIP := nstest.New(t), nstest.New(t)
	k := openScale(t, viaExec)
	if r := k.Exec(ops); r.Failed != nil || r.Done != len(ops) {
		t.Fatalf("Exec: done %d of %d, failed %v", r.Done, len(ops), r.Failed)
	}
	// ip -batch takes no -6, so IPv6 rules go one by one; the order
	// between the families does not matter, the order within each does.
	var lines []string
	for _, o := range ops {
		args := strings.Fields(strings.TrimPrefix(o.Command(), "ip "))
		if o.Rule.Family == netcfg.V6 {
			viaIP.IP(args...)
			continue
		}
		lines = append(lines, strings.Join(args, " "))
	}
	viaIP.Batch(lines)
	for _, fam := range []string{"-4", "-6"} {
		if a, b := viaExec.IP(fam, "rule", "show"), viaIP.IP(fam, "rule", "show"); a != b {
			t.Errorf("ip %s rule show differs:\n%s", fam, lineDiff(b, a))
		}
	}
}

// TestExecRuleRefusedInBackwardRun makes the kernel refuse rule 500 of a
// rising run of 2000 (it exists already), which goes out backwards, after
// the rules above it: the result says exactly which rules landed.
func TestExecRuleRefusedInBackwardRun(t *testing.T) {
	ns := scaleNS(t)
	k := openScale(t, ns)
	var ops []netcfg.Op
	for i := range 2000 {
		ops = append(ops, ruleOp(netcfg.V4, uint32(1000+i), fmt.Sprintf("10.9.%d.%d/32", i/256, i%256)))
	}
	ns.IP(strings.Fields(strings.TrimPrefix(ops[500].Command(), "ip "))...)
	r := k.Exec(ops)
	if r.Failed == nil || r.Failed.Index != 500 || r.Done != 500 || !netcfg.IsExistsErr(r.Failed.Err) {
		t.Fatalf("Exec = done %d, failed %v; want rule 500 refused as existing after 500 done", r.Done, r.Failed)
	}
	want := map[uint32]bool{}
	for i := range r.Done {
		want[ops[i].Rule.Priority] = true
	}
	for _, i := range r.Stray {
		want[ops[i].Rule.Priority] = true
	}
	rules, err := k.Rules()
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint32]bool{}
	for _, ru := range rules {
		if ru.Table == scaleTable {
			got[ru.Priority] = true
		}
	}
	want[ops[500].Rule.Priority] = true // it was there before
	if len(got) != len(want) || len(got) != 2000 {
		t.Fatalf("the kernel holds %d of the rules, the result accounts for %d; want 2000 both", len(got), len(want))
	}
	for p := range want {
		if !got[p] {
			t.Errorf("rule %d is reported landed but is not in the kernel", p)
		}
	}
}
