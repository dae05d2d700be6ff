package snapshots

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nictab/nictab/internal/atomicfile"
	"github.com/nictab/nictab/netcfg"
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
}

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

func (s *Store) writeJournal(j *Journal) error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encode journal: %w", err)
	}
	if err := atomicfile.WriteFile(s.jpath(journalFile), b, 0o600); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	return nil
}

// readJournal reads the journal under one of its names; nil when absent.
func (s *Store) readJournal(name string) (*Journal, error) {
	b, err := os.ReadFile(s.jpath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("journal %s is damaged: %w", s.jpath(name), err)
	}
	return &j, nil
}

func (s *Store) removeJournal(name string) error {
	if err := os.Remove(s.jpath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove journal: %w", err)
	}
	return atomicfile.SyncDir(s.dir)
}

// Outcome of a transaction, recorded for the process that started it.
type TxOutcome struct {
	TxID   string    `json:"txid"`
	Result string    `json:"result"` // kept | reverted | revert-failed | revert-incomplete
	Time   time.Time `json:"time"`
	Detail string    `json:"detail,omitempty"`
}

func (s *Store) writeOutcome(o TxOutcome) error {
	b, _ := json.Marshal(o)
	if err := atomicfile.WriteFile(s.jpath(outcomeFile), b, 0o600); err != nil {
		return fmt.Errorf("record outcome: %w", err)
	}
	return nil
}

func (s *Store) readOutcome() (*TxOutcome, error) {
	b, err := os.ReadFile(s.jpath(outcomeFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read outcome: %w", err)
	}
	var o TxOutcome
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("outcome file is damaged: %w", err)
	}
	return &o, nil
}

// savePending writes the snapshot of a change that is not kept yet.
func (s *Store) savePending(snap *Snapshot) error {
	if err := os.MkdirAll(filepath.Join(s.dir, pendingDir), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", pendingDir, err)
	}
	b, err := Marshal(snap)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	if err := atomicfile.WriteFile(s.pendingPath(snap.Meta.ID), b, 0o600); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}

// commitPending moves a pending snapshot into the history.
func (s *Store) commitPending(id string) error {
	if err := os.Rename(s.pendingPath(id), s.path(id)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Stat(s.path(id)); serr == nil {
				return nil // committed already, before a crash
			}
		}
		return fmt.Errorf("record snapshot %s: %w", id, err)
	}
	return atomicfile.SyncDir(s.snapDir())
}

func (s *Store) dropPending(id string) error {
	if id == "" {
		return nil
	}
	if err := os.Remove(s.pendingPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove pending snapshot: %w", err)
	}
	return nil
}
