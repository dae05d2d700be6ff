package snapshots

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/snapshots/format"
)

// The listing index: what `snapshot list` and the TUI's history show of
// each snapshot (time, kind, comment, summary), kept in DIR/snapshots/.index
// beside the files, so a listing does not parse every stored snapshot in
// full (one of 100k routes is about 7.5 MB of YAML).
//
// NOTE: the index is a cache that is never trusted beyond what it is:
//   - An entry is used only for a file whose inode, size, mtime and ctime
//     are what they were when the entry was made. Any write to the file
//     changes its ctime, which no user can set back, so a file edited or
//     replaced since is parsed in full again, checksum and all.
//   - The index carries its own SHA-256 and a format version; one that is
//     missing, damaged, too large, of another version, or not a regular
//     file of this user (openIn) is ignored as a whole, and every file is
//     read as before.
//   - Only intact snapshots are indexed: a damaged file is parsed on every
//     listing, so it is always named as damaged.
//   - Reading a snapshot to use it (show, diff, rollback, export) always
//     parses the file and checks its checksum; the index never stands in
//     for the file's content. The one shortcut is the terminal UI's
//     starting intent (store_intent.go): the part of a file the index
//     vouches for, read from the very file the entry was made for.
//
// So a lost or stale index costs time, never correctness, and writing it
// is best effort: a snapshot whose index update failed is saved all the
// same.
const (
	indexName = ".index"
	// indexVersion 2: summaries hold NIC names as they are (version 1
	// held them escaped, and views now escape them).
	indexVersion = 2
	indexMagic   = "nictab-snapshot-index"
	maxIndexSize = 16 << 20
)

// Listed is one file of the history as a listing shows it. Err is set,
// and the other fields but ID and Path are empty, for a damaged file.
type Listed struct {
	ID      string
	Path    string
	Time    time.Time
	Kind    string
	Comment string
	Summary string
	Err     error
	// indexed is the index entry it stands for; zero for a damaged file.
	indexed indexEntry
}

// Damaged reports whether the file could not be read as a snapshot.
func (l *Listed) Damaged() bool { return l.Err != nil }

type indexEntry struct {
	Name    string    `json:"name"`
	Ino     uint64    `json:"ino"`
	Size    int64     `json:"size"`
	Mtime   int64     `json:"mtime_ns"`
	Ctime   int64     `json:"ctime_ns"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Comment string    `json:"comment,omitempty"`
	Summary string    `json:"summary"`
	// Intent is where the file's intent ends (store_intent.go); 0 for
	// entries written before it was recorded.
	Intent int64 `json:"intent,omitempty"`
	// Records is the digest of the identities the snapshot records
	// (store_digest.go); "" for entries written before it was recorded.
	Records string `json:"records,omitempty"`
	// Routes is how many routes the snapshot records (its resolved
	// section); 0 for entries written before it was recorded.
	Routes int `json:"routes,omitempty"`
	// Before is resolvedDigest of the snapshot's resolved state: a
	// journal whose state before has it may name the snapshot instead
	// (journal_ref.go); "" for a small one, or one indexed before.
	Before string `json:"before,omitempty"`
}

type indexFile struct {
	Version int          `json:"version"`
	Entries []indexEntry `json:"entries"`
}

// fileStamp is what an index entry must match of a file's stat.
type fileStamp struct {
	ino         uint64
	size        int64
	mtime, ctim int64
}

func stampAt(dir *os.File, name string) (fileStamp, bool) {
	var st unix.Stat_t
	if unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fileStamp{}, false
	}
	return fileStamp{ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano(), ctim: st.Ctim.Nano()}, true
}

func (e *indexEntry) matches(s fileStamp) bool {
	return e.Ino == s.ino && e.Size == s.size && e.Mtime == s.mtime && e.Ctime == s.ctim
}

// readIndex returns the index's entries by file name, or nil when there is
// no index that can be trusted (see the NOTE above).
func readIndex(dir *os.File) map[string]*indexEntry {
	data, err := readIn(dir, indexName, maxIndexSize)
	if err != nil {
		return nil
	}
	head, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return nil
	}
	want := fmt.Sprintf("%s %d sha256:", indexMagic, indexVersion)
	sum, ok := strings.CutPrefix(string(head), want)
	if !ok {
		return nil
	}
	got := sha256.Sum256(body)
	if sum != hex.EncodeToString(got[:]) {
		return nil
	}
	var f indexFile
	if json.Unmarshal(body, &f) != nil || f.Version != indexVersion {
		return nil
	}
	m := make(map[string]*indexEntry, len(f.Entries))
	for i := range f.Entries {
		m[f.Entries[i].Name] = &f.Entries[i]
	}
	return m
}

func writeIndex(dir *os.File, entries []indexEntry) error {
	body, err := json.Marshal(indexFile{Version: indexVersion, Entries: entries})
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d sha256:%s\n", indexMagic, indexVersion, hex.EncodeToString(sum[:]))
	b.Write(body)
	return replaceUnsynced(dir, indexName, b.Bytes())
}

// replaceUnsynced writes data to a temporary file of dir and renames it
// over name, as atomicfile.WriteFileAt does but syncing neither: the
// index is a cache checked by its own checksum and by each file's stamp,
// so one lost or torn by a power cut is ignored or stale, never wrong
// (see the NOTE above), and its two syncs were 2–5 ms of every apply.
func replaceUnsynced(dir *os.File, name string, data []byte) error {
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return err
	}
	tmp := "." + name + ".tmp-" + hex.EncodeToString(r[:])
	fd, err := unix.Openat(int(dir.Fd()), tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(int(dir.Fd()), tmp, int(dir.Fd()), name)
	}
	if err != nil {
		_ = unix.Unlinkat(int(dir.Fd()), tmp, 0)
	}
	return err
}

// snapshotNames are the snapshot files of dir (DIR/snapshots).
func snapshotNames(dir *os.File) ([]string, error) {
	ents, err := readDirAt(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".yaml") || strings.HasPrefix(name, ".") {
			continue
		}
		names = append(names, name)
	}
	return names, nil
}

func listedFrom(e *indexEntry, id, path string) Listed {
	return Listed{ID: id, Path: path, Time: e.Time, Kind: e.Kind, Comment: e.Comment, Summary: e.Summary, indexed: *e}
}

func (st *Store) entryFor(name string, fs fileStamp, s *format.Snapshot) indexEntry {
	return indexEntry{Name: name, Ino: fs.ino, Size: fs.size, Mtime: fs.mtime, Ctime: fs.ctim,
		Time: s.Meta.Time, Kind: s.Meta.Kind, Comment: s.Comment, Summary: Summary(s), Intent: s.IntentEnd(), Records: snapshotRecords(s), Routes: recordedRoutes(s),
		Before: st.beforeDigest(s)}
}

// knowBefore records resolvedDigest of snapshot id's resolved state,
// made while the kernel applied, for its index entry.
func (st *Store) knowBefore(id, digest string) {
	if digest == "" {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.befores == nil {
		st.befores = map[string]string{}
	}
	st.befores[id] = digest
}

// beforeDigest is resolvedDigest of s's resolved state, as knowBefore
// recorded it or made now.
func (st *Store) beforeDigest(s *format.Snapshot) string {
	st.mu.Lock()
	d, ok := st.befores[s.Meta.ID]
	st.mu.Unlock()
	if ok {
		return d
	}
	return resolvedDigest(s.Resolved)
}

// Listing returns the history, newest first, as a listing shows it: from
// the index for files unchanged since it was written, by parsing the rest.
func (s *Store) Listing() ([]Listed, error) {
	snaps, err := s.snapDirFile(false)
	if err != nil || snaps == nil {
		return nil, err
	}
	out, _, err := s.listing(snaps, nil)
	return out, err
}

// listing lists snaps, and returns the index entries of its intact files.
// fresh, when set, is the snapshot just written under its file name: its
// entry is made from it rather than by reading the file back.
func (s *Store) listing(snaps *os.File, fresh *format.Snapshot) ([]Listed, []indexEntry, error) {
	names, err := snapshotNames(snaps)
	if err != nil {
		return nil, nil, fmt.Errorf("list snapshots: %w", err)
	}
	idx := readIndex(snaps)
	out := make([]Listed, 0, len(names))
	entries := make([]indexEntry, 0, len(names))
	for _, name := range names {
		id := strings.TrimSuffix(name, ".yaml")
		path := filepath.Join(s.snapDir(), name)
		st, stOK := stampAt(snaps, name)
		if ie := idx[name]; stOK && ie != nil && ie.matches(st) {
			out = append(out, listedFrom(ie, id, path))
			entries = append(entries, *ie)
			continue
		}
		if m, ok := s.memoFor(name); ok && stOK && m.stamp == st && (fresh == nil || fresh.Meta == nil || fresh.Meta.ID != id) {
			out = append(out, m.listed)
			if m.listed.Err == nil {
				entries = append(entries, m.entry)
			}
			continue
		}
		var snap *format.Snapshot
		if fresh != nil && fresh.Meta != nil && fresh.Meta.ID == id {
			snap = fresh
		} else {
			en := loadEntry(snaps, s.snapDir(), name)
			if en.Err != nil {
				out = append(out, Listed{ID: id, Path: path, Err: en.Err})
				s.memo(name, st, stOK, out[len(out)-1], indexEntry{})
				continue
			}
			snap = en.Snapshot
		}
		ie := s.entryFor(name, st, snap)
		out = append(out, listedFrom(&ie, id, path))
		s.memo(name, st, stOK, out[len(out)-1], ie)
		if stOK {
			entries = append(entries, ie)
		}
	}
	slices.SortFunc(out, func(a, b Listed) int { return compareIDs(b.ID, a.ID) })
	return out, entries, nil
}

// updateIndex brings the index in step with the directory after snap was
// written to it. See the NOTE above for why a failure here is not an error
// of the save.
func (s *Store) updateIndex(snaps *os.File, snap *format.Snapshot) {
	_, entries, err := s.listing(snaps, snap)
	if err != nil {
		return
	}
	// A failed write leaves the old index, whose entries still match the
	// files they were made for.
	_ = writeIndex(snaps, entries)
}

// listedMemo is what one listing learnt of a file the index did not
// cover, so that later listings in the same process (a rollback lists the
// history several times) need not parse it again while it is unchanged.
type listedMemo struct {
	stamp  fileStamp
	listed Listed
	entry  indexEntry
}

func (s *Store) memo(name string, st fileStamp, stOK bool, l Listed, ie indexEntry) {
	if !stOK {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listed == nil {
		s.listed = map[string]listedMemo{}
	}
	s.listed[name] = listedMemo{stamp: st, listed: l, entry: ie}
}

func (s *Store) memoFor(name string) (listedMemo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.listed[name]
	return m, ok
}
