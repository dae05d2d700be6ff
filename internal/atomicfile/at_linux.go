//go:build linux

package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// WriteFileAt is WriteFile relative to an open directory: the temporary
// file is created exclusively (O_EXCL, never through a link) and renamed
// over name inside dir, so a path swapped after dir was opened cannot
// redirect the write.
func WriteFileAt(dir *os.File, name string, data []byte, perm os.FileMode) error {
	s, err := StageAt(dir, name, data, perm)
	if err != nil {
		return err
	}
	return s.Commit()
}

// Staged is a file written and synced under a temporary name in its
// directory, not yet under its own: Commit renames it there, Discard
// removes it. Until then nothing that lists the directory's files by
// their names sees it (see IsTemporary).
type Staged struct {
	dir       *os.File
	tmp, name string
}

// StageAt writes data to a new temporary file in dir and syncs it: the
// slow part of WriteFileAt, done before it is known whether the file is
// wanted. dir must stay open until Commit or Discard.
func StageAt(dir *os.File, name string, data []byte, perm os.FileMode) (_ *Staged, err error) {
	full := filepath.Join(dir.Name(), name)
	dfd := int(dir.Fd())
	var fd int
	var tmp string
	for range 16 {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, fmt.Errorf("write %s: %w", full, err)
		}
		tmp = "." + name + tempInfix + hex.EncodeToString(r[:])
		fd, err = unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("write %s: create temporary file: %w", full, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir.Name(), tmp))
	defer func() {
		if err != nil {
			f.Close()
			unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return nil, fmt.Errorf("write %s: %w", full, err)
	}
	if _, err := f.Write(data); err != nil {
		return nil, fmt.Errorf("write %s: %w", full, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("write %s: sync: %w", full, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", full, err)
	}
	return &Staged{dir: dir, tmp: tmp, name: name}, nil
}

// Commit renames the staged file over its name and syncs the directory.
// A failed rename removes the temporary file.
func (s *Staged) Commit() error {
	dfd := int(s.dir.Fd())
	if err := unix.Renameat(dfd, s.tmp, dfd, s.name); err != nil {
		unix.Unlinkat(dfd, s.tmp, 0)
		return fmt.Errorf("write %s: rename: %w", filepath.Join(s.dir.Name(), s.name), err)
	}
	if err := s.dir.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", s.dir.Name(), err)
	}
	return nil
}

// Discard removes the staged file.
func (s *Staged) Discard() error {
	if err := unix.Unlinkat(int(s.dir.Fd()), s.tmp, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", filepath.Join(s.dir.Name(), s.tmp), err)
	}
	return nil
}

// tempInfix marks the temporary files of StageAt and WriteFileAt.
const tempInfix = ".tmp-"

// IsTemporary reports whether name is that of a temporary file of
// StageAt or WriteFileAt: what a process killed before Commit leaves.
func IsTemporary(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempInfix)
}
