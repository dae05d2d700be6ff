# -*- coding: utf-8 -*-
# Copyright: nictab authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running the nictab binary on the target, the way its headless contract
(the README's "Headless use") describes: every changing command with
--json prints one JSON document on stdout, also when it fails."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# Exit statuses of nictab (README: Headless use).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REVERTED = 3
EXIT_CHANGES = 4
# plan --detailed-exitcode: changes that move or cut the SSH session.
EXIT_CHANGES_MOVE_SSH = 5

COMMON_ARGS = dict(
    netns=dict(type='str'),
    state_dir=dict(type='path'),
    executable=dict(type='path'),
)


class Nictab(object):
    """One target's nictab: its binary, namespace and state directory."""

    def __init__(self, module):
        self.module = module
        p = module.params
        self.binary = p.get('executable') or module.get_bin_path(
            'nictab', required=True, opt_dirs=['/usr/local/sbin', '/usr/local/bin', '/usr/sbin'])
        self.netns = p.get('netns')
        self.state_dir = p.get('state_dir')
        # Paths that messages should call by another name.
        self.aliases = {}

    def argv(self, *args):
        cmd = [self.binary, '--no-color']
        if self.netns:
            cmd += ['--netns', self.netns]
        if self.state_dir:
            cmd += ['--state-dir', self.state_dir]
        return cmd + list(args)

    def run(self, *args):
        """Runs nictab; returns (rc, document or None, stdout, stderr)."""
        cmd = self.argv(*args)
        rc, out, err = self.module.run_command(cmd, environ_update={'NO_COLOR': '1'})
        doc = None
        if out.strip():
            try:
                doc = json.loads(out)
            except ValueError:
                doc = None
        return rc, doc, out, err, cmd

    def fail(self, what, rc, doc, out, err, cmd, **extra):
        """Fails the task with nictab's own message as msg."""
        msg = ''
        if isinstance(doc, dict) and doc.get('error'):
            msg = doc['error']
        if not msg:
            msg = nictab_message(err) or 'exit status %d' % rc
        if isinstance(doc, dict) and doc.get('conflicts'):
            # What is in the way, as the plan names it.
            msg += ': ' + '; '.join(c.get('text', '') for c in doc['conflicts'])
        for path, name in self.aliases.items():
            msg = msg.replace(path, name)
        self.module.fail_json(msg='nictab %s: %s' % (what, msg), rc=rc, stdout=out, stderr=err,
                              cmd=cmd, nictab=doc, **extra)


def nictab_message(stderr):
    """nictab's error lines on stderr, without its "nictab: " prefix."""
    lines = []
    for line in (stderr or '').splitlines():
        line = line.strip()
        if line.startswith('nictab: '):
            line = line[len('nictab: '):]
        if line:
            lines.append(line)
    return '\n'.join(lines)
