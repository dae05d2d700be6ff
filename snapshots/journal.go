package snapshots

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/internal/atomicfile"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// Journal phases.
const (
	// PhaseApplying: changes may be half done. Recovery reverts.
	PhaseApplying = "applying"
	// PhaseApplied: every change is done and verified. Without a confirm
	// window recovery keeps it; with one, it reverts unless confirmed.
	PhaseApplied = "applied"
)

// Journal is written durably before the first change of an apply and
// removed when the change is kept or reverted. Whatever happens to the
// process in between — a crash, SIGKILL, a power cut — the journal says how
// to bring the host back to the state before.
type Journal struct {
	TxID    string    `json:"txid"`
	Started time.Time `json:"started"`
	PID     int       `json:"pid"`
	Phase   string    `json:"phase"`
	// Deadline is when an unconfirmed change reverts; zero without a
	// confirm window.
	Deadline time.Time `json:"deadline,omitzero"`
	// DeadlineBoot is the deadline on CLOCK_BOOTTIME, of the boot BootID:
	// the one the watchdog goes by (see clock_linux.go).
	DeadlineBoot time.Duration `json:"deadline_boottime,omitempty"`
	BootID       string        `json:"boot_id,omitempty"`
	// Before is what nictab owned before the apply: the revert target.
	Before netcfg.Desired `json:"before"`
	// Tables are the tables the apply read and wrote.
	Tables []uint32 `json:"tables"`
	// Foreign lists the rules, and the routes of Tables, that nictab did
	// not own before the apply (netcfg.ForeignObjects): a revert checks
	// that each is still there, so "as before" is true of them too.
	Foreign []string `json:"foreign,omitempty"`
	// SnapshotID is the id the snapshot of the change gets once kept. The
	// snapshot itself waits in DIR/pending/ID.yaml, written before the
	// change is called done, so keeping it cannot fail for want of space.
	SnapshotID string `json:"snapshot_id,omitempty"`

	// beforeJSON is Before encoded, set by whoever sets Before when it is
	// large: an apply writes its journal twice, and a rollback of 100k
	// routes spent 0.15 s encoding them each time.
	beforeJSON []byte
	// beforeRef, when set, names the snapshot that holds Before, and the
	// journal is written so (journal_ref.go). beforeLoaded says Before
	// holds that state: set by whoever wrote such a journal, and once
	// resolveBefore has read it back.
	beforeRef    *beforeRef
	beforeLoaded bool
}

// encode is the journal's JSON, with Before as beforeJSON says when set,
// or naming the snapshot beforeRef names.
func (j *Journal) encode() ([]byte, error) {
	type plain Journal
	before := j.beforeJSON
	if j.beforeRef != nil {
		var err error
		if before, err = json.Marshal(j.beforeRef.text()); err != nil {
			return nil, err
		}
	}
	if before == nil {
		return json.Marshal((*plain)(j))
	}
	// The journal with an empty Before, which is then put in as encoded:
	// a json.RawMessage would be checked and copied again (as long as the
	// encoding itself). An empty Before encodes as zeroBefore, unquoted
	// and right after its key, which no value of a field before it (an
	// id, a time, a phase, a boot id, quoted and escaped) can hold.
	c := *j
	c.Before, c.beforeJSON, c.beforeRef = netcfg.Desired{}, nil, nil
	b, err := json.Marshal((*plain)(&c))
	if err != nil {
		return nil, err
	}
	zero, err := json.Marshal(netcfg.Desired{})
	if err != nil {
		return nil, err
	}
	at := bytes.Index(b, append([]byte(`"before":`), zero...))
	if at < 0 {
		return nil, errors.New("encode journal: no place for its state before")
	}
	at += len(`"before":`)
	// With room for the checksum line, which sealJSON appends: growing
	// 13 MB (100k routes) to add it cost a copy and a clear of each write.
	out := make([]byte, 0, len(b)+len(before)+sealRoom)
	out = append(append(append(out, b[:at]...), before...), b[at+len(zero):]...)
	return out, nil
}

// decodeState reads a journal whose state before is either the state
// itself or, as a string, the snapshot that holds it (see
// journal_ref.go). A journal holding its state is decoded as it always
// was: through a json.Unmarshaler its 13 MB (100k routes) would be
// scanned three times.
func (j *Journal) decodeState(b []byte) error {
	type plain Journal
	if !bytes.Contains(b, []byte(`"before":"`)) && !bytes.Contains(b, []byte(`"before": "`)) {
		j.beforeRef, j.beforeLoaded = nil, false
		return json.Unmarshal(b, (*plain)(j))
	}
	var in struct {
		*plain
		// Shadows plain's Before, being less deeply nested.
		Before beforeField `json:"before"`
	}
	in.plain = (*plain)(j)
	in.Before.d = &j.Before
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	j.beforeRef, j.beforeLoaded = in.Before.ref, false
	return nil
}

// beforeField is a journal's "before" as it is read.
type beforeField struct {
	d   *netcfg.Desired
	ref *beforeRef
}

func (f *beforeField) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '"' {
		return json.Unmarshal(b, f.d)
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	r, err := parseBeforeRef(s)
	if err != nil {
		return err
	}
	f.ref = &r
	return nil
}

// setBefore sets the journal's Before, encoded once for every write of
// the journal when it holds many routes.
func (j *Journal) setBefore(d netcfg.Desired) error {
	j.Before, j.beforeJSON, j.beforeRef = d, nil, nil
	if len(d.Routes) < encodeBeforeMin {
		return nil
	}
	b, err := marshalDesired(d)
	if err != nil {
		return fmt.Errorf("encode the journal's state before: %w", err)
	}
	j.beforeJSON = b
	return nil
}

// encodeBeforeMin is the number of routes from which a journal's Before is
// encoded once for all its writes; a smaller one is written indented, for
// a person to read.
const encodeBeforeMin = 1000

// The journal moves between three names. Renames are atomic, so exactly one
// of `nictab confirm` (journal → kept) and the watchdog (journal →
// reverting) wins a race at the deadline.
const (
	journalFile   = "journal.json"
	keptFile      = "journal.kept.json"
	revertingFile = "journal.reverting.json"
	revertNowFile = "revert-now"
	outcomeFile   = "outcome.json"
	pendingDir    = "pending"
)

func (s *Store) jpath(name string) string { return filepath.Join(s.dir, name) }

func (s *Store) pendingPath(id string) string {
	return filepath.Join(s.dir, pendingDir, id+".yaml")
}

// maxStateFile caps a journal or outcome file. A journal holds every rule
// and route nictab owned before an apply, which can be far more than a
// snapshot file a person writes; it is JSON, parsed in linear time.
const maxStateFile = 1 << 30

// sealRoom is room enough for what sealJSON appends.
const sealRoom = 1 + len(format.ChecksumPrefix) + 1 + len("sha256:") + 64 + 1 + 16

// sealJSON appends the checksum line every state file carries, as
// snapshots do: the sha256 of every byte before it.
func sealJSON(b []byte) []byte {
	b = append(b, '\n')
	return append(b, format.ChecksumPrefix+" "+format.Checksum(b)+"\n"...)
}

// openJSON checks a state file's checksum, which is mandatory, and
// returns the JSON before it.
func openJSON(path string, data []byte) ([]byte, error) {
	line, err := format.VerifyChecksum(path, data)
	if err != nil {
		return nil, err
	}
	if line == 0 {
		return nil, format.ChecksumMissing(path, "has no checksum line: nictab writes one on every file it keeps, so this one is not trusted")
	}
	i := bytes.LastIndex(data, []byte("\n"+format.ChecksumPrefix))
	return data[:i+1], nil
}

// writeState writes a sealed JSON state file in the store's directory.
func (s *Store) writeState(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return s.writeStateJSON(name, b)
}

// writeStateJSON writes b, encoded JSON, as a sealed state file.
func (s *Store) writeStateJSON(name string, b []byte) error {
	// Indented for a person to read, unless it holds a large state: the
	// indenting pass costs a third of the encoding.
	if len(b) < 1<<20 {
		var ind bytes.Buffer
		if err := json.Indent(&ind, b, "", "  "); err == nil {
			b = ind.Bytes()
		}
	}
	root, err := s.rootFile(true)
	if err != nil {
		return err
	}
	return atomicfile.WriteFileAt(root, name, sealJSON(b), 0o600)
}

// readState reads a sealed JSON state file into v; false when absent.
func (s *Store) readState(name string, v any) (bool, error) {
	root, err := s.rootFile(false)
	if err != nil || root == nil {
		return false, err
	}
	data, err := readIn(root, name, maxStateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	body, err := openJSON(s.jpath(name), data)
	if err != nil {
		return false, fmt.Errorf("%s is damaged: %w", s.jpath(name), err)
	}
	if d, ok := v.(interface{ decodeState([]byte) error }); ok {
		err = d.decodeState(body)
	} else {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		return false, fmt.Errorf("%s is damaged: %w", s.jpath(name), err)
	}
	return true, nil
}

// renameState renames a file of the store's directory within it. Like
// os.Rename, a missing source gives an error that is fs.ErrNotExist.
func (s *Store) renameState(from, to string) error {
	root, err := s.rootFile(false)
	if err != nil {
		return err
	}
	if root == nil {
		return &os.LinkError{Op: "rename", Old: s.jpath(from), New: s.jpath(to), Err: unix.ENOENT}
	}
	if err := unix.Renameat(int(root.Fd()), from, int(root.Fd()), to); err != nil {
		return &os.LinkError{Op: "rename", Old: s.jpath(from), New: s.jpath(to), Err: err}
	}
	return nil
}

// hasState reports whether a file of the store's directory exists.
func (s *Store) hasState(name string) bool {
	root, _ := s.rootFile(false)
	return existsIn(root, name)
}

// removeState removes a file of the store's directory; a missing one is
// not an error.
func (s *Store) removeState(name string) error {
	root, err := s.rootFile(false)
	if err != nil || root == nil {
		return err
	}
	if err := unix.Unlinkat(int(root.Fd()), name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "remove", Path: s.jpath(name), Err: err}
	}
	return nil
}

func (s *Store) writeJournal(j *Journal) error {
	b, err := j.encode()
	if err == nil {
		err = s.writeStateJSON(journalFile, b)
	}
	if err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	return nil
}

// readJournal reads the journal under one of its names; nil when absent.
func (s *Store) readJournal(name string) (*Journal, error) {
	var j Journal
	ok, err := s.readState(name, &j)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if !ok {
		return nil, nil
	}
	return &j, nil
}

func (s *Store) removeJournal(name string) error {
	if err := s.removeState(name); err != nil {
		return fmt.Errorf("remove journal: %w", err)
	}
	root, err := s.rootFile(false)
	if err != nil || root == nil {
		return err
	}
	if err := root.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", s.dir, err)
	}
	return nil
}

// Outcome of a transaction, recorded for the process that started it.
type TxOutcome struct {
	TxID   string    `json:"txid"`
	Result string    `json:"result"` // kept | reverted | revert-failed | revert-incomplete
	Time   time.Time `json:"time"`
	Detail string    `json:"detail,omitempty"`
}

func (s *Store) writeOutcome(o TxOutcome) error {
	if err := s.writeState(outcomeFile, o); err != nil {
		return fmt.Errorf("record outcome: %w", err)
	}
	return nil
}

func (s *Store) readOutcome() (*TxOutcome, error) {
	var o TxOutcome
	ok, err := s.readState(outcomeFile, &o)
	if err != nil {
		return nil, fmt.Errorf("outcome: %w", err)
	}
	if !ok {
		return nil, nil
	}
	return &o, nil
}

func (s *Store) pendingDirFile(create bool) (*os.File, error) {
	root, err := s.rootFile(create)
	if err != nil || root == nil {
		return nil, err
	}
	d, err := openSubdir(root, pendingDir, create)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, nil
	}
	return d, err
}

// savePending writes the snapshot of a change that is not kept yet.
func (s *Store) savePending(snap *format.Snapshot) error {
	b, err := marshalStored(snap)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	return s.writePending(snap, b)
}

// writePending writes b, the bytes marshalStored made of snap, as the
// pending snapshot.
func (s *Store) writePending(snap *format.Snapshot, b []byte) error {
	sp, err := s.stagePending(snap, b)
	if err != nil {
		return err
	}
	return s.commitStaged(snap, sp)
}

// stagedPending is a pending snapshot's file written under a temporary
// name of the pending directory (see stagePending).
type stagedPending struct {
	dir  *os.File
	file *atomicfile.Staged
}

// stagePending writes b, the bytes marshalStored made of snap, synced,
// to a temporary file of the pending directory.
func (s *Store) stagePending(snap *format.Snapshot, b []byte) (*stagedPending, error) {
	d, err := s.pendingDirFile(true)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", pendingDir, err)
	}
	f, err := atomicfile.StageAt(d, snap.Meta.ID+".yaml", b, 0o600)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("save snapshot: %w", err)
	}
	return &stagedPending{dir: d, file: f}, nil
}

// commitStaged makes the staged file the pending snapshot snap.
func (s *Store) commitStaged(snap *format.Snapshot, sp *stagedPending) error {
	defer sp.dir.Close()
	if err := sp.file.Commit(); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	s.mu.Lock()
	s.pending = snap
	s.mu.Unlock()
	return nil
}

func (sp *stagedPending) discard() error {
	defer sp.dir.Close()
	return sp.file.Discard()
}

// removeStaleTemporaries removes the temporary files an apply killed
// while writing its pending snapshot left. Called with the lock held.
func (s *Store) removeStaleTemporaries() error {
	d, err := s.pendingDirFile(false)
	var te *TrustError
	if errors.As(err, &te) {
		// nictab writes nothing in a pending directory it does not
		// trust: none of its files can be there. Saving there fails,
		// and says so, when an apply tries.
		return nil
	}
	if err != nil || d == nil {
		return err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("list %s: %w", pendingDir, err)
	}
	for _, n := range names {
		if !atomicfile.IsTemporary(n) {
			continue
		}
		if err := unix.Unlinkat(int(d.Fd()), n, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove %s: %w", filepath.Join(d.Name(), n), err)
		}
	}
	return nil
}

// commitPending moves a pending snapshot into the history.
func (s *Store) commitPending(id string) error {
	snaps, err := s.snapDirFile(true)
	if err != nil {
		return fmt.Errorf("record snapshot %s: %w", id, err)
	}
	d, err := s.pendingDirFile(false)
	if err != nil {
		return fmt.Errorf("record snapshot %s: %w", id, err)
	}
	name := id + ".yaml"
	if d == nil {
		if existsIn(snaps, name) {
			return nil // committed already, before a crash
		}
		return fmt.Errorf("record snapshot %s: %s is missing", id, s.pendingPath(id))
	}
	defer d.Close()
	if err := unix.Renameat(int(d.Fd()), name, int(snaps.Fd()), name); err != nil {
		if errors.Is(err, unix.ENOENT) && existsIn(snaps, name) {
			return nil // committed already, before a crash
		}
		return fmt.Errorf("record snapshot %s: %w", id, &os.LinkError{Op: "rename", Old: s.pendingPath(id), New: s.path(id), Err: err})
	}
	if err := snaps.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", s.snapDir(), err)
	}
	s.mu.Lock()
	fresh := s.pending
	if fresh != nil && fresh.Meta.ID == id {
		s.pending = nil
	} else {
		fresh = nil
	}
	s.mu.Unlock()
	// Without the snapshot in memory (`nictab confirm`, the watchdog,
	// recover commit what another process wrote) the file is read once
	// here, rather than by every listing until the next save.
	s.updateIndex(snaps, fresh)
	return nil
}

func (s *Store) dropPending(id string) error {
	if id == "" {
		return nil
	}
	d, err := s.pendingDirFile(false)
	if err != nil || d == nil {
		return err
	}
	defer d.Close()
	if err := unix.Unlinkat(int(d.Fd()), id+".yaml", 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove pending snapshot: %w", err)
	}
	return nil
}
