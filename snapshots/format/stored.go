package format

// The store (package snapshots) keeps two notes on a snapshot it wrote or
// read, which the file codec neither reads nor writes: they ride on the
// Snapshot so they follow it from the encoder to the listing index. They
// are methods, not exported fields, so a Snapshot built or compared
// elsewhere does not carry them as data.

// IntentEnd is where the snapshot's intent ends in its stored file, 0 when
// the store has not set it.
func (s *Snapshot) IntentEnd() int64 { return s.intentEnd }

// SetIntentEnd is for the store only: it records where the intent ends in
// the bytes it wrote or read for s.
func (s *Snapshot) SetIntentEnd(n int64) { s.intentEnd = n }

// Records is the digest of what s records, as the store set it, or "".
func (s *Snapshot) Records() string { return s.records }

// SetRecords is for the store only: it caches the digest of what s
// records, made from the bytes it encoded ahead.
func (s *Snapshot) SetRecords(d string) { s.records = d }

// ParseStored parses a file of the store with the store's limits (no cap
// on a value's size; see MaxStoredSize). It does not require the checksum
// line: the store checks it first. Exported for the store only.
func ParseStored(name string, data []byte) (*Snapshot, error) {
	return parseWith(name, data, storedLimits)
}

// ChecksumMissing is the error for a file of the store that has no
// checksum line, which the store does not trust. It wraps ErrChecksum.
// Exported for the store only.
func ChecksumMissing(file, msg string) *FileError {
	return &FileError{File: file, Field: "checksum", Msg: msg, err: ErrChecksum}
}
