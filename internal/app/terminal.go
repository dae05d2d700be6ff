package app

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// FlushInput throws away what was typed on the terminal f and not yet
// read (tcflush TCIFLUSH): keys typed before a keep code was shown must
// not answer it, in the CLI's prompt as in the TUI's dialog.
func FlushInput(f *os.File) error {
	if err := unix.IoctlSetInt(int(f.Fd()), unix.TCFLSH, unix.TCIFLUSH); err != nil {
		return fmt.Errorf("discard what was typed before the code was shown: %w", err)
	}
	return nil
}
