// Package snapshots keeps nictab's history of snapshot files on disk (the
// store), diffs them, and runs the apply transaction around netcfg
// (journal, lock, confirm window, revert, recovery). The file itself is
// package snapshots/format; the exports are package snapshots/export.
package snapshots

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/internal/atomicfile"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// Store is the snapshot history of one host or namespace: one YAML file per
// snapshot under DIR/snapshots, named by its id.
//
// NOTE: every file of the store is opened relative to a descriptor of its
// directory, taken once through openTrustedDir, and never through a link:
// a path that changes after that (a link swapped in a world-writable
// parent) cannot redirect what nictab reads or writes.
type Store struct {
	dir string
	now func() time.Time

	mu    sync.Mutex
	root  *os.File // nil until the directory exists
	snaps *os.File // DIR/snapshots, nil until it exists

	// pending is the snapshot this process last wrote to pending/, so that
	// committing it indexes it from memory: the rename moves the file's
	// ctime, and the index entry made before it would no longer match.
	pending *format.Snapshot
	// listed memoises listings of files the index did not cover.
	listed map[string]listedMemo
	// befores holds the index digests of resolved states (knowBefore)
	// made while the kernel applied, by snapshot id.
	befores map[string]string
}

// idLayout makes ids that sort by time and are short to type:
// 261124-175512 is 2026-11-24 17:55:12 UTC.
const idLayout = "060102-150405"

// OpenStore opens the store in dir. It refuses a directory that it could
// not trust (see openTrustedDir): whoever can write there can make nictab
// restore any routing they like. A directory that does not exist yet is
// made (mode 0700) only when something is first written, so read-only
// commands never create it.
func OpenStore(dir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	s := &Store{dir: dir, now: now}
	if _, err := s.snapDirFile(false); err != nil {
		return nil, err
	}
	return s, nil
}

// rootFile is the store's directory, opened (with create, made) once.
// It returns nil, nil when the directory does not exist and create is
// false.
func (s *Store) rootFile(create bool) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root != nil {
		return s.root, nil
	}
	f, err := openTrustedDir(s.dir, create)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.root = f
	return f, nil
}

// snapDirFile is DIR/snapshots; nil, nil when absent and create is false.
func (s *Store) snapDirFile(create bool) (*os.File, error) {
	root, err := s.rootFile(create)
	if err != nil || root == nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snaps != nil {
		return s.snaps, nil
	}
	f, err := openSubdir(root, "snapshots", create)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.snaps = f
	return f, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) snapDir() string { return filepath.Join(s.dir, "snapshots") }

func (s *Store) path(id string) string { return filepath.Join(s.snapDir(), id+".yaml") }

// existsIn reports whether name is in dir (a nil dir holds nothing).
func existsIn(dir *os.File, name string) bool {
	if dir == nil {
		return false
	}
	var st unix.Stat_t
	return unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// NewID returns an id for a snapshot taken now that no snapshot has yet.
func (s *Store) NewID() string {
	snaps, _ := s.snapDirFile(false)
	base := s.now().UTC().Format(idLayout)
	id := base
	for n := 2; ; n++ {
		if !existsIn(snaps, id+".yaml") {
			return id
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}

// idFree reports whether no snapshot has id yet.
func (s *Store) idFree(id string) bool {
	snaps, _ := s.snapDirFile(false)
	return !existsIn(snaps, id+".yaml")
}

// Save writes a snapshot durably (temporary file, fsync, rename, fsync of
// the directory), filling in its id when it has none.
func (s *Store) Save(snap *format.Snapshot) error {
	if snap.Meta == nil {
		return errors.New("save snapshot: it has no metadata")
	}
	if snap.Meta.ID == "" {
		snap.Meta.ID = s.NewID()
	}
	b, err := marshalStored(snap)
	if err != nil {
		return fmt.Errorf("save snapshot %s: %w", snap.Meta.ID, err)
	}
	snaps, err := s.snapDirFile(true)
	if err != nil {
		return fmt.Errorf("save snapshot %s: %w", snap.Meta.ID, err)
	}
	if err := atomicfile.WriteFileAt(snaps, snap.Meta.ID+".yaml", b, 0o600); err != nil {
		return fmt.Errorf("save snapshot %s: %w", snap.Meta.ID, err)
	}
	s.updateIndex(snaps, snap)
	return nil
}

// marshalStored encodes a snapshot for the store, refusing one the store
// could not read back.
func marshalStored(snap *format.Snapshot) ([]byte, error) {
	b, err := format.Marshal(snap)
	if err != nil {
		return nil, err
	}
	if len(b) > format.MaxStoredSize {
		return nil, fmt.Errorf("the snapshot would take %d bytes, more than the %d nictab reads back from its store", len(b), format.MaxStoredSize)
	}
	snap.SetIntentEnd(intentEnd(b))
	return b, nil
}

// readIn reads name inside dir, through format.ReadCapped: at most limit
// bytes of a regular file of this user, never through a link.
func readIn(dir *os.File, name string, limit int64) ([]byte, error) {
	f, err := openIn(dir, name, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return format.ReadCapped(f, f.Name(), limit)
}

// loadStored reads a snapshot of the store. A stored file must carry its
// checksum: nictab writes one on every file it stores, so a file without
// one was not written by nictab, or was edited, and is not trusted for a
// rollback.
func loadStored(dir *os.File, name string) (*format.Snapshot, error) {
	data, err := readIn(dir, name, format.MaxStoredSize)
	if err != nil {
		return nil, err
	}
	return parseStored(filepath.Join(dir.Name(), name), data)
}

func parseStored(path string, data []byte) (*format.Snapshot, error) {
	line, err := format.VerifyChecksum(path, data)
	if err != nil {
		return nil, err
	}
	if line == 0 {
		return nil, format.ChecksumMissing(path, "has no checksum line: nictab writes one on every snapshot it stores, so this file is not trusted")
	}
	snap, err := format.ParseStored(path, data)
	if err != nil {
		return nil, err
	}
	snap.SetIntentEnd(intentEnd(data))
	return snap, nil
}

// Raw returns the bytes of an entry's file, read as the store reads it.
func (s *Store) Raw(e *Entry) ([]byte, error) {
	snaps, err := s.snapDirFile(false)
	if err != nil {
		return nil, err
	}
	if snaps == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSnapshot, e.ID)
	}
	return readIn(snaps, e.ID+".yaml", format.MaxStoredSize)
}

// readDirAt lists an open directory from its start, through a fresh
// descriptor of it, so the shared one keeps no read offset.
func readDirAt(dir *os.File) ([]fs.DirEntry, error) {
	fd, err := unix.Openat(int(dir.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir.Name(), Err: err}
	}
	f := os.NewFile(uintptr(fd), dir.Name())
	defer f.Close()
	return f.ReadDir(-1)
}

// Entry is one file of the history. Damaged files (unparseable, or whose
// checksum does not match) have Err set and no Snapshot; the rest of the
// history works without them.
type Entry struct {
	ID       string
	Path     string
	Snapshot *format.Snapshot
	Err      error
}

// Damaged reports whether the file could not be read as a snapshot.
func (e *Entry) Damaged() bool { return e.Err != nil }

// List returns every snapshot, newest first.
func (s *Store) List() ([]Entry, error) {
	snaps, err := s.snapDirFile(false)
	if err != nil || snaps == nil {
		return nil, err
	}
	names, err := snapshotNames(snaps)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var out []Entry
	for _, name := range names {
		out = append(out, loadEntry(snaps, s.snapDir(), name))
	}
	slices.SortFunc(out, func(a, b Entry) int { return compareIDs(b.ID, a.ID) })
	return out, nil
}

// loadEntry reads and checks one file of the history (name in snaps,
// whose path is dirPath).
func loadEntry(snaps *os.File, dirPath, name string) Entry {
	id := strings.TrimSuffix(name, ".yaml")
	en := Entry{ID: id, Path: filepath.Join(dirPath, name)}
	en.Snapshot, en.Err = loadStored(snaps, name)
	if en.Err == nil && (en.Snapshot.Meta == nil || en.Snapshot.Resolved == nil) {
		en.Snapshot, en.Err = nil, fmt.Errorf("%s: not a saved snapshot (no snapshot: or resolved: section)", en.Path)
	}
	if en.Err == nil && en.Snapshot.Meta.ID != id {
		en.Snapshot, en.Err = nil, fmt.Errorf("%s: its id %q does not match its file name", en.Path, en.Snapshot.Meta.ID)
	}
	return en
}

// compareIDs orders ids by time, and ids of the same second by their
// counter (…-2 after the plain one, …-10 after …-9).
func compareIDs(a, b string) int {
	if len(a) >= len(idLayout) && len(b) >= len(idLayout) && a[:len(idLayout)] != b[:len(idLayout)] {
		return strings.Compare(a, b)
	}
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// ErrNoSnapshot means no snapshot matches a reference.
var ErrNoSnapshot = errors.New("no such snapshot")

// Get returns the snapshot whose id is ref or starts with it. A reference
// that matches several is refused with their ids; a damaged file is
// reported as such.
func (s *Store) Get(ref string) (*format.Snapshot, error) {
	e, err := s.Find(ref)
	if err != nil {
		return nil, err
	}
	if e.Err != nil {
		return nil, fmt.Errorf("snapshot %s is damaged: %w", e.ID, e.Err)
	}
	return e.Snapshot, nil
}

// Find returns the entry whose id is ref or starts with it. Only that
// file is read in full.
func (s *Store) Find(ref string) (*Entry, error) {
	if ref == "" || strings.ContainsAny(ref, "/\x00") {
		return nil, fmt.Errorf("%w: %q is not a snapshot id", ErrNoSnapshot, ref)
	}
	all, err := s.Listing()
	if err != nil {
		return nil, err
	}
	var hits []*Listed
	for i := range all {
		if all[i].ID == ref {
			hits = []*Listed{&all[i]}
			break
		}
		if strings.HasPrefix(all[i].ID, ref) {
			hits = append(hits, &all[i])
		}
	}
	switch len(hits) {
	case 0:
		return nil, fmt.Errorf("%w matches %q (see `nictab snapshot list`)", ErrNoSnapshot, ref)
	case 1:
		return s.load(hits[0])
	}
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	return nil, fmt.Errorf("%q matches %d snapshots (%s): give more of the id", ref, len(hits), strings.Join(ids, ", "))
}

// load reads a listed file in full, checksum and all.
func (s *Store) load(l *Listed) (*Entry, error) {
	if l.Err != nil {
		return &Entry{ID: l.ID, Path: l.Path, Err: l.Err}, nil
	}
	snaps, err := s.snapDirFile(false)
	if err != nil {
		return nil, err
	}
	if snaps == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSnapshot, l.ID)
	}
	en := loadEntry(snaps, s.snapDir(), l.ID+".yaml")
	return &en, nil
}

// Latest returns the newest snapshot that is not damaged, or nil when there
// is none.
func (s *Store) Latest() (*format.Snapshot, error) {
	return s.good(0)
}

// LatestID is the id of the newest snapshot that is not damaged, "" when
// there is none, from the listing: no file is read in full for it.
func (s *Store) LatestID() (string, error) {
	all, err := s.Listing()
	if err != nil {
		return "", err
	}
	for i := range all {
		if all[i].Err == nil {
			return all[i].ID, nil
		}
	}
	return "", nil
}

// Back returns the snapshot steps before the newest one (1: the one before
// it), skipping damaged files.
func (s *Store) Back(steps int) (*format.Snapshot, error) {
	if steps < 1 {
		return nil, fmt.Errorf("--steps must be 1 or more, not %d", steps)
	}
	return s.good(steps)
}

// good returns the intact snapshot skip places after the newest intact
// one, reading files in full only from the newest down to it. With skip 0
// and an empty (or all damaged) history it returns nil, nil.
func (s *Store) good(skip int) (*format.Snapshot, error) {
	all, err := s.Listing()
	if err != nil {
		return nil, err
	}
	// The listing knows which files are intact (from the index, or by
	// reading them); only the one wanted is read in full, and should it
	// turn out damaged after all, the count goes on past it.
	n := 0
	for i := range all {
		if all[i].Err != nil {
			continue
		}
		if n < skip {
			n++
			continue
		}
		en, err := s.load(&all[i])
		if err != nil {
			return nil, err
		}
		if en.Err != nil {
			continue
		}
		return en.Snapshot, nil
	}
	if skip == 0 {
		return nil, nil
	}
	return nil, fmt.Errorf("%w: the history holds %d snapshots, so there is nothing %d steps back", ErrNoSnapshot, n, skip)
}

// Prune removes all but the newest keep snapshots, never the live one
// (the newest) nor the baseline "before nictab". Damaged files are kept for a person to look at.
func (s *Store) Prune(keep int) ([]string, error) {
	ids, err := s.Prunable(keep)
	if err != nil {
		return nil, err
	}
	return s.Remove(ids)
}

// Prunable lists what Prune(keep) would remove, oldest last.
func (s *Store) Prunable(keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("--keep must be 1 or more: the live snapshot is never pruned")
	}
	// Every file parsed, not the listing: a file damaged since it was
	// indexed must not count as one of the kept.
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var ids []string
	n := 0
	for _, e := range all {
		if e.Err != nil {
			continue
		}
		// The baseline is how rollback reaches the state before nictab.
		if n++; n > keep && e.Snapshot.Meta.Kind != format.KindBaseline {
			ids = append(ids, e.ID)
		}
	}
	return ids, nil
}

// Remove deletes the snapshots of ids (as Prunable gave them, after a
// person agreed), refusing the newest intact one: it is the live state.
func (s *Store) Remove(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	latest, err := s.Latest()
	if err != nil {
		return nil, err
	}
	named, err := s.journalNames()
	if err != nil {
		return nil, fmt.Errorf("remove snapshots: %w", err)
	}
	var removed []string
	for _, id := range ids {
		if latest != nil && latest.Meta.ID == id {
			return removed, fmt.Errorf("remove snapshot %s: it is the newest, the live state; it is never removed", id)
		}
		if named[id] {
			return removed, fmt.Errorf("remove snapshot %s: the journal of an unfinished change holds it as the state before that change; it is removed only once the change is kept or undone (`nictab recover`)", id)
		}
		if strings.ContainsAny(id, "/\x00") || id == "" || strings.HasPrefix(id, ".") {
			return removed, fmt.Errorf("remove snapshot %q: not a snapshot id", id)
		}
		if err := unix.Unlinkat(int(s.snaps.Fd()), id+".yaml", 0); err != nil {
			return removed, fmt.Errorf("remove snapshot %s: %w", id, err)
		}
		removed = append(removed, id)
	}
	if err := s.snaps.Sync(); err != nil {
		return removed, fmt.Errorf("sync %s: %w", s.snapDir(), err)
	}
	return removed, nil
}

// Summary is a snapshot in one line: "eno1→13 vpn, enp2s0→14 lan; 4 rules,
// 6 routes".
func Summary(s *format.Snapshot) string {
	names := netcfg.Names{}
	if s.Resolved != nil {
		names.Tables = s.Resolved.Names
	}
	for _, t := range s.Intent.Tables {
		if t.Name != "" {
			names.Tables = append(names.Tables, netcfg.TableName{ID: t.ID, Name: t.Name})
		}
	}
	var nics []string
	for _, n := range s.Intent.NICs {
		id := n.Table.ID
		if n.Table.Name != "" {
			id, _ = names.TableID(n.Table.Name)
		}
		label := n.Table.String()
		if id != 0 {
			label = names.TableLabel(id)
		}
		nics = append(nics, n.Name+"→"+label)
	}
	out := strings.Join(nics, ", ")
	if s.Resolved != nil {
		counts := fmt.Sprintf("%d rules, %d routes", len(s.Resolved.Rules), len(s.Resolved.Routes))
		if out == "" {
			out = counts
		} else {
			out += "; " + counts
		}
	}
	if out == "" {
		out = "nothing"
	}
	return out
}
