package netcfg

import (
	"slices"
	"testing"
)

// execSizes is an executor that takes every op and records how many each
// call carried; nothing but Exec is called on it.
type execSizes struct {
	Kernel
	sizes []int
}

func (k *execSizes) Exec(ops []Op) ExecResult {
	k.sizes = append(k.sizes, len(ops))
	return ExecResult{Done: len(ops)}
}

// TestExecProgressHandsWholeRuns: a plan of 100k route additions goes to
// the executor in one call, so that the executor's spread of a run (see
// sendOrder in netcfg/kernel) covers all of it; a larger one in calls of
// 131,072 ops, with a progress report after each.
func TestExecProgressHandsWholeRuns(t *testing.T) {
	r := &Route{Table: 100, Type: RouteUnicast}
	for _, c := range []struct {
		n     int
		sizes []int
	}{
		{100_000, []int{100_000}},
		{300_000, []int{131_072, 131_072, 37_856}},
	} {
		ops := make([]Op, c.n)
		for i := range ops {
			ops[i] = Op{Kind: OpAddRoute, Route: r}
		}
		k := &execSizes{}
		var reports []int
		if err := execProgress(k, ops, func() []Op { return ops }, func(done, total int) { reports = append(reports, done) }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(k.sizes, c.sizes) {
			t.Errorf("%d ops went to the executor in calls of %v, want %v", c.n, k.sizes, c.sizes)
		}
		if want := len(c.sizes); len(reports) != want || reports[len(reports)-1] != c.n {
			t.Errorf("%d ops: progress reports %v, want %d ending at %d", c.n, reports, want, c.n)
		}
	}
}
