package snapshots

import (
	"bytes"
	"fmt"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// The records of what nictab installed come from the newest snapshot's
// resolved section. A snapshot of an apply holds its intent too, as many
// routes again, which says nothing of what nictab installed; decoding it
// was half of what every rollback of 100k routes spent on the records.
// latestResolved reads the newest intact file whole and checks its
// checksum over every byte, so the file is the one nictab wrote (and
// proved to load when it wrote it); only its part from the "snapshot:"
// line on is decoded, under the same limits and as strictly. A file that
// does not read that way is read as Latest reads it.

// latestResolved is the resolved section of the newest snapshot that is
// not damaged, nil when there is none.
func (s *Store) latestResolved() (*netcfg.Owned, error) {
	all, err := s.Listing()
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Err != nil {
			continue
		}
		if t, ok := s.readResolved(&all[i]); ok {
			return t, nil
		}
		break
	}
	latest, err := s.Latest()
	if err != nil || latest == nil {
		return nil, err
	}
	return latest.Resolved, nil
}

// readResolved decodes a stored file's snapshot: and resolved: sections,
// after checking its checksum.
func (s *Store) readResolved(l *Listed) (*netcfg.Owned, bool) {
	snaps, err := s.snapDirFile(false)
	if err != nil || snaps == nil {
		return nil, false
	}
	data, err := readIn(snaps, l.ID+".yaml", format.MaxStoredSize)
	if err != nil {
		return nil, false
	}
	if line, err := format.VerifyChecksum(l.Path, data); err != nil || line == 0 {
		return nil, false
	}
	version := fmt.Appendf(nil, "version: %d\n", format.Version)
	end := intentEnd(data)
	sum := bytes.LastIndex(data, []byte("\n"+format.ChecksumPrefix))
	if !bytes.HasPrefix(data, version) || end <= 0 || sum < int(end) {
		return nil, false
	}
	// The version line goes right before the snapshot: line, over the end
	// of the intent, which is not decoded: no copy of the other half (75
	// MB for a million routes).
	start := int(end) - len(version)
	copy(data[start:end], version)
	tail := data[start : sum+1]
	snap, err := format.ParseStored(fmt.Sprintf("%s (from its snapshot: section)", l.Path), tail)
	if err != nil || snap.Meta == nil || snap.Resolved == nil || snap.Meta.ID != l.ID {
		return nil, false
	}
	return snap.Resolved, true
}
