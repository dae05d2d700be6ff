package netcfg

import "strings"

// CommandIn makes an `ip` command act on the named network namespace
// (`ip -n NAME …`), so a command nictab prints for a namespace does the
// same thing when pasted, not the same thing to the host. Other commands
// (the names file's, which already name the namespace's own path) and
// commands for the host's own namespace are returned as they are.
func CommandIn(netns, cmd string) string {
	if netns == "" {
		return cmd
	}
	rest, ok := strings.CutPrefix(cmd, "ip ")
	if !ok {
		return cmd
	}
	return "ip -n " + ShellQuote(netns) + " " + rest
}
