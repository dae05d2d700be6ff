package netcfg

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ProtoName is one line of an rt_protos file.
type ProtoName struct {
	ID   uint8  `json:"id"`
	Name string `json:"name"`
	File string `json:"file,omitempty"`
}

// Names holds the routing table and protocol names iproute2 would use in the
// same place.
type Names struct {
	Tables []TableName `json:"tables"`
	Protos []ProtoName `json:"protocols"`
	// Warnings lists lines iproute2 would skip as corrupt and files it could
	// not read; nictab skips them too and says so.
	Warnings []string `json:"warnings,omitempty"`
	// Dir is the iproute2 configuration directory the names came from.
	Dir string `json:"dir"`
}

// The file nictab keeps its table and protocol names in, inside rt_tables.d
// and rt_protos.d of the configuration directory.
const OwnedNamesFile = "nictab.conf"

var builtinTables = []TableName{{ID: TableUnspec, Name: "unspec"}, {ID: TableDefault, Name: "default"}, {ID: TableMain, Name: "main"}, {ID: TableLocal, Name: "local"}}

// TableName returns the name of table id, or "" when it has none.
func (n *Names) TableName(id uint32) string {
	// Later files override earlier ones, as in iproute2.
	for i := len(n.Tables) - 1; i >= 0; i-- {
		if n.Tables[i].ID == id {
			return n.Tables[i].Name
		}
	}
	for _, t := range builtinTables {
		if t.ID == id {
			return t.Name
		}
	}
	return ""
}

// TableLabel is the table as a person reads it: "13 vpn", or "13".
func (n *Names) TableLabel(id uint32) string {
	s := strconv.FormatUint(uint64(id), 10)
	if name := n.TableName(id); name != "" && name != s {
		return s + " " + name
	}
	return s
}

// TableID returns the id of the table called name.
func (n *Names) TableID(name string) (uint32, bool) {
	for i := len(n.Tables) - 1; i >= 0; i-- {
		if n.Tables[i].Name == name {
			return n.Tables[i].ID, true
		}
	}
	for _, t := range builtinTables {
		if t.Name == name {
			return t.ID, true
		}
	}
	return 0, false
}

// ProtoName returns the name of routing protocol p, or its number.
func (n *Names) ProtoName(p uint8) string {
	if p == ProtoNictab {
		return "nictab"
	}
	for i := len(n.Protos) - 1; i >= 0; i-- {
		if n.Protos[i].ID == p {
			return n.Protos[i].Name
		}
	}
	return strconv.Itoa(int(p))
}

// OwnedTables returns the names nictab wrote, from rt_tables.d/nictab.conf.
func (n *Names) OwnedTables() []TableName {
	var out []TableName
	for _, t := range n.Tables {
		if filepath.Base(t.File) == OwnedNamesFile && filepath.Base(filepath.Dir(t.File)) == "rt_tables.d" {
			out = append(out, t)
		}
	}
	return out
}

// NamePaths says where iproute2's name files are.
type NamePaths struct {
	// Etc is the configuration directory nictab reads and writes
	// (/etc/iproute2, or /etc/netns/NAME/iproute2 for a named namespace).
	Etc string
	// Usr is the distribution's directory, read when Etc has no rt_tables.
	Usr string
	// Fallback is read instead of Etc while Etc does not exist: `ip netns
	// exec` only overlays /etc/netns/NAME/iproute2 when it exists.
	Fallback string
}

// DefaultNamePaths returns the directories `ip` uses, or `ip -n netns` when
// netns is not empty.
func DefaultNamePaths(netns string) NamePaths {
	if netns == "" {
		return NamePaths{Etc: "/etc/iproute2", Usr: "/usr/share/iproute2"}
	}
	return NamePaths{Etc: filepath.Join("/etc/netns", netns, "iproute2"), Usr: "/usr/share/iproute2", Fallback: "/etc/iproute2"}
}

// ReadDir returns the directory names are read from now.
func (p NamePaths) ReadDir() string {
	if p.Fallback != "" {
		if _, err := os.Stat(p.Etc); errors.Is(err, fs.ErrNotExist) {
			return p.Fallback
		}
	}
	return p.Etc
}

// LoadNames reads table and protocol names in iproute2's order: rt_tables
// from the configuration directory (or, when it has none, the
// distribution's), then every *.conf in rt_tables.d, the configuration
// directory's first. It never fails: unreadable files and corrupt lines are
// reported in Warnings and skipped, as iproute2 skips them.
func LoadNames(p NamePaths) Names {
	dir := p.ReadDir()
	n := Names{Dir: dir}
	readMain := func(base string, add func(file string, id uint64, name string)) {
		f := filepath.Join(dir, base)
		if !n.readFile(f, add, true) && p.Usr != "" {
			n.readFile(filepath.Join(p.Usr, base), add, true)
		}
		for _, f := range confFiles(&n, filepath.Join(dir, base+".d"), filepath.Join(p.Usr, base+".d")) {
			n.readFile(f, add, false)
		}
	}
	readMain("rt_tables", func(file string, id uint64, name string) {
		if id > 0xffffffff {
			n.Warnings = append(n.Warnings, fmt.Sprintf("%s: table id %d is out of range, skipped", file, id))
			return
		}
		n.Tables = append(n.Tables, TableName{ID: uint32(id), Name: name, File: file})
	})
	readMain("rt_protos", func(file string, id uint64, name string) {
		if id > 255 {
			n.Warnings = append(n.Warnings, fmt.Sprintf("%s: protocol %d is out of range, skipped", file, id))
			return
		}
		n.Protos = append(n.Protos, ProtoName{ID: uint8(id), Name: name, File: file})
	})
	return n
}

// confFiles lists *.conf files of the configuration directory's .d folder,
// then those of the distribution's that the first does not override.
func confFiles(n *Names, etcDir, usrDir string) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range []string{etcDir, usrDir} {
		ents, err := os.ReadDir(d)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				n.Warnings = append(n.Warnings, fmt.Sprintf("cannot read %s: %v", d, err))
			}
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if !strings.HasSuffix(name, ".conf") || seen[name] || e.IsDir() {
				continue
			}
			seen[name] = true
			out = append(out, filepath.Join(d, name))
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	return out
}

// readFile parses one names file. It reports whether the file existed.
func (n *Names) readFile(file string, add func(file string, id uint64, name string), optional bool) bool {
	f, err := os.Open(file)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) || !optional {
			n.Warnings = append(n.Warnings, fmt.Sprintf("cannot read %s: %v", file, err))
		}
		return !errors.Is(err, fs.ErrNotExist)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		id, name, ok, skip := ParseNameLine(sc.Text())
		if skip {
			continue
		}
		if !ok {
			n.Warnings = append(n.Warnings, fmt.Sprintf("%s:%d: malformed line \"%s\" skipped", file, line, sc.Text()))
			continue
		}
		add(file, id, name)
	}
	if err := sc.Err(); err != nil {
		n.Warnings = append(n.Warnings, fmt.Sprintf("cannot read %s: %v", file, err))
	}
	return true
}

// ParseNameLine parses one line of an rt_tables-style file: "ID NAME", the
// id decimal or 0x-hex. Blank lines and # comments are skipped.
func ParseNameLine(s string) (id uint64, name string, ok, skip bool) {
	s = strings.TrimLeft(s, " \t")
	if s == "" || s[0] == '#' || s[0] == '\n' {
		return 0, "", false, true
	}
	fields := strings.Fields(s)
	if len(fields) < 2 {
		return 0, "", false, false
	}
	v, err := strconv.ParseUint(fields[0], 0, 64)
	if err != nil {
		return 0, "", false, false
	}
	name = fields[1]
	if strings.HasPrefix(name, "#") || !ValidTableName(name) {
		return 0, "", false, false
	}
	return v, name, true, false
}

// ValidTableName reports whether name can be used for a table in rt_tables
// and on the `ip` command line: not a number (ip would read it as an id),
// no spaces, no comment sign, at most 64 bytes.
func ValidTableName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	if _, err := strconv.ParseUint(name, 0, 32); err == nil {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c == '#' || c == 0x7f || c >= 0x80 {
			return false
		}
	}
	return true
}
