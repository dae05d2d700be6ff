//go:build linux

package netcfg_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/enginetest"
	"github.com/nictab/nictab/netcfg"
)

// TestApplyStaleOwnedElsewhere checks what the stale check reads besides
// the plan's tables: nictab's routes in the tables where the plan saw
// some. A change there refuses the plan; a route of nictab's that
// appears in a table the plan never saw one in does not, and is left as
// it is.
func TestApplyStaleOwnedElsewhere(t *testing.T) {
	t.Run("changed where the plan saw one", func(t *testing.T) {
		e := enginetest.New(t)
		e.NS.IP("route", "add", "10.77.0.0/24", "dev", "eno1", "table", "77", "proto", "201")
		p := e.Plan(enginetest.SpecIntent())
		if !slices.Contains(p.Owned, 77) {
			t.Fatalf("the plan's owned tables are %v, want 77 among them", p.Owned)
		}
		e.NS.IP("route", "del", "10.77.0.0/24", "dev", "eno1", "table", "77", "proto", "201")
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
	t.Run("appeared where the plan saw none", func(t *testing.T) {
		e := enginetest.New(t)
		p := e.Plan(enginetest.SpecIntent())
		e.NS.IP("route", "add", "10.88.0.0/24", "dev", "eno1", "table", "88", "proto", "201")
		if _, err := e.Apply(e.K, p); err != nil {
			t.Fatalf("apply: %v", err)
		}
		if got := e.NS.IP("route", "show", "table", "88"); !strings.Contains(got, "10.88.0.0/24") {
			t.Errorf("table 88 after the apply: %q, want the route left as it was", got)
		}
	})
}
