//go:build linux

package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg/kernel"
)

// next waits for one event, failing the test after a second: the TUI
// promises that changes by others show within one.
func next(t *testing.T, ch <-chan kernel.WatchEvent) kernel.WatchEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return ev
	case <-time.After(time.Second):
		t.Fatal("no event within a second")
	}
	return kernel.WatchEvent{}
}

func TestWatchSeesEveryKind(t *testing.T) {
	ns := nstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := kernel.Watch(ctx, ns.Name, kernel.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		args []string
		want func(kernel.WatchEvent) bool
	}{
		{"link", []string{"link", "add", "d0", "type", "veth", "peer", "name", "d0p"}, func(e kernel.WatchEvent) bool { return e.Links }},
		{"address", []string{"addr", "add", "10.9.0.1/24", "dev", "d0"}, func(e kernel.WatchEvent) bool { return e.Addrs }},
		{"link up", []string{"link", "set", "d0p", "up"}, func(e kernel.WatchEvent) bool { return e.Links }},
		{"link up", []string{"link", "set", "d0", "up"}, func(e kernel.WatchEvent) bool { return e.Links }},
		{"route", []string{"route", "add", "10.10.0.0/16", "via", "10.9.0.2", "table", "77"}, func(e kernel.WatchEvent) bool { return e.Routes }},
		{"rule", []string{"rule", "add", "from", "10.9.0.1", "lookup", "77", "pref", "500"}, func(e kernel.WatchEvent) bool { return e.Rules }},
		{"rule del", []string{"rule", "del", "pref", "500"}, func(e kernel.WatchEvent) bool { return e.Rules }},
	}
	for _, s := range steps {
		ns.IP(s.args...)
		// A step may also cause events of other kinds (an address adds a
		// local route); wait until the one that matters has been seen.
		deadline := time.Now().Add(time.Second)
		for {
			ev := next(t, ch)
			if s.want(ev) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: saw %v, not the change", s.name, ev)
			}
		}
	}
}

func TestWatchCoalescesBursts(t *testing.T) {
	ns := nstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := kernel.Watch(ctx, ns.Name, kernel.WatchOptions{Quiet: 100 * time.Millisecond, MaxDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := range 5000 {
		lines = append(lines, fmt.Sprintf("route add blackhole 10.%d.%d.0/24 table 90", 100+i/256, i%256))
	}
	start := time.Now()
	ns.Batch(lines)
	took := time.Since(start)
	events := 0
	timeout := time.After(2 * time.Second)
collect:
	for {
		select {
		case ev := <-ch:
			if !ev.Routes && !ev.Overflow {
				t.Errorf("burst of routes reported as %v", ev)
			}
			events++
		case <-timeout:
			break collect
		}
	}
	// One event per MaxDelay of the burst at most, plus the final one.
	limit := int(took/(300*time.Millisecond)) + 2
	if events == 0 || events > limit {
		t.Fatalf("5000 route changes in %v gave %d events, want 1..%d", took, events, limit)
	}
	t.Logf("5000 route changes in %v: %d events", took, events)
}

func TestWatchEndsWithContext(t *testing.T) {
	ns := nstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := kernel.Watch(ctx, ns.Name, kernel.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			// An event in flight is fine; the close must follow.
			if _, ok := <-ch; ok {
				t.Fatal("channel still open after cancel")
			}
		}
	case <-time.After(time.Second):
		t.Fatal("watcher did not stop within a second of cancel")
	}
}

func TestWatchUnknownNamespace(t *testing.T) {
	nstest.RequireRoot(t)
	_, err := kernel.Watch(context.Background(), "nictab-no-such-ns", kernel.WatchOptions{})
	var nse *kernel.NamespaceError
	if err == nil || !errors.As(err, &nse) {
		t.Fatalf("want a NamespaceError, got %v", err)
	}
}
