//go:build profile

package timeline

import (
	"fmt"
	"os"
	"sync"
	"time"
)

var (
	mu    sync.Mutex
	out   *os.File
	start = time.Now()
)

func init() {
	if p := os.Getenv("NICTAB_TIMELINE"); p != "" {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, "nictab: timeline:", err)
			os.Exit(1)
		}
		out = f
	}
}

// Mark appends "MICROSECONDS-SINCE-START PHASE" to $NICTAB_TIMELINE: an
// unbuffered write a mark, so that a killed run still leaves its marks.
func Mark(what string) {
	if out == nil {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(out, "%d %s\n", time.Since(start).Microseconds(), what)
}
