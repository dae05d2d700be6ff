package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Progress of a long apply on stderr. On a terminal it is one live line,
// redrawn in place (carriage return, erase to end of line) at most every
// progressTick, with the rate and the time left; anywhere else (a log, a
// pipe, a CI job) carriage returns would glue every frame into one line,
// so it is a whole line every progressLog, and nothing for an apply
// shorter than that.
const (
	progressMin  = 10000 // an apply of up to this many steps shows no progress
	progressTick = 100 * time.Millisecond
	progressLog  = 5 * time.Second
)

type progress struct {
	w     io.Writer
	tty   bool
	now   func() time.Time
	start time.Time
	last  time.Time // of the last line or frame written
	drawn bool      // a live frame is on the terminal's current line
}

func newProgress(w io.Writer, tty bool, now func() time.Time) *progress {
	if now == nil {
		now = time.Now
	}
	t := now()
	return &progress{w: w, tty: tty, now: now, start: t, last: t}
}

// update is told that done of total steps are applied.
func (p *progress) update(done, total int) {
	if total <= progressMin {
		return
	}
	t := p.now()
	final := done >= total
	if p.tty {
		if !final && t.Sub(p.last) < progressTick {
			return
		}
		p.last, p.drawn = t, true
		fmt.Fprintf(p.w, "\r\x1b[K%s", p.line(done, total, t))
		return
	}
	if final || t.Sub(p.last) < progressLog {
		return
	}
	p.last = t
	fmt.Fprintln(p.w, p.line(done, total, t))
}

// finish ends the live line, so what follows starts on a line of its own.
func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func (p *progress) line(done, total int, t time.Time) string {
	s := fmt.Sprintf("applied %d of %d steps", done, total)
	el := t.Sub(p.start).Seconds()
	if el <= 0 || done == 0 {
		return s
	}
	rate := float64(done) / el
	s += fmt.Sprintf(", %.0f steps/s", rate)
	if done < total {
		s += ", " + fmtLeft(time.Duration(float64(total-done)/rate*float64(time.Second))) + " left"
	}
	return s
}

func fmtLeft(d time.Duration) string {
	switch {
	case d < time.Second:
		return "under 1 s"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%d min %02d s", int(d/time.Minute), int(d%time.Minute/time.Second))
}

// writerIsTerminal reports whether w is a terminal (see isTerminal).
func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}
