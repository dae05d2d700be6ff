package format

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// bigFile is a snapshot file of n routes in the intent's routes list, one
// {table, to, via, dev} line each, as `apply -f` of a large list reads it.
func bigFile(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\ncomment: big\nroutes:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {table: 100, to: %d.%d.%d.0/24, via: 10.0.0.2, dev: sc0}\n", 11+i>>16, byte(i>>8), byte(i))
	}
	return []byte(b.String())
}

// timelineFile is the file bench/timeline.sh applies: n /24 routes spread
// over 1.0.0.0–221.255.255.0 by a multiplicative scatter, one {table, to,
// via, dev} line each.
func timelineFile(n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\ncomment: %d routes\nroutes:\n", n)
	const span = 220 * 65536
	for i, c := 0, 0; c < n; i++ {
		a := 16777216 + (i*2654435761%span)*256
		o1, o2, o3 := a/16777216, a/65536%256, a/256%256
		if o1 == 10 || o1 == 127 {
			continue
		}
		fmt.Fprintf(&b, "  - {table: 100, to: %d.%d.%d.0/24, via: 10.0.0.2, dev: sc0}\n", o1, o2, o3)
		c++
	}
	return []byte(b.String())
}

// BenchmarkLoad100k is the "file parsed" phase of `apply -f` on
// bench/timeline.sh's file: Load, reading the file included.
func BenchmarkLoad100k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "routes.yaml")
	if err := os.WriteFile(path, timelineFile(100_000), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := cpuClock(b)
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
	cpu()
}

func BenchmarkParseBig(b *testing.B) {
	data := bigFile(100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := cpuClock(b)
	for b.Loop() {
		if _, err := Parse("big", data); err != nil {
			b.Fatal(err)
		}
	}
	cpu()
}

// BenchmarkParseStored reads a saved snapshot of 100k routes, in its
// intent and its resolved section, as `snapshot show` and a rollback do.
func BenchmarkParseStored(b *testing.B) {
	data, err := Marshal(bigSaved(100_000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := cpuClock(b)
	for b.Loop() {
		if _, err := Parse("stored", data); err != nil {
			b.Fatal(err)
		}
	}
	cpu()
}

// cpuClock reports, when the returned func is called after the loop, the
// CPU time of the process (all its threads, the collector's too) per
// iteration: on a shared machine it moves less than the wall clock.
func cpuClock(b *testing.B) func() {
	b.Helper()
	start := cpuNow(b)
	return func() { b.ReportMetric(float64(cpuNow(b)-start)/float64(b.N)/1e6, "cpu-ms/op") }
}

func cpuNow(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMarshalBig writes, and reads back as Marshal does, a saved
// snapshot of 100k routes in its intent and its resolved section.
func BenchmarkMarshalBig(b *testing.B) {
	s := bigSaved(100_000)
	b.ReportAllocs()
	cpu := cpuClock(b)
	for b.Loop() {
		if _, err := Marshal(s); err != nil {
			b.Fatal(err)
		}
	}
	cpu()
}

// bigSaved is the snapshot an apply of bigFile(n) saves.
func bigSaved(n int) *Snapshot {
	s, err := Parse("big", bigFile(n))
	if err != nil {
		panic(err)
	}
	s.Meta = &Meta{ID: "261124-120000", Kind: "apply", Time: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	s.Resolved = &netcfg.Owned{}
	for _, r := range s.Intent.Routes {
		s.Resolved.Routes = append(s.Resolved.Routes, netcfg.Route{Table: r.Table.ID, Type: netcfg.RouteUnicast, Dst: r.To, Gw: r.Via, Dev: r.Dev, Proto: netcfg.ProtoNictab})
	}
	return s
}
