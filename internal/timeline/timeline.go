//go:build !profile

// Package timeline marks the phases of a command, so that where its time
// goes can be measured on the binary a person runs (bench/timeline.sh).
// Only a binary built with -tags profile records anything; in any other
// the marks are empty calls.
package timeline

// Mark records that the phase named what has just ended.
func Mark(what string) {}
