//go:build linux

package prefault

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Slice asks the kernel to map, writable, the pages of s's backing array
// up to its capacity, before anything writes them, for a slice of 1 to
// 64 MB. It changes no byte
// of s. It is a hint: a kernel without MADV_POPULATE_WRITE (before 5.14)
// refuses it, and the pages are then mapped on first write as ever.
func Slice[T any](s []T) {
	if b := pages(s); b != nil {
		// Refused, the memory is mapped as it is written: nothing to
		// report.
		_ = unix.Madvise(b, unix.MADV_POPULATE_WRITE)
	}
}

// pages is the whole pages of s's backing array up to its capacity, nil
// when s is outside the sizes Slice maps.
func pages[T any](s []T) []byte {
	var zero T
	size := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if size < minBytes || size > maxBytes {
		return nil
	}
	page := uintptr(os.Getpagesize())
	base := unsafe.Pointer(unsafe.SliceData(s[:1]))
	start := uintptr(base)
	end := start + size
	first := (start + page - 1) &^ (page - 1)
	last := end &^ (page - 1)
	if last <= first {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(base, first-start)), last-first)
}
