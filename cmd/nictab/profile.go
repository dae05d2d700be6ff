//go:build profile

package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// Built with -tags profile, nictab writes a CPU profile to
// $NICTAB_CPUPROFILE and a heap profile (at its peak-ish end) to
// $NICTAB_MEMPROFILE: how the README's figures on where the time and the
// memory go were found.
func init() {
	if p := os.Getenv("NICTAB_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "nictab: profile:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "nictab: profile:", err)
			os.Exit(1)
		}
		atExit = append(atExit, func() { pprof.StopCPUProfile(); f.Close() })
	}
	if p := os.Getenv("NICTAB_MEMPROFILE"); p != "" {
		runtime.MemProfileRate = 64 << 10
		atExit = append(atExit, func() {
			f, err := os.Create(p)
			if err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		})
	}
}
