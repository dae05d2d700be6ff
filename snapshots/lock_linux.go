//go:build linux

package snapshots

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Lock is the apply lock of one state directory: an flock on DIR/lock.
//
// NOTE: flock belongs to the open file, not to the process, so the detached
// watchdog of a confirm window inherits the lock with the descriptor and
// holds it until the change is kept or reverted; no second apply can slip
// in between. The file's content only tells a waiting nictab who holds it.
type Lock struct {
	f   *os.File
	dir *os.File // the state directory, for OpenLog
}

// LockHolder is what the lock file says about its holder.
type LockHolder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
	// Until is set while a change waits for confirmation.
	Until time.Time `json:"until,omitzero"`
}

// LockedError means another nictab holds the lock.
type LockedError struct {
	Holder LockHolder
}

func (e *LockedError) Error() string {
	h := e.Holder
	if !h.Until.IsZero() {
		return fmt.Sprintf("a change is waiting for confirmation until %s (pid %d): `nictab confirm` keeps it, otherwise it reverts by itself; nothing else can be applied until then", h.Until.Local().Format("15:04:05"), h.PID)
	}
	if h.PID == 0 {
		return "another nictab is applying a change right now; try again when it is done"
	}
	return fmt.Sprintf("another nictab (pid %d, `%s`, since %s) is applying a change; try again when it is done", h.PID, h.Command, h.Since.Local().Format("15:04:05"))
}

// AcquireLock takes the lock of the state directory dir without waiting.
// It fails with *LockedError when another process holds it.
func AcquireLock(dir, command string, now time.Time) (*Lock, error) {
	st, err := OpenStore(dir, nil)
	if err != nil {
		return nil, err
	}
	return st.acquireLock(command, now)
}

// acquireLock takes the store's lock, creating the store's directory if
// need be. The lock file is opened relative to the directory, never
// through a link, and must be a regular file of this user: a link planted
// there cannot make nictab write the holder's description into another
// file.
func (s *Store) acquireLock(command string, now time.Time) (*Lock, error) {
	root, err := s.rootFile(true)
	if err != nil {
		return nil, err
	}
	f, err := openIn(root, "lock", unix.O_RDWR|unix.O_CREAT, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			var h LockHolder
			b, _ := io.ReadAll(io.LimitReader(f, 4096))
			_ = json.Unmarshal(b, &h)
			return nil, &LockedError{Holder: h}
		}
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	l := &Lock{f: f, dir: root}
	if err := l.Describe(LockHolder{PID: os.Getpid(), Command: command, Since: now}); err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}

// OpenLog opens (appending, creating it) a log file beside the lock, in
// the same trusted directory and never through a link.
func (l *Lock) OpenLog(name string) (*os.File, error) {
	if l.dir == nil {
		return nil, errors.New("open log: the lock was inherited, not taken")
	}
	return openIn(l.dir, name, unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND, 0o600)
}

// LockFromFile adopts a lock inherited as an open file (the watchdog's).
func LockFromFile(f *os.File) *Lock { return &Lock{f: f} }

// File is the locked file, to hand to a child process.
func (l *Lock) File() *os.File { return l.f }

// Describe records who holds the lock.
func (l *Lock) Describe(h LockHolder) error {
	b, _ := json.Marshal(h)
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("write lock: %w", err)
	}
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("write lock: %w", err)
	}
	return nil
}

// Release gives the lock up (for this process; a child that inherited the
// descriptor keeps holding it).
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Close()
	l.f = nil
}

// commandLine is this process's command line, for LockHolder.
func commandLine() string {
	return strings.Join(append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...), " ")
}
