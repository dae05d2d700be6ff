package format

import "github.com/nictab/nictab/internal/gcquiet"

// loadGCPerByte is how much Load may allocate, per byte of the file,
// before a collection runs: a file of one-line routes costs about 6
// bytes a byte (the file, 144 bytes of RouteIntent for each line of 63,
// the places of the entries, transient spans and hashes).
const loadGCPerByte = 8

// loadGCMin is the budget for a small file, where holding collections
// off is not worth a thought.
const loadGCMin = 16 << 20

// quietLoad holds collections off while Load decodes a file of size
// bytes, until it has allocated what such a file costs, and returns the
// function that puts the collector back as it was.
//
// NOTE: nearly all Load allocates stays live (the routes), so a
// collection during it finds little to free; worse, it reads the
// decoded routes' fresh memory before the parts of the list write it.
// A page read first is mapped to the kernel's shared zero page, and the
// write then replaces it, which flushes the other core's TLB by an
// interrupt (costly in a virtual machine): with collections, those
// flushes were a third of the CPU samples of a 100k-route Load whose
// parts map their room (perf record), and a 1M-route file's parts took
// 590 ms instead of 160.
func quietLoad(size int) (restore func()) {
	return gcquiet.Hold(max(uint64(size)*loadGCPerByte, loadGCMin))
}
