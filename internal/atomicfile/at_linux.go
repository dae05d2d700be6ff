//go:build linux

package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// WriteFileAt is WriteFile relative to an open directory: the temporary
// file is created exclusively (O_EXCL, never through a link) and renamed
// over name inside dir, so a path swapped after dir was opened cannot
// redirect the write.
func WriteFileAt(dir *os.File, name string, data []byte, perm os.FileMode) (err error) {
	full := filepath.Join(dir.Name(), name)
	dfd := int(dir.Fd())
	var fd int
	var tmp string
	for range 16 {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return fmt.Errorf("write %s: %w", full, err)
		}
		tmp = "." + name + ".tmp-" + hex.EncodeToString(r[:])
		fd, err = unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: create temporary file: %w", full, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir.Name(), tmp))
	defer func() {
		if err != nil {
			f.Close()
			unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", full, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", full, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", full, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", full, err)
	}
	if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
		return fmt.Errorf("write %s: rename: %w", full, err)
	}
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir.Name(), err)
	}
	return nil
}
