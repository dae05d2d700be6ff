//go:build linux

package kernel_test

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
)

const scaleTable = 100

// ipRoutes is what `ip -j route show table N` says of the table, one line
// per route in the fields nictab's scale routes set, sorted.
func ipRoutes(t *testing.T, ns *nstest.NS, table uint32) []string {
	t.Helper()
	var rs []struct {
		Dst, Gateway, Dev, Protocol, Scope string
	}
	ns.JSON(&rs, "route", "show", "table", fmt.Sprint(table))
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s via %s dev %s proto %s scope %s", r.Dst, r.Gateway, r.Dev, r.Protocol, r.Scope)
	}
	slices.Sort(out)
	return out
}

func wantLines(routes []netcfg.Route) []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		// ip -j leaves out the scope of a global route.
		out[i] = fmt.Sprintf("%s via %s dev %s proto %d scope ", r.Dst, r.Gw, r.Dev, r.Proto)
	}
	slices.Sort(out)
	return out
}

// TestScaleApply100kReadBack applies 100k routes through netcfg.Apply and
// reads the table back through iproute2, then deletes them the same way.
func TestScaleApply100kReadBack(t *testing.T) {
	ns := scaleNS(t)
	k := openScale(t, ns)
	names := scaleNames(ns)
	routes := scaleRoutes(100_000, scaleTable)
	res, err := netcfg.Apply(k, planTo(t, k, names, scaleTable, routes), netcfg.ApplyOptions{LoadNames: names})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != len(routes) {
		t.Errorf("apply took %d steps, want %d", res.Steps, len(routes))
	}
	got, want := ipRoutes(t, ns, scaleTable), wantLines(routes)
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("ip reads back %d routes, want %d; first difference:\n got %s\nwant %s", len(got), len(want), got[i], want[i])
			}
		}
		t.Fatalf("ip reads back %d routes, want %d", len(got), len(want))
	}
	if _, err := netcfg.Apply(k, planTo(t, k, names, scaleTable, nil), netcfg.ApplyOptions{LoadNames: names}); err != nil {
		t.Fatal(err)
	}
	if got := ipRoutes(t, ns, scaleTable); len(got) != 0 {
		t.Fatalf("after deleting, table %d still holds %d routes, the first %s", scaleTable, len(got), got[0])
	}
}

// failingKernel refuses the op with global index failAt, once, after
// making every op before it, and counts the routes of the table at that
// moment.
type failingKernel struct {
	netcfg.Kernel
	failAt, seen int
	inTable      int
}

var errRefused = errors.New("refused by the test")

func (f *failingKernel) Exec(ops []netcfg.Op) netcfg.ExecResult {
	if f.failAt < 0 || f.seen+len(ops) <= f.failAt {
		f.seen += len(ops)
		return f.Kernel.Exec(ops)
	}
	k := f.failAt - f.seen
	f.seen += len(ops)
	f.failAt = -1 // the undo goes through
	if r := f.Kernel.Exec(ops[:k]); r.Failed != nil {
		return r
	}
	_ = f.Kernel.Routes(netcfg.RouteQuery{Table: scaleTable}, func(*netcfg.Route) error {
		f.inTable++
		return nil
	})
	return netcfg.ExecResult{Done: k, Failed: &netcfg.OpError{Index: k, Op: ops[k], Err: errRefused}}
}

// TestScaleApplyFailsAt73412 makes route 73,412 of 100k fail: the 73,411
// before it were in the kernel and are undone, leaving the namespace as it
// was.
func TestScaleApplyFailsAt73412(t *testing.T) {
	ns := scaleNS(t)
	k := openScale(t, ns)
	names := scaleNames(ns)
	before := routing4(ns)
	p := planTo(t, k, names, scaleTable, scaleRoutes(100_000, scaleTable))
	fk := &failingKernel{Kernel: k, failAt: 73_411}
	_, err := netcfg.Apply(fk, p, netcfg.ApplyOptions{LoadNames: names})
	var ae *netcfg.ApplyError
	if !errors.As(err, &ae) || !errors.Is(err, errRefused) || ae.Step != 73_412 || ae.Total != 100_000 || ae.UndoErr != nil {
		t.Fatalf("err = %v, want step 73412 of 100000 refused and undone", err)
	}
	if fk.inTable != 73_411 {
		t.Errorf("the table held %d routes when step 73412 failed, want 73411", fk.inTable)
	}
	if after := routing4(ns); after != before {
		t.Fatalf("the namespace is not as before:\n%s", lineDiff(before, after))
	}
}

// TestScaleApplyKernelRefusesInWindow puts a route whose gateway is not
// on-link at step 5,000 of 100k. The kernel refuses it in the middle of a
// pipelined window whose later requests it accepts: the apply names the
// route, undoes every route before it and every one accepted after it.
func TestScaleApplyKernelRefusesInWindow(t *testing.T) {
	ns := scaleNS(t)
	k := openScale(t, ns)
	names := scaleNames(ns)
	before := routing4(ns)
	routes := scaleRoutes(100_000, scaleTable)
	// All routes have gateways, so the plan adds them in key order.
	slices.SortFunc(routes, func(a, b netcfg.Route) int { return a.Key().Compare(b.Key()) })
	bad := &routes[4_999]
	bad.Gw = netip.MustParseAddr("10.1.0.1")
	p := planTo(t, k, names, scaleTable, routes)
	if op := p.Ops()[4_999]; op.Route.Dst != bad.Dst {
		t.Fatalf("step 5000 is %s, want the route to %s", op.Command(), bad.Dst)
	}
	_, err := netcfg.Apply(k, p, netcfg.ApplyOptions{LoadNames: names})
	var ae *netcfg.ApplyError
	if !errors.As(err, &ae) || ae.Step != 5_000 || ae.UndoErr != nil {
		t.Fatalf("err = %v, want step 5000 refused and everything undone", err)
	}
	if !strings.Contains(err.Error(), netcfg.RouteString(bad)) {
		t.Errorf("the error does not name the route %q: %v", netcfg.RouteString(bad), err)
	}
	if after := routing4(ns); after != before {
		t.Fatalf("the namespace is not as before:\n%s", lineDiff(before, after))
	}
}

// TestScaleExecAccountsForEveryACK checks ExecResult against the kernel
// when a request in the middle of a window is refused: the ops it reports
// done and stray are exactly the routes the table holds, so no ACK was
// lost or given to the wrong request.
func TestScaleExecAccountsForEveryACK(t *testing.T) {
	ns := scaleNS(t)
	k := openScale(t, ns)
	routes := scaleRoutes(20_000, scaleTable)
	routes[5_000].Gw = netip.MustParseAddr("10.1.0.1")
	ops := addRouteOps(routes)
	r := k.Exec(ops)
	if r.Failed == nil || r.Failed.Index != 5_000 || r.Done != 5_000 {
		t.Fatalf("Exec = done %d, failed %v; want op 5000 refused after 5000 done", r.Done, r.Failed)
	}
	if len(r.Stray) == 0 {
		t.Fatal("no stray ops: the refusal was not in the middle of a window, so the test proves nothing")
	}
	// The run goes out spread over the table (see sendOrder), so the ops
	// sent before the refusal came back are anywhere after it.
	if !slices.IsSorted(r.Stray) || r.Stray[0] <= 5_000 {
		t.Fatalf("stray ops %v…, want ops after 5000, ascending", r.Stray[:min(5, len(r.Stray))])
	}
	assertTableHolds(t, k, routes, r)
}

// assertTableHolds checks that the table holds exactly the routes of the
// ops r reports done or stray.
func assertTableHolds(t *testing.T, k netcfg.Kernel, routes []netcfg.Route, r netcfg.ExecResult) {
	t.Helper()
	want := map[netip.Prefix]bool{}
	for i := range r.Done {
		want[routes[i].Dst] = true
	}
	for _, i := range r.Stray {
		want[routes[i].Dst] = true
	}
	got := map[netip.Prefix]bool{}
	err := k.Routes(netcfg.RouteQuery{Table: scaleTable}, func(rt *netcfg.Route) error {
		got[rt.Dst] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for d := range got {
		if !want[d] {
			t.Errorf("the table holds %s, which Exec did not report as done or stray", d)
		}
	}
	for d := range want {
		if !got[d] {
			t.Errorf("Exec reported %s as done or stray, but the table lacks it", d)
		}
	}
}

// routing4 is every rule and every IPv4 route of the namespace. IPv6
// routes are left out: the link-local address of a new veth end, and its
// local route, may appear at any moment once duplicate address detection
// ends, and the scale tests write only IPv4 routes.
func routing4(ns *nstest.NS) string {
	return ns.IP("-4", "rule", "show") + ns.IP("-6", "rule", "show") + ns.IP("-4", "route", "show", "table", "all")
}

// lineDiff shows the lines only one of two texts has.
func lineDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ia, ib := in(a), in(b)
	var out []string
	for l := range ia {
		if !ib[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range ib {
		if !ia[l] {
			out = append(out, "+ "+l)
		}
	}
	slices.Sort(out)
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("… and %d more", len(out)-20))
	}
	return strings.Join(out, "\n")
}
