package snapshots

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxFileSize caps a snapshot file, read by `plan -f`, `apply -f`,
// `export -f`, `trace --planned` and from the store. A saved snapshot of
// many thousands of routes is a few MiB; the cap keeps a mistaken or
// hostile file (a device, a log) from costing gigabytes before the YAML
// parser refuses it. Larger files are refused before they are read.
const MaxFileSize = 16 << 20

// MaxDepth caps how deeply a snapshot file nests (mappings, lists, flow
// brackets). Snapshot files nest five levels deep; the YAML parser's cost
// grows steeply with depth ([[[…]]]: 40 KB cost 655 MB).
const MaxDepth = 32

// MaxNodes caps the YAML values in a file (keys, scalars, list entries).
// A route costs about 15; the cap leaves room for about 30,000 routes and
// keeps the parser's cost under a second and 100 MB (see bench/README.md).
const MaxNodes = 500_000

const sizeLimitNote = "a snapshot file may be up to 16 MiB"

// ReadInput reads a snapshot file a person names. It reads regular files
// only, so a FIFO cannot block nictab and a device cannot feed it for
// ever; it refuses a file over MaxFileSize before reading it; and it drops
// a UTF-8 byte order mark, which some editors write. Every error is a
// *FileError naming the file.
func ReadInput(path string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO with no writer must not hang before the
	// file type can be looked at.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &FileError{File: path, Msg: "cannot read it: " + describeOpenErr(err), err: err}
	}
	defer f.Close()
	return readCapped(f, path, MaxFileSize)
}

func describeOpenErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// readCapped reads an open file that must be regular and at most limit
// bytes, both checked on the open file before reading and again while
// reading (a file may grow).
func readCapped(f *os.File, name string, limit int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, &FileError{File: name, Msg: "cannot read it: " + describeOpenErr(err), err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &FileError{File: name, Msg: fmt.Sprintf("is %s, not a regular file: nictab reads snapshot files from regular files only", fileKind(fi.Mode()))}
	}
	if fi.Size() > limit {
		return nil, &FileError{File: name, Msg: fmt.Sprintf("is %d bytes, more than nictab reads (%s)", fi.Size(), sizeLimitNote)}
	}
	if err := syscall.SetNonblock(int(f.Fd()), false); err != nil {
		return nil, &FileError{File: name, Msg: "cannot read it: " + err.Error(), err: err}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &FileError{File: name, Msg: "cannot read it: " + describeOpenErr(err), err: err}
	}
	if int64(len(data)) > limit {
		return nil, &FileError{File: name, Msg: fmt.Sprintf("grew past %d bytes while being read (%s)", limit, sizeLimitNote)}
	}
	return bytes.TrimPrefix(data, []byte("\ufeff")), nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

// checkShape refuses, before the YAML parser sees it, a file that nests
// deeper than MaxDepth or holds more than MaxNodes values. It counts
// generously (brackets in quoted text count too), so what it lets through
// costs the parser at most what the caps were measured at.
func checkShape(name string, data []byte) error {
	var indents []int // indentation of the open block levels
	flow, nodes := 0, 0
	lineStart := 0
	atLineStart := true
	indent := 0
	tooDeep := func(off int) error {
		l, c := posAt(data, off)
		return &FileError{File: name, Line: l, Column: c, Msg: fmt.Sprintf("nests deeper than %d levels: a snapshot file needs five", MaxDepth)}
	}
	for i := 0; i < len(data); i++ {
		ch := data[i]
		if (ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') || ch == 0x7f {
			// YAML allows none of these raw (they can be written escaped
			// in double quotes); printed back, they would drive a terminal.
			l, c := posAt(data, i)
			return &FileError{File: name, Line: l, Column: c, Msg: fmt.Sprintf("the file holds the control character 0x%02x; YAML allows it only escaped in double quotes (\"\\x%02x\")", ch, ch)}
		}
		if atLineStart {
			switch ch {
			case ' ', '\t':
				indent++
				continue
			case '\n', '\r':
				indent = 0
				if ch == '\n' {
					lineStart = i + 1
				}
				continue
			case '#':
				// a comment line: skip it whole
				for i < len(data) && data[i] != '\n' {
					i++
				}
				lineStart = i + 1
				indent = 0
				continue
			}
			atLineStart = false
			if flow == 0 {
				for len(indents) > 0 && indents[len(indents)-1] >= indent {
					indents = indents[:len(indents)-1]
				}
				indents = append(indents, indent)
			}
		}
		switch ch {
		case '\n':
			atLineStart, indent = true, 0
			lineStart = i + 1
		case '[', '{':
			flow++
			nodes++
		case ']', '}':
			flow = max(flow-1, 0)
		case ',':
			nodes++
		case ':', '-':
			// "- " starts a list entry and "- - -" nests, as does "a: b:"
			// inside one line: each counts as a level.
			if i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n' || data[i+1] == '\t' {
				nodes++
				if flow == 0 {
					indents = append(indents, i-lineStart+1)
				}
			}
		}
		if len(indents)+flow > MaxDepth {
			return tooDeep(i)
		}
		if nodes > MaxNodes {
			l, c := posAt(data, i)
			return &FileError{File: name, Line: l, Column: c, Msg: fmt.Sprintf("holds more than %d values, more than nictab reads (about 30,000 routes)", MaxNodes)}
		}
	}
	return nil
}
