package netcfg_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/enginetest"
	"github.com/nictab/nictab/netcfg"
)

// TestApplySpecExample is the engine's "done when": SPEC.md's file applied
// in a namespace like the sandbox gives the rules and routes `ip` shows,
// keeps a hand-made route, and a second plan is empty.
func TestApplySpecExample(t *testing.T) {
	e := enginetest.New(t)
	e.NS.IP("route", "add", "10.99.0.0/16", "via", "192.168.10.254", "dev", "eno1", "table", "13")
	res, err := e.Apply(e.K, e.Plan(enginetest.SpecIntent()))
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 12 {
		t.Errorf("steps = %d, want 12 (4 rules, 8 routes)", res.Steps)
	}
	rules := e.NS.IP("rule", "show") + e.NS.IP("-6", "rule", "show")
	for _, want := range []string{
		"1000:\tfrom 192.168.10.2 lookup vpn proto nictab",
		"1010:\tfrom 192.168.20.2 lookup lan proto nictab",
		"1000:\tfrom 2001:db8:10::2 lookup vpn proto nictab",
		"1010:\tfrom 2001:db8:20::2 lookup lan proto nictab",
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("ip rule lacks %q:\n%s", want, rules)
		}
	}
	t13 := e.NS.IP("route", "show", "table", "13") + e.NS.IP("-6", "route", "show", "table", "13")
	for _, want := range []string{
		"default via 192.168.10.1 dev eno1 proto nictab",
		"192.168.10.0/24 dev eno1 proto nictab scope link src 192.168.10.2",
		"10.99.0.0/16 via 192.168.10.254 dev eno1",
		"default via 2001:db8:10::1 dev eno1 proto nictab",
		"2001:db8:10::/64 dev eno1 proto nictab src 2001:db8:10::2",
	} {
		if !strings.Contains(t13, want) {
			t.Errorf("table 13 lacks %q:\n%s", want, t13)
		}
	}
	if again := e.Plan(enginetest.SpecIntent()); !again.Empty() {
		t.Errorf("second plan is not empty:\n%s", enginetest.PlanText(again))
	}
	// Removing everything again leaves only the hand-made route.
	if _, err := e.Apply(e.K, e.Plan(netcfg.Intent{})); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(e.NS.IP("route", "show", "table", "13")); got != "10.99.0.0/16 via 192.168.10.254 dev eno1" {
		t.Errorf("table 13 after removing nictab's routes: %q", got)
	}
}

// faultKernel makes the op with global index failAt fail once, as if the
// kernel had refused it.
type faultKernel struct {
	netcfg.Kernel
	failAt, seen int
}

var errInjected = errors.New("injected failure")

func (f *faultKernel) Exec(ops []netcfg.Op) netcfg.ExecResult {
	if f.failAt < 0 || f.seen+len(ops) <= f.failAt {
		f.seen += len(ops)
		return f.Kernel.Exec(ops)
	}
	k := f.failAt - f.seen
	f.seen += len(ops)
	f.failAt = -1 // the undo must go through
	r := f.Kernel.Exec(ops[:k])
	if r.Failed != nil {
		return r
	}
	return netcfg.ExecResult{Done: k, Failed: &netcfg.OpError{Index: k, Op: ops[k], Err: errInjected}}
}

// TestApplyFailsAtEveryStep makes step k fail for every k of the plan and
// checks that the namespace, names included, is exactly as before.
func TestApplyFailsAtEveryStep(t *testing.T) {
	e := enginetest.New(t)
	before := e.NS.Routing()
	p := e.Plan(enginetest.SpecIntent())
	n := len(p.Ops())
	if n < 10 {
		t.Fatalf("plan has only %d steps", n)
	}
	for k := range n {
		_, err := e.Apply(&faultKernel{Kernel: e.K, failAt: k}, p)
		var ae *netcfg.ApplyError
		if !errors.As(err, &ae) || !errors.Is(err, errInjected) || ae.Step != k+1 || ae.UndoErr != nil {
			t.Fatalf("fail at step %d: err = %v", k+1, err)
		}
		if after := e.NS.Routing(); after != before {
			t.Fatalf("after a failure at step %d of %d the namespace differs:\nbefore:\n%s\nafter:\n%s", k+1, n, before, after)
		}
		if names := e.Names(); names.TableName(13) != "" {
			t.Fatalf("after a failure at step %d the name of table 13 stayed: %q", k+1, names.TableName(13))
		}
	}
}

// TestApplyKernelRefuses puts a route whose gateway is not on-link in the
// middle of a plan: the kernel refuses it, and everything before is undone.
func TestApplyKernelRefuses(t *testing.T) {
	e := enginetest.New(t)
	before := e.NS.Routing()
	in := enginetest.SpecIntent()
	in.Routes = []netcfg.RouteIntent{{Table: netcfg.TableRef{ID: 13}, To: netip.MustParsePrefix("10.50.0.0/16"), Via: netip.MustParseAddr("10.99.99.1"), Dev: "eno1"}}
	_, err := e.Apply(e.K, e.Plan(in))
	var ae *netcfg.ApplyError
	if !errors.As(err, &ae) || ae.UndoErr != nil || ae.Step < 2 {
		t.Fatalf("err = %v, want a refusal after the first step, undone", err)
	}
	if !strings.Contains(err.Error(), "10.50.0.0/16 via 10.99.99.1") {
		t.Errorf("the error does not name the route: %v", err)
	}
	if after := e.NS.Routing(); after != before {
		t.Errorf("namespace changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestApplyStale changes the namespace between plan and apply, as someone
// else would: a NIC is deleted, or a rule is added. The plan is refused
// and nothing is done.
func TestApplyStale(t *testing.T) {
	for name, change := range map[string][]string{
		"nic deleted": {"link", "del", "enp2s0"},
		"rule added":  {"rule", "add", "from", "10.1.2.3", "lookup", "99", "pref", "500"},
		"addr added":  {"addr", "add", "192.168.10.3/24", "dev", "eno1"},
	} {
		t.Run(name, func(t *testing.T) {
			e := enginetest.New(t)
			p := e.Plan(enginetest.SpecIntent())
			e.NS.IP(change...)
			before := e.NS.Routing()
			_, err := e.Apply(e.K, p)
			var se *netcfg.StaleError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want the plan refused as stale", err)
			}
			if after := e.NS.Routing(); after != before {
				t.Errorf("a stale plan changed the namespace")
			}
		})
	}
}

// lossyKernel accepts one op without sending it: verify must notice.
type lossyKernel struct {
	netcfg.Kernel
	drop int
	seen int
}

func (l *lossyKernel) Exec(ops []netcfg.Op) netcfg.ExecResult {
	if l.drop < 0 || l.seen+len(ops) <= l.drop {
		l.seen += len(ops)
		return l.Kernel.Exec(ops)
	}
	k := l.drop - l.seen
	l.seen += len(ops)
	l.drop = -1
	rest := append(append([]netcfg.Op{}, ops[:k]...), ops[k+1:]...)
	r := l.Kernel.Exec(rest)
	if r.Failed != nil {
		return r
	}
	return netcfg.ExecResult{Done: len(ops)}
}

func TestApplyVerifyCatchesMismatch(t *testing.T) {
	e := enginetest.New(t)
	before := e.NS.Routing()
	p := e.Plan(enginetest.SpecIntent())
	_, err := e.Apply(&lossyKernel{Kernel: e.K, drop: 3}, p)
	if err == nil || !strings.Contains(err.Error(), "verify") {
		t.Fatalf("err = %v, want a verify failure", err)
	}
	if after := e.NS.Routing(); after != before {
		t.Errorf("namespace changed after a failed verify:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestApplyConflictRefused: an unowned route where nictab would put its own
// stops the apply before anything happens.
func TestApplyConflictRefused(t *testing.T) {
	e := enginetest.New(t)
	e.NS.IP("route", "add", "default", "via", "192.168.10.254", "dev", "eno1", "table", "13")
	before := e.NS.Routing()
	_, err := e.Apply(e.K, e.Plan(enginetest.SpecIntent()))
	var ce *netcfg.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	if after := e.NS.Routing(); after != before {
		t.Errorf("namespace changed")
	}
}

// roNames refuses every write, as a read-only /etc does.
type roNames struct{ netcfg.NamesFile }

func (roNames) Write([]netcfg.TableName) error {
	return errors.Join(netcfg.ErrNamesReadOnly, errors.New("read-only file system"))
}

func TestApplyReadOnlyNames(t *testing.T) {
	e := enginetest.New(t)
	res, err := netcfg.Apply(e.K, e.Plan(enginetest.SpecIntent()), netcfg.ApplyOptions{LoadNames: e.Names, Names: roNames{netcfg.NamesFile{Paths: e.Paths}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.NamesNote, "nictab export nix") {
		t.Errorf("names note = %q, want a pointer to the Nix export", res.NamesNote)
	}
	if !strings.Contains(e.NS.IP("rule", "show"), "lookup 13") {
		t.Errorf("the routing change did not go through")
	}
}
