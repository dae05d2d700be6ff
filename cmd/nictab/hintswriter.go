package main

import (
	"bufio"
	"bytes"
	"io"

	"github.com/nictab/nictab/ui"
)

// hintsWriter applies the app's hints to each whole line written through
// it, into a buffer over w: a plan's printout streams, and hints on the
// whole text and on each line are the same, since neither rewrite (a
// "`nictab " and an "ip route|rule " after a space, a colon, a bracket or
// the start) spans a line break.
type hintsWriter struct {
	a    *app
	w    *bufio.Writer
	line []byte
	out  []byte // the line rewritten, reused
	word string // the namespace as a shell word
}

func (h *hintsWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			h.line = append(h.line, p...)
			break
		}
		h.line = append(h.line, p[:i+1]...)
		p = p[i+1:]
		if err := h.flushLine(); err != nil {
			return n - len(p), err
		}
	}
	return n, nil
}

func (h *hintsWriter) flushLine() error {
	if h.word == "" && h.a.netns != "" {
		h.word = shellWord(h.a.netns)
	}
	h.out = h.appendLine(h.out[:0], h.line)
	h.line = h.line[:0]
	_, err := h.w.Write(h.out)
	return err
}

// appendLine appends line with the hints applied to dst; h.word is set
// when there is a namespace. It changes nothing of h, for LineRewrite's
// goroutines.
func (h *hintsWriter) appendLine(dst, line []byte) []byte {
	switch {
	case bytes.Contains(line, []byte("`nictab ")):
		return append(dst, h.a.hints(string(line))...)
	case h.word != "" && bytes.Contains(line, []byte("ip ")):
		// What hints does to a line with no nictab command in it, without
		// a string each way: a plan's printout is 200k such lines.
		return appendIPNetns(dst, line, h.word)
	}
	return append(dst, line...)
}

// LineRewrite lets ui.WritePlanText apply the hints to the chunks of a big
// plan on the goroutines that make them: hints act on each line alone.
// A line holds one of the needles for the hints to change it: a "`nictab "
// or, in a namespace, an ip command they put the namespace in
// (TestHintsNeedles).
func (h *hintsWriter) LineRewrite() ui.LineRewrite {
	if len(h.line) > 0 {
		return ui.LineRewrite{}
	}
	if h.word == "" && h.a.netns != "" {
		h.word = shellWord(h.a.netns)
	}
	needles := []string{"`nictab "}
	if h.word != "" {
		needles = append(needles, "ip route ", "ip rule ", "ip -6 route ", "ip -6 rule ")
	}
	return ui.LineRewrite{Rewrite: h.appendLines, Raw: h.w, Needles: needles}
}

// appendLines is appendLine of each line of lines, the last one whole or
// not.
func (h *hintsWriter) appendLines(dst, lines []byte) []byte {
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n') + 1
		if i == 0 {
			i = len(lines)
		}
		dst = h.appendLine(dst, lines[:i])
		lines = lines[i:]
	}
	return dst
}

// Flush writes the last line, whole or not, and the buffer.
func (h *hintsWriter) Flush() error {
	if len(h.line) > 0 {
		if err := h.flushLine(); err != nil {
			return err
		}
	}
	return h.w.Flush()
}

// writePlanText prints a plan as `nictab plan` does, streamed, with the
// app's hints.
func (a *app) writePlanText(w io.Writer, write func(io.Writer) error) error {
	if a.netnsArgs() == "" {
		return write(w)
	}
	h := &hintsWriter{a: a, w: bufio.NewWriterSize(w, 64<<10)}
	if err := write(h); err != nil {
		return err
	}
	return h.Flush()
}
