package gcquiet

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// HoldFirst puts the next collection about budget bytes of allocation
// ahead and returns the function that puts the collector's pace back.
// Unlike Hold, it sets no memory limit and lasts only until that
// collection: once it has run, the pace is put back by itself, and the
// holds of the bursts inside the command (Hold) take effect again. It
// changes nothing when another hold is in force or the collector is off.
//
// NOTE: it is meant for a whole command whose size is not known when it
// starts. A 100k-route `apply -f` allocates about 180 MB from the start
// to its end, and with the default pace (and Hold around its parse and
// its apply only) it collected three times, the last over a heap of
// 160 MB in the middle of the kernel writes: a mark worker on the other
// core beside the snapshot encoded there, 55-65 ms of CPU, the writes
// and read-back slowed by it. Held off for the command, the collector
// never runs there, for ~10-20 MB more peak RSS. A million routes pass
// the budget early in the parse: the first collection comes then, and
// the pace and the inner holds are as without this one after it.
func HoldFirst(budget uint64) (restore func()) {
	old, ok := raisePercent(budget, 0)
	if !ok {
		return func() {}
	}
	var once sync.Once
	putBack := func() {
		once.Do(func() {
			debug.SetGCPercent(old)
			held.Unlock()
		})
	}
	// A finalizer runs after the collection that found its object
	// unreachable: the first one after this point.
	sentinel := new([64]byte)
	runtime.SetFinalizer(sentinel, func(*[64]byte) { putBack() })
	return putBack
}
