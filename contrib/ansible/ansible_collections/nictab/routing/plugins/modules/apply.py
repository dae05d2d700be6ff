#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nictab authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: apply
short_description: Apply a nictab snapshot (policy-based routing) with a confirm window
description:
  - Runs the C(nictab) binary on the target to bring its policy routing (each NIC's
    traffic through its own routing table) to what a nictab snapshot file says.
  - C(nictab plan --detailed-exitcode) decides I(changed) (status 4, or 5 for a
    change that moves the SSH session). In check mode nothing
    else runs; with C(--diff) the plan is shown as what nictab owns in the
    plan's tables before and after.
  - Otherwise the change is applied through netlink and verified, with a confirm
    window of I(confirm_timeout) seconds. A detached watchdog on the target
    reverts it at the deadline unless M(nictab.routing.confirm) keeps it, so a
    play confirms in a later task, once its own reachability check passed, and
    a host the change cut off is left as it was.
  - The verdict of nictab's SSH guard (the path of the replies to the SSH
    client, before and after the change) and the snapshot id are returned, and
    set as the fact C(nictab).
version_added: "0.1.0"
author: nictab authors
options:
  src:
    description:
      - Path, on the target, of the snapshot file (YAML, version 1) to apply.
      - Exactly one of I(src) and I(content) is required.
    type: path
  content:
    description:
      - The snapshot itself, as YAML text or as a mapping (for example from a
        variable), instead of a file.
    type: raw
  confirm_timeout:
    description:
      - Seconds the change waits for M(nictab.routing.confirm) before it is
        reverted. C(0) keeps the change at once, with no window; nictab refuses
        that for a change that moves or cuts the SSH session unless I(force).
    type: int
    default: 60
  message:
    description: Comment for the snapshot the change is saved as.
    type: str
  ssh_client:
    description:
      - Address of the SSH client whose session the guard checks. By default
        nictab takes it from C($SSH_CONNECTION) of the module's process; set it
        when privilege escalation drops that variable.
    type: str
  force:
    description: Allow I(confirm_timeout=0) for a change that moves or cuts the SSH session.
    type: bool
    default: false
  netns:
    description:
      - Work inside this named network namespace (C(ip netns list)), as
        C(nictab --netns). Table names then go to C(/etc/netns/NAME/iproute2).
    type: str
  state_dir:
    description: nictab's state directory (snapshots, journal, lock), as C(nictab --state-dir).
    type: path
  executable:
    description: Path of the nictab binary; by default C(nictab) on the PATH.
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Needs root (CAP_NET_ADMIN) on the target; use C(become).
  - The exit statuses and JSON documents used here are nictab's headless
    contract, described in the README's "Headless use" section.
seealso:
  - module: nictab.routing.confirm
'''

EXAMPLES = r'''
- name: VPN NIC to table 13, LAN NIC to table 14; revert in 60 s unless confirmed
  nictab.routing.apply:
    src: /etc/nictab/routing.yaml
    confirm_timeout: 60
  register: routing

- name: The hosts still reach the world (this play's own reachability check)
  ansible.builtin.wait_for_connection:
    timeout: 20
  when: routing.pending

- name: Keep the change
  nictab.routing.confirm:
    snapshot_id: "{{ routing.snapshot_id }}"
  when: routing.pending

- name: The same, with the snapshot inline, in a network namespace
  nictab.routing.apply:
    netns: vpn-gw
    content:
      version: 1
      tables: [{id: 13, name: vpn}]
      nics: [{name: eno1, table: 13}]
'''

RETURN = r'''
result:
  description:
    - nictab's word for the outcome, C(unchanged) (nothing to do), C(planned)
      (check mode), C(pending) (applied and verified, waiting for
      M(nictab.routing.confirm)) or C(applied) (kept at once, I(confirm_timeout=0)).
  returned: success
  type: str
  sample: pending
pending:
  description: Whether a confirm window is open; confirm in a later task when it is.
  returned: success
  type: bool
snapshot_id:
  description:
    - Id of the snapshot the change is saved as once kept (pending), or was saved
      as (applied); when nothing changed, the newest snapshot, if any.
  returned: success
  type: str
  sample: "261201-231005"
deadline:
  description: When a pending change reverts unless confirmed (RFC 3339, UTC).
  returned: when pending
  type: str
guard:
  description:
    - The SSH guard's verdict (status C(safe), C(moved), C(broken) or C(unknown),
      the reply path before and after, and a message), when nictab runs over SSH
      or I(ssh_client) is set and something changes.
  returned: when checked
  type: dict
plan:
  description: The plan in nictab's C(plan --json) form (changes, summary, lines, diff).
  returned: success
  type: dict
ansible_facts:
  description: C(nictab) with I(result), I(pending), I(snapshot_id), I(deadline), I(guard) and I(netns).
  returned: success
  type: dict
'''

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes
from ansible.module_utils.six import string_types

from ansible_collections.nictab.routing.plugins.module_utils.nictab import (
    COMMON_ARGS, EXIT_CHANGES, EXIT_CHANGES_MOVE_SSH, EXIT_OK, Nictab)


def snapshot_file(module):
    """The snapshot file to give nictab: src, or content written out."""
    if module.params['src']:
        return module.params['src'], None
    content = module.params['content']
    if not isinstance(content, string_types):
        # JSON is YAML: a mapping from a variable needs no YAML library.
        # Indented, so the line nictab names in an error is worth reading.
        content = json.dumps(json.loads(module.jsonify(content)), indent=2, sort_keys=True)
    fd, path = tempfile.mkstemp(prefix='nictab-', suffix='.yaml', dir=module.tmpdir)
    with os.fdopen(fd, 'wb') as f:
        f.write(to_bytes(content, errors='surrogate_or_strict'))
    return path, path


def newest_snapshot(nictab):
    rc, doc, out, err, cmd = nictab.run('snapshot', 'list', '--json')
    if rc != EXIT_OK or not isinstance(doc, list):
        return None
    for row in doc:
        if row.get('live'):
            return row.get('id')
    return None


def main():
    args = dict(
        src=dict(type='path'),
        content=dict(type='raw'),
        confirm_timeout=dict(type='int', default=60),
        message=dict(type='str'),
        ssh_client=dict(type='str'),
        force=dict(type='bool', default=False),
    )
    args.update(COMMON_ARGS)
    module = AnsibleModule(
        argument_spec=args,
        mutually_exclusive=[('src', 'content')],
        required_one_of=[('src', 'content')],
        supports_check_mode=True,
    )
    p = module.params
    if p['confirm_timeout'] < 0:
        module.fail_json(msg='confirm_timeout must be 0 or more seconds')
    nictab = Nictab(module)
    path, temp = snapshot_file(module)
    if temp:
        module.add_cleanup_file(temp)
        # nictab's messages name the file and line: call it what the task calls it.
        nictab.aliases[temp] = 'content'

    guard_args = ['--ssh-client', p['ssh_client']] if p['ssh_client'] else []
    rc, plan, out, err, cmd = nictab.run('plan', '-f', path, '--json', '--detailed-exitcode', *guard_args)
    if rc not in (EXIT_OK, EXIT_CHANGES, EXIT_CHANGES_MOVE_SSH) or not isinstance(plan, dict):
        nictab.fail('plan', rc, plan, out, err, cmd)

    res = dict(changed=rc in (EXIT_CHANGES, EXIT_CHANGES_MOVE_SSH), result='unchanged', pending=False,
               snapshot_id=None, guard=plan.get('guard'), plan=plan)
    if module._diff:
        res['diff'] = dict(before=plan['diff']['before'], after=plan['diff']['after'],
                           before_header='nictab: %s now' % (p['netns'] or 'host'),
                           after_header='nictab: after the plan')

    if res['changed'] and module.check_mode:
        res['result'] = 'planned'
    elif res['changed']:
        argv = ['apply', '-f', path, '--json', '--yes', '--no-wait',
                '--confirm', '%ds' % p['confirm_timeout']] + guard_args
        if p['message']:
            argv += ['-m', p['message']]
        if p['force']:
            argv.append('--force')
        rc, doc, out, err, cmd = nictab.run(*argv)
        if rc != EXIT_OK or not isinstance(doc, dict):
            nictab.fail('apply', rc, doc, out, err, cmd, plan=plan)
        res['result'] = doc['result']
        res['changed'] = doc['result'] in ('pending', 'applied')
        res['pending'] = doc['result'] == 'pending'
        res['snapshot_id'] = doc.get('snapshot')
        res['guard'] = doc.get('guard') or res['guard']
        if doc.get('plan'):
            res['plan'] = doc['plan']
        if doc.get('deadline'):
            res['deadline'] = doc['deadline']
        for note in doc.get('notes') or []:
            module.warn('nictab: %s' % note)
        if doc.get('recovered'):
            module.warn('nictab recovered first: %s' % doc['recovered'])
    if not res['snapshot_id'] and not res['pending']:
        res['snapshot_id'] = newest_snapshot(nictab)

    res['ansible_facts'] = dict(nictab=dict(
        result=res['result'], pending=res['pending'], snapshot_id=res['snapshot_id'],
        deadline=res.get('deadline'), guard=res['guard'], netns=p['netns']))
    module.exit_json(**res)


if __name__ == '__main__':
    main()
