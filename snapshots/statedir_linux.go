//go:build linux

package snapshots

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// TrustError means the state directory, or a directory or link on the way
// to it, could be changed by someone other than root (or, for a person's
// own store, that person). Whoever can write there can swap in a link and
// make nictab write where they like, or hand it the journal and snapshots
// it restores: routing of their choosing. It is bad input: exit 2.
type TrustError struct {
	Path   string
	Reason string
	Fix    string
}

func (e *TrustError) Error() string {
	msg := fmt.Sprintf("state directory: %s %s: refusing to trust it", e.Path, e.Reason)
	if e.Fix != "" {
		msg += " (" + e.Fix + ")"
	}
	return msg
}

// maxLinkHops bounds the links followed on the way to the state directory,
// as the kernel's own limit does for a path.
const maxLinkHops = 40

// openTrustedDir opens the directory path, checking every step from / the
// way sshd's StrictModes does: each directory and link on the way is owned
// by root or by this user, and no directory may be written by group or
// others, except a sticky one like /tmp, where others cannot rename or
// remove what they do not own (the next step, whose owner is checked, is
// then fixed). The directory itself must not be writable by group or
// others, sticky or not. Links are followed only when they live in a
// directory that passed and belong to root or this user.
//
// Each step is opened relative to the one before with O_NOFOLLOW, so the
// path cannot be swapped between the check and the use. With create,
// missing directories are made (mode 0700); without it a missing one gives
// an error that is fs.ErrNotExist.
func openTrustedDir(path string, create bool) (*os.File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("state directory %s: %w", path, err)
	}
	if strings.ContainsAny(path, "\x00\n\r") {
		return nil, &TrustError{Path: fmt.Sprintf("%q", path), Reason: "holds a control character"}
	}
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("state directory: open /: %w", err)
	}
	// stack holds the descriptors of the directories walked so far, so a
	// ".." in a link's target goes back up what was checked.
	type step struct {
		fd   int
		path string
	}
	stack := []step{{root, "/"}}
	defer func() {
		for _, s := range stack {
			unix.Close(s.fd)
		}
	}()
	if err := checkTrust(root, "/", false); err != nil {
		return nil, err
	}
	rest := splitPath(abs)
	hops := 0
	for len(rest) > 0 {
		comp := rest[0]
		rest = rest[1:]
		cur := stack[len(stack)-1]
		switch comp {
		case ".":
			continue
		case "..":
			if len(stack) > 1 {
				unix.Close(cur.fd)
				stack = stack[:len(stack)-1]
			}
			continue
		}
		here := filepath.Join(cur.path, comp)
		fd, err := unix.Openat(cur.fd, comp, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && create {
			if merr := unix.Mkdirat(cur.fd, comp, 0o700); merr != nil && !errors.Is(merr, unix.EEXIST) {
				return nil, fmt.Errorf("create state directory %s: %w", here, merr)
			}
			fd, err = unix.Openat(cur.fd, comp, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		if err != nil {
			return nil, &fs.PathError{Op: "state directory", Path: here, Err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, &fs.PathError{Op: "state directory", Path: here, Err: err}
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			if err := ownerOK(&st, here, "link"); err != nil {
				unix.Close(fd)
				return nil, err
			}
			target, err := readlinkFd(fd)
			unix.Close(fd)
			if err != nil {
				return nil, &fs.PathError{Op: "state directory: read link", Path: here, Err: err}
			}
			if hops++; hops > maxLinkHops {
				return nil, &TrustError{Path: path, Reason: "goes through too many links"}
			}
			if strings.HasPrefix(target, "/") {
				for _, s := range stack[1:] {
					unix.Close(s.fd)
				}
				stack = stack[:1]
			}
			rest = append(splitPath(target), rest...)
			continue
		case unix.S_IFDIR:
		default:
			unix.Close(fd)
			return nil, &TrustError{Path: here, Reason: "is not a directory"}
		}
		if err := checkStat(&st, here, len(rest) == 0); err != nil {
			unix.Close(fd)
			return nil, err
		}
		stack = append(stack, step{fd, here})
	}
	last := stack[len(stack)-1]
	if err := checkTrust(last.fd, last.path, true); err != nil {
		return nil, err
	}
	// O_PATH descriptors cannot be synced or listed: open the directory
	// itself, relative to the checked one.
	fd, err := unix.Openat(last.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open state directory", Path: last.path, Err: err}
	}
	return os.NewFile(uintptr(fd), abs), nil
}

func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

func readlinkFd(fd int) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func checkTrust(fd int, path string, final bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "state directory", Path: path, Err: err}
	}
	return checkStat(&st, path, final)
}

func ownerOK(st *unix.Stat_t, path, what string) error {
	uid := uint32(os.Geteuid())
	if st.Uid == 0 || st.Uid == uid {
		return nil
	}
	owner := "root"
	if uid != 0 {
		owner = "root or you"
	}
	return &TrustError{Path: path, Reason: fmt.Sprintf("(a %s) belongs to uid %d, not %s", what, st.Uid, owner), Fix: "chown root " + path}
}

// checkStat applies the rules of openTrustedDir to one directory. final is
// the state directory itself (or one of its own subdirectories).
func checkStat(st *unix.Stat_t, path string, final bool) error {
	if err := ownerOK(st, path, "directory"); err != nil {
		return err
	}
	perm := st.Mode & 0o7777
	if perm&0o022 == 0 {
		return nil
	}
	if !final && perm&unix.S_ISVTX != 0 {
		return nil
	}
	return &TrustError{Path: path, Reason: fmt.Sprintf("is writable by group or others (mode %04o)", perm), Fix: "chmod go-w " + path}
}

// openSubdir opens (with create, making it) the directory name inside the
// trusted dir, not following a link, and checks it as the state
// directory is checked.
func openSubdir(dir *os.File, name string, create bool) (*os.File, error) {
	dfd := int(dir.Fd())
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) && create {
		if merr := unix.Mkdirat(dfd, name, 0o700); merr != nil && !errors.Is(merr, unix.EEXIST) {
			return nil, fmt.Errorf("create %s: %w", filepath.Join(dir.Name(), name), merr)
		}
		fd, err = unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	p := filepath.Join(dir.Name(), name)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return nil, &TrustError{Path: p, Reason: "is a link or not a directory"}
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	if err := checkTrust(fd, p, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), p), nil
}

// openIn opens name inside dir without following a link and checks that
// it is a regular file of this user with one name, so a link planted
// there (hard or symbolic) never makes nictab read or write another file.
func openIn(dir *os.File, name string, flags int, perm uint32) (*os.File, error) {
	p := filepath.Join(dir.Name(), name)
	fd, err := unix.Openat(int(dir.Fd()), name, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, &TrustError{Path: p, Reason: "is a symbolic link"}
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		unix.Close(fd)
		return nil, &TrustError{Path: p, Reason: "is not a regular file"}
	case st.Nlink > 1:
		unix.Close(fd)
		return nil, &TrustError{Path: p, Reason: fmt.Sprintf("has %d hard links", st.Nlink)}
	case st.Uid != uint32(os.Geteuid()) && st.Uid != 0:
		unix.Close(fd)
		return nil, &TrustError{Path: p, Reason: fmt.Sprintf("belongs to uid %d", st.Uid)}
	}
	// Reads and writes of a regular file never block; drop O_NONBLOCK,
	// which was only there so that opening a FIFO could not hang.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}
