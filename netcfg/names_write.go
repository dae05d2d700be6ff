package netcfg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/nictab/nictab/internal/atomicfile"
)

// ErrNamesReadOnly means the iproute2 configuration directory cannot be
// written, as on NixOS where /etc/iproute2 lives in the Nix store.
var ErrNamesReadOnly = errors.New("the iproute2 configuration is read-only here")

// NamesFile is nictab's own names files: rt_tables.d/nictab.conf for its
// tables and rt_protos.d/nictab.conf for its protocol number.
type NamesFile struct {
	Paths NamePaths
}

// TablesPath is the file nictab's table names go to.
func (n NamesFile) TablesPath() string {
	return filepath.Join(n.Paths.Etc, "rt_tables.d", OwnedNamesFile)
}

func (n NamesFile) protosPath() string {
	return filepath.Join(n.Paths.Etc, "rt_protos.d", OwnedNamesFile)
}

// Saved is the content of the tables file before a write, for undo.
type Saved struct {
	Data    []byte
	Existed bool
}

// Save reads the tables file as it is now.
func (n NamesFile) Save() (Saved, error) {
	b, err := os.ReadFile(n.TablesPath())
	if errors.Is(err, fs.ErrNotExist) {
		return Saved{}, nil
	}
	if err != nil {
		return Saved{}, fmt.Errorf("read %s: %w", n.TablesPath(), err)
	}
	return Saved{Data: b, Existed: true}, nil
}

// Write replaces the tables file with names and makes sure the protocol
// file names nictab's protocol. An empty list removes the tables file.
func (n NamesFile) Write(names []TableName) error {
	if err := n.ensureDir(); err != nil {
		return err
	}
	if len(names) == 0 {
		return readOnly(removeFile(n.TablesPath()))
	}
	var b strings.Builder
	b.WriteString("# Routing table names managed by nictab. It rewrites this file on apply\n# and rollback; edit the snapshot instead.\n")
	for _, t := range names {
		fmt.Fprintf(&b, "%d\t%s\n", t.ID, t.Name)
	}
	if err := n.writeProtos(); err != nil {
		return err
	}
	return readOnly(n.write(n.TablesPath(), []byte(b.String())))
}

// Restore puts back what Save read.
func (n NamesFile) Restore(s Saved) error {
	if !s.Existed {
		return readOnly(removeFile(n.TablesPath()))
	}
	return readOnly(n.write(n.TablesPath(), s.Data))
}

// EnsureProto names nictab's protocol in rt_protos.d/nictab.conf, so `ip`
// prints "proto nictab" for what nictab installs. A read-only /etc is
// reported as ErrNamesReadOnly.
func (n NamesFile) EnsureProto() error {
	if err := n.ensureDir(); err != nil {
		return err
	}
	return n.writeProtos()
}

func (n NamesFile) writeProtos() error {
	want := fmt.Sprintf("# The routing protocol number of rules and routes nictab installs.\n%d\tnictab\n", ProtoNictab)
	if b, err := os.ReadFile(n.protosPath()); err == nil && string(b) == want {
		return nil
	}
	return readOnly(n.write(n.protosPath(), []byte(want)))
}

func (n NamesFile) write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

// ensureDir creates the configuration directory of a named namespace.
// `ip netns exec` overlays the whole of /etc/netns/NAME/iproute2 onto
// /etc/iproute2, so the new directory starts with copies of the host's
// rt_tables and rt_protos; otherwise `ip -n NAME` would forget the names
// main, local and kernel.
func (n NamesFile) ensureDir() error {
	if _, err := os.Stat(n.Paths.Etc); err == nil {
		return nil
	}
	if n.Paths.Fallback == "" {
		return readOnly(os.MkdirAll(n.Paths.Etc, 0o755))
	}
	if err := os.MkdirAll(n.Paths.Etc, 0o755); err != nil {
		return readOnly(fmt.Errorf("create %s: %w", n.Paths.Etc, err))
	}
	for _, f := range []string{"rt_tables", "rt_protos"} {
		b, err := os.ReadFile(filepath.Join(n.Paths.Fallback, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Join(n.Paths.Fallback, f), err)
		}
		if err := atomicfile.WriteFile(filepath.Join(n.Paths.Etc, f), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func removeFile(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

// readOnly turns the errors of a read-only /etc into ErrNamesReadOnly, kept
// wrapped with the original so the message still says which file.
func readOnly(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("%w: %w", ErrNamesReadOnly, err)
	}
	return err
}
