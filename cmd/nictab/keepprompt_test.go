package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestReadKeepCode: only the code keeps; the first character that is not
// its next one reverts, and the reason says what came.
func TestReadKeepCode(t *testing.T) {
	const code = "K7XA"
	for _, tc := range []struct {
		in   string
		keep bool
		why  string
		echo string
	}{
		{"K7XA", true, "", "K7XA\n"},
		{"k7xa\n", true, "", "k7xa\n"}, // the Enter after it is the shell's
		{"y\n", false, `"y" typed at the keep prompt`, "\n"},
		{"K7Xy", false, `"y" typed`, "K7X\n"},
		{"\n", false, "Enter after 0 of the code's 4 characters", "\n"},
		{"K7\r", false, "Enter after 2 of the code's 4", "K7\n"},
		{"", false, "end of input at the keep prompt", ""},
		{"K\x04", false, "Ctrl-D", "K\n"},
		{"\x03", false, "Ctrl-C", "\n"},
		{"\x1b[A", false, "key 0x1b", "\n"},
	} {
		var echo bytes.Buffer
		got := readKeepCode(strings.NewReader(tc.in), code, &echo)
		if got.keep != tc.keep || !strings.Contains(got.why, tc.why) || echo.String() != tc.echo {
			t.Errorf("typed %q: keep %v (%q), echo %q; want keep %v (%q), echo %q", tc.in, got.keep, got.why, echo.String(), tc.keep, tc.why, tc.echo)
		}
	}
}
