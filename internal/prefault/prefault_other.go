//go:build !linux

package prefault

// Slice does nothing where the kernel has no MADV_POPULATE_WRITE.
func Slice[T any](s []T) {}
