//go:build linux

package kernel_test

import (
	"errors"
	"testing"

	"github.com/nictab/nictab/internal/enginetest"
	"github.com/nictab/nictab/netcfg"
)

// heldMonitor is a change monitor that says what it is told.
type heldMonitor struct{ quiet bool }

func (m heldMonitor) Watches(netcfg.Kernel) bool { return true }
func (m heldMonitor) Quiet() (bool, error)       { return m.quiet, nil }
func (m heldMonitor) Close() error               { return nil }

// TestApplyStaleLazyPrior checks that a plan made from a Watched state,
// whose fingerprint is made only when read, is refused as stale when the
// kernel changed under it: with a monitor that heard something, with no
// monitor, and when a quiet monitor's state is not the one the plan was
// made from.
func TestApplyStaleLazyPrior(t *testing.T) {
	change := func(e *enginetest.Engine) {
		e.NS.IP("route", "add", "10.77.0.0/24", "dev", "eno1", "table", "13", "proto", "201")
	}
	refused := func(t *testing.T, e *enginetest.Engine, p netcfg.Plan, w *netcfg.Watched) {
		t.Helper()
		before := e.NS.Routing()
		_, err := applyWatched(e, p, w)
		var se *netcfg.StaleError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want the plan refused as stale", err)
		}
		if e.NS.Routing() != before {
			t.Errorf("a stale plan changed the namespace")
		}
	}
	t.Run("monitor heard something", func(t *testing.T) {
		e := enginetest.New(t)
		p, w := planWatched(e, enginetest.SpecIntent())
		change(e)
		refused(t, e, p, &netcfg.Watched{State: w.State, Monitor: heldMonitor{quiet: false}})
	})
	t.Run("no monitor", func(t *testing.T) {
		e := enginetest.New(t)
		p, _ := planWatched(e, enginetest.SpecIntent())
		change(e)
		refused(t, e, p, nil)
	})
	t.Run("monitor nil", func(t *testing.T) {
		e := enginetest.New(t)
		p, w := planWatched(e, enginetest.SpecIntent())
		change(e)
		refused(t, e, p, &netcfg.Watched{State: w.State})
	})
	t.Run("plan not made from the quiet state", func(t *testing.T) {
		e := enginetest.New(t)
		p := e.Plan(enginetest.SpecIntent())
		change(e)
		_, w := planWatched(e, enginetest.SpecIntent())
		refused(t, e, p, &netcfg.Watched{State: w.State, Monitor: heldMonitor{quiet: true}})
	})
	t.Run("plan made from another watched state", func(t *testing.T) {
		e := enginetest.New(t)
		p, _ := planWatched(e, enginetest.SpecIntent())
		change(e)
		q, w := planWatched(e, enginetest.SpecIntent())
		refused(t, e, p, &netcfg.Watched{State: w.State, Monitor: heldMonitor{quiet: true}})
		// The same Watched value, quiet, takes its own plan as current.
		w2 := &netcfg.Watched{State: w.State, Monitor: heldMonitor{quiet: true}}
		q = w2.Plan(netcfg.Desired{Tables: q.Tables})
		if _, err := applyWatched(e, q, w2); err != nil {
			t.Fatalf("a plan made from a quiet monitor's state: %v", err)
		}
	})
}
