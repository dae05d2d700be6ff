package snapshots

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nictab/nictab/internal/atomicfile"
	"github.com/nictab/nictab/netcfg"
)

// Store is the snapshot history of one host or namespace: one YAML file per
// snapshot under DIR/snapshots, named by its id.
type Store struct {
	dir string
	now func() time.Time
}

// idLayout makes ids that sort by time and are short to type:
// 261124-175512 is 2026-11-24 17:55:12 UTC.
const idLayout = "060102-150405"

// OpenStore opens (creating it, mode 0700) the store in dir. As root it
// refuses a directory that another user owns or that others may write, as
// sshd's StrictModes does: whoever can write there can make nictab restore
// any routing they like.
func OpenStore(dir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	s := &Store{dir: dir, now: now}
	for _, d := range []string{dir, s.snapDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create state directory %s: %w", d, err)
		}
		if err := checkPrivate(d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func checkPrivate(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	uid := os.Geteuid()
	if int(st.Uid) != uid && uid == 0 {
		return fmt.Errorf("state directory %s belongs to uid %d, not root: refusing to trust it (chown root %s)", dir, st.Uid, dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("state directory %s is writable by group or others (mode %04o): refusing to trust it (chmod 700 %s)", dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) snapDir() string { return filepath.Join(s.dir, "snapshots") }

func (s *Store) path(id string) string { return filepath.Join(s.snapDir(), id+".yaml") }

// NewID returns an id for a snapshot taken now that no snapshot has yet.
func (s *Store) NewID() string {
	base := s.now().UTC().Format(idLayout)
	id := base
	for n := 2; ; n++ {
		if _, err := os.Stat(s.path(id)); errors.Is(err, fs.ErrNotExist) {
			return id
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}

// Save writes a snapshot durably (temporary file, fsync, rename, fsync of
// the directory), filling in its id when it has none.
func (s *Store) Save(snap *Snapshot) error {
	if snap.Meta == nil {
		return errors.New("save snapshot: it has no metadata")
	}
	if snap.Meta.ID == "" {
		snap.Meta.ID = s.NewID()
	}
	b, err := Marshal(snap)
	if err != nil {
		return fmt.Errorf("save snapshot %s: %w", snap.Meta.ID, err)
	}
	if err := atomicfile.WriteFile(s.path(snap.Meta.ID), b, 0o600); err != nil {
		return fmt.Errorf("save snapshot %s: %w", snap.Meta.ID, err)
	}
	return nil
}

// Entry is one file of the history. Damaged files (unparseable, or whose
// checksum does not match) have Err set and no Snapshot; the rest of the
// history works without them.
type Entry struct {
	ID       string
	Path     string
	Snapshot *Snapshot
	Err      error
}

// Damaged reports whether the file could not be read as a snapshot.
func (e *Entry) Damaged() bool { return e.Err != nil }

// List returns every snapshot, newest first.
func (s *Store) List() ([]Entry, error) {
	ents, err := os.ReadDir(s.snapDir())
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var out []Entry
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".yaml") || strings.HasPrefix(name, ".") {
			continue
		}
		id := strings.TrimSuffix(name, ".yaml")
		en := Entry{ID: id, Path: filepath.Join(s.snapDir(), name)}
		en.Snapshot, en.Err = Load(en.Path)
		if en.Err == nil && (en.Snapshot.Meta == nil || en.Snapshot.Resolved == nil) {
			en.Snapshot, en.Err = nil, fmt.Errorf("%s: not a saved snapshot (no snapshot: or resolved: section)", en.Path)
		}
		if en.Err == nil && en.Snapshot.Meta.ID != id {
			en.Snapshot, en.Err = nil, fmt.Errorf("%s: its id %q does not match its file name", en.Path, en.Snapshot.Meta.ID)
		}
		out = append(out, en)
	}
	slices.SortFunc(out, func(a, b Entry) int { return compareIDs(b.ID, a.ID) })
	return out, nil
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
func (s *Store) Get(ref string) (*Snapshot, error) {
	e, err := s.Find(ref)
	if err != nil {
		return nil, err
	}
	if e.Err != nil {
		return nil, fmt.Errorf("snapshot %s is damaged: %w", e.ID, e.Err)
	}
	return e.Snapshot, nil
}

// Find returns the entry whose id is ref or starts with it.
func (s *Store) Find(ref string) (*Entry, error) {
	if ref == "" || strings.ContainsAny(ref, "/\x00") {
		return nil, fmt.Errorf("%w: %q is not a snapshot id", ErrNoSnapshot, ref)
	}
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var hits []*Entry
	for i := range all {
		if all[i].ID == ref {
			return &all[i], nil
		}
		if strings.HasPrefix(all[i].ID, ref) {
			hits = append(hits, &all[i])
		}
	}
	switch len(hits) {
	case 0:
		return nil, fmt.Errorf("%w matches %q (see `nictab snapshot list`)", ErrNoSnapshot, ref)
	case 1:
		return hits[0], nil
	}
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	return nil, fmt.Errorf("%q matches %d snapshots (%s): give more of the id", ref, len(hits), strings.Join(ids, ", "))
}

// Latest returns the newest snapshot that is not damaged, or nil when there
// is none.
func (s *Store) Latest() (*Snapshot, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		if e.Err == nil {
			return e.Snapshot, nil
		}
	}
	return nil, nil
}

// Back returns the snapshot steps before the newest one (1: the one before
// it), skipping damaged files.
func (s *Store) Back(steps int) (*Snapshot, error) {
	if steps < 1 {
		return nil, fmt.Errorf("--steps must be 1 or more, not %d", steps)
	}
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var good []*Snapshot
	for _, e := range all {
		if e.Err == nil {
			good = append(good, e.Snapshot)
		}
	}
	if steps >= len(good) {
		return nil, fmt.Errorf("%w: the history holds %d snapshots, so there is nothing %d steps back", ErrNoSnapshot, len(good), steps)
	}
	return good[steps], nil
}

// Prune removes all but the newest keep snapshots, never the live one
// (the newest) nor the baseline "before nictab". Damaged files are kept for a person to look at.
func (s *Store) Prune(keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("--keep must be 1 or more: the live snapshot is never pruned")
	}
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	n := 0
	for _, e := range all {
		if e.Err != nil {
			continue
		}
		n++
		// The baseline is how rollback reaches the state before nictab.
		if n <= keep || e.Snapshot.Meta.Kind == KindBaseline {
			continue
		}
		if err := os.Remove(e.Path); err != nil {
			return removed, fmt.Errorf("remove snapshot %s: %w", e.ID, err)
		}
		removed = append(removed, e.ID)
	}
	if len(removed) > 0 {
		if err := atomicfile.SyncDir(s.snapDir()); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// Summary is a snapshot in one line: "eno1→13 vpn, enp2s0→14 lan; 4 rules,
// 6 routes".
func Summary(s *Snapshot) string {
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
		nics = append(nics, netcfg.SafeText(n.Name)+"→"+label)
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
