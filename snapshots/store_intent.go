package snapshots

import (
	"bytes"
	"fmt"
	"io"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// The terminal UI starts from the newest snapshot's intent. A snapshot of
// an apply holds its resolved routes too (100k of them: 7.5 MB), which the
// UI does not need at start-up, so the listing index records where each
// file's intent ends (before its "snapshot:" section), and LatestIntent
// reads only that much of a file the index vouches for: one whose inode,
// size, mtime and ctime are what they were when nictab wrote or checked
// it, so it holds what nictab wrote, checksum and all. Anything else, and
// every use that changes the host (rollback, diff, export), reads and
// checks the whole file.

// intentEnd is the offset of the line "snapshot:" in a file nictab wrote
// (every key of the top level starts a line, and no value does: text
// holding a line break is written quoted, with the break escaped), or 0.
func intentEnd(data []byte) int64 {
	if bytes.HasPrefix(data, []byte("snapshot:")) {
		return 0
	}
	i := bytes.Index(data, []byte("\nsnapshot:\n"))
	if i < 0 {
		return 0
	}
	return int64(i + 1)
}

// LatestIntent is the intent of the newest snapshot that is not damaged,
// and false when there is none.
func (s *Store) LatestIntent() (netcfg.Intent, bool, error) {
	all, err := s.Listing()
	if err != nil {
		return netcfg.Intent{}, false, err
	}
	for i := range all {
		l := &all[i]
		if l.Err != nil {
			continue
		}
		if l.indexed.Intent > 0 {
			if in, ok := s.readIntent(l); ok {
				return in, true, nil
			}
		}
		latest, err := s.Latest()
		if err != nil || latest == nil {
			return netcfg.Intent{}, false, err
		}
		return latest.Intent, true, nil
	}
	return netcfg.Intent{}, false, nil
}

// readIntent reads the intent of an indexed file, if the file open is the
// one the index entry was made for.
func (s *Store) readIntent(l *Listed) (netcfg.Intent, bool) {
	snaps, err := s.snapDirFile(false)
	if err != nil || snaps == nil {
		return netcfg.Intent{}, false
	}
	f, err := openIn(snaps, l.ID+".yaml", unix.O_RDONLY, 0)
	if err != nil {
		return netcfg.Intent{}, false
	}
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return netcfg.Intent{}, false
	}
	stamp := fileStamp{ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano(), ctim: st.Ctim.Nano()}
	if !l.indexed.matches(stamp) || l.indexed.Intent > st.Size {
		return netcfg.Intent{}, false
	}
	if err := unix.SetNonblock(int(f.Fd()), false); err != nil {
		return netcfg.Intent{}, false
	}
	head := make([]byte, l.indexed.Intent)
	if _, err := io.ReadFull(f, head); err != nil {
		return netcfg.Intent{}, false
	}
	snap, err := format.ParseStored(fmt.Sprintf("%s (up to its snapshot: section)", l.Path), head)
	if err != nil {
		return netcfg.Intent{}, false
	}
	return snap.Intent, true
}
