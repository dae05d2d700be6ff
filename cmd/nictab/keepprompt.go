package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	nictabapp "github.com/nictab/nictab/internal/app"
	"github.com/nictab/nictab/internal/keepcode"
)

// Over SSH, y at the keep question proves nothing: after a change that
// drops the server's replies, the client's keystrokes still arrive, so a
// y typed blind kept a change that cut the session for good. The keep
// prompt there asks for a code drawn after the change is live and shown
// only then; what was typed before it is thrown away, and any character
// that is not the code's next one reverts at once.

// keepAnswer is how the person at the keep prompt answered.
type keepAnswer struct {
	keep bool
	// why says, for a revert, what was typed.
	why string
}

// readKeepCode reads keystrokes one at a time (the terminal is not
// canonical) until the code is complete or something else comes. The
// characters of the code are echoed as they are typed; nothing else is.
func readKeepCode(r io.Reader, code string, echo io.Writer) keepAnswer {
	typed := ""
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 0 {
			if err == nil {
				continue
			}
			if errors.Is(err, io.EOF) {
				return keepAnswer{why: "end of input at the keep prompt, not the code"}
			}
			return keepAnswer{why: fmt.Sprintf("the keep prompt could not read the terminal (%v)", err)}
		}
		c := buf[0]
		switch keepcode.Next(code, typed, rune(c)) {
		case keepcode.Complete:
			fmt.Fprintf(echo, "%c\n", c)
			return keepAnswer{keep: true}
		case keepcode.Partial:
			typed += string(code[len(typed)])
			fmt.Fprintf(echo, "%c", c)
			continue
		}
		fmt.Fprintln(echo)
		switch {
		case c == 0x04:
			return keepAnswer{why: "end of input (Ctrl-D) at the keep prompt, not the code"}
		case c == 0x03:
			return keepAnswer{why: "interrupted at the keep prompt (Ctrl-C)"}
		case c == '\r' || c == '\n':
			return keepAnswer{why: fmt.Sprintf("Enter after %d of the code's %d characters", len(typed), len(code))}
		case c >= 0x20 && c < 0x7f:
			return keepAnswer{why: fmt.Sprintf("%q typed at the keep prompt, not the code's next character", string(c))}
		}
		return keepAnswer{why: fmt.Sprintf("key 0x%02x typed at the keep prompt, not the code", c)}
	}
}

// codeTerminal makes the terminal give nictab each keystroke as it comes,
// without echo (ISIG stays: Ctrl-C still interrupts), then throws away
// every byte typed so far: those were typed before the code was shown,
// when nobody could know it. restore puts the terminal back as it was.
func codeTerminal(f *os.File) (restore func(), err error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("read the terminal's mode: %w", err)
	}
	t := *old
	t.Lflag &^= unix.ICANON | unix.ECHO
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, fmt.Errorf("set the terminal to read single keys: %w", err)
	}
	restore = func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }
	if err := nictabapp.FlushInput(f); err != nil {
		restore()
		return nil, err
	}
	return restore, nil
}

// keepCodePrompt readies the terminal for the keep code, throws away what
// was typed before, draws the code and shows it with the question. The
// change is live and read back by now: this is the first moment the code
// exists, so nothing typed earlier can hold it.
func (a *app) keepCodePrompt(deadline time.Time, left time.Duration) (restore func(), code string, err error) {
	f, _ := a.stdin.(*os.File)
	if f == nil {
		return nil, "", errors.New("the input is not a terminal")
	}
	restore, err = codeTerminal(f)
	if err != nil {
		return nil, "", err
	}
	code, err = keepcode.New()
	if err != nil {
		restore()
		return nil, "", err
	}
	fmt.Fprintf(a.out, "Keep these changes? Reverting in %s (at %s).\n", left, deadline.Local().Format("15:04:05"))
	fmt.Fprintln(a.out, "Over SSH only the code keeps them here: it proves this terminal gets the replies.")
	fmt.Fprintf(a.out, "Any other key reverts now; `%s` from another login keeps them too.\n", a.nictabCmd("confirm"))
	fmt.Fprintf(a.out, "Type %s to keep: ", code)
	return restore, code, nil
}
