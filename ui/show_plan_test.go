package ui

import (
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
