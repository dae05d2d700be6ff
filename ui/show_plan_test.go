package ui

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// TestPlanTextEscapesKernelText: a device name with an escape sequence in a
// planned rule or route is printed escaped by `nictab plan`.
func TestPlanTextEscapesKernelText(t *testing.T) {
	rule := netcfg.NewRule()
	rule.Family, rule.Priority, rule.IIF, rule.Table, rule.Proto = netcfg.V4, 1000, "e\x1b[2Jvil", 13, netcfg.ProtoNictab
	route, err := netcfg.ParseRoute("10.0.0.0/8 dev x table 13 proto 201")
	if err != nil {
		t.Fatal(err)
	}
	route.Dev = "r\x1b]0;t\a"
	p := netcfg.Plan{Changes: []netcfg.Change{
		{Action: netcfg.ChangeAdd, After: netcfg.Object{Rule: &rule}},
		{Action: netcfg.ChangeAdd, After: netcfg.Object{Route: &route}},
	}}
	names := netcfg.Names{}
	out := RenderPlanText(&p, &names, "/etc/iproute2/rt_tables.d/nictab.conf", true, PlainStyles())
	if strings.ContainsAny(out, "\x1b\a") {
		t.Errorf("control characters reached the output:\n%q", out)
	}
	for _, want := range []string{`iif e\x1b[2Jvil lookup 13`, `dev r\x1b]0;t\a`, `(control characters shown escaped)`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestObjectTextTellsTwinsApart: a rule with no address reads the same in
// both families, so its plan line names the family; one with an address
// does not need it.
func TestObjectTextTellsTwinsApart(t *testing.T) {
	var names netcfg.Names
	mark := func(f netcfg.Family) *netcfg.Rule {
		r := netcfg.NewRule()
		r.Family, r.Priority, r.Mark, r.Table, r.Proto = f, 1000, &netcfg.FwMark{Value: 0x13, Mask: 0xffffffff}, 13, netcfg.ProtoNictab
		return &r
	}
	v4 := ObjectText(netcfg.Object{Rule: mark(netcfg.V4)}, &names)
	v6 := ObjectText(netcfg.Object{Rule: mark(netcfg.V6)}, &names)
	if v4 == v6 || !strings.HasSuffix(v4, "(IPv4)") || !strings.HasSuffix(v6, "(IPv6)") {
		t.Fatalf("twins read:\n%s\n%s", v4, v6)
	}
	from := mark(netcfg.V4)
	from.From = netip.MustParsePrefix("192.168.10.2/32")
	if got := ObjectText(netcfg.Object{Rule: from}, &names); strings.Contains(got, "IPv4") {
		t.Fatalf("a rule with an address names its family anyway: %s", got)
	}
	moved := mark(netcfg.V6)
	moved.Priority = 1200
	repl := ChangeText(&netcfg.Change{Action: netcfg.ChangeReplace, Before: netcfg.Object{Rule: mark(netcfg.V6)}, After: netcfg.Object{Rule: moved}}, &names)
	if strings.Count(repl, "IPv6") != 1 || !strings.HasSuffix(repl, "(IPv6)") {
		t.Fatalf("a replace names the family once, at its end: %s", repl)
	}
}
