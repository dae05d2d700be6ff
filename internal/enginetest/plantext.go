// Package enginetest is the test harness for netcfg's engine, shared by
// the tests of netcfg, netcfg/kernel and netcfg/lookup (a test package
// cannot import another's): a plan as text here, a sandbox namespace's
// engine in engine_linux.go.
package enginetest

import (
	"fmt"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// PlanText is a plan as the golden files of netcfg/testdata/plan hold
// it: one line per change, then the kernel ops in order, then notes and
// conflicts.
func PlanText(p netcfg.Plan) string {
	var b strings.Builder
	for _, c := range p.Changes {
		if c.Action == netcfg.ChangeReplace {
			fmt.Fprintf(&b, "~ %s => %s\n", c.Before, c.After)
		} else {
			fmt.Fprintf(&b, "%s %s\n", c.Action.Mark(), c.Subject())
		}
	}
	b.WriteString("-- ops\n")
	for _, o := range p.Ops() {
		b.WriteString(o.Command() + "\n")
	}
	for _, n := range p.Notes {
		b.WriteString("note: " + n.Text + "\n")
	}
	for _, c := range p.Conflicts {
		b.WriteString("conflict: " + c.Text + "\n")
	}
	return b.String()
}
