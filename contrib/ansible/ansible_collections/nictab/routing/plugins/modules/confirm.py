#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nictab authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: confirm
short_description: Keep a change nictab.routing.apply made, inside its confirm window
description:
  - Runs C(nictab confirm) on the target, so the change that
    M(nictab.routing.apply) applied with a confirm window is kept and saved
    as a snapshot instead of being reverted at its deadline.
  - Put it after the play's own reachability check, so that only hosts
    that passed it keep the change.
  - With I(snapshot_id) (the one M(nictab.routing.apply) returned), only that
    change is kept; confirming it again once kept reports C(changed=false).
  - Fails with nictab's message when nothing is waiting for confirmation,
    typically because the window closed and the change was reverted.
version_added: "0.1.0"
author: nictab authors
options:
  snapshot_id:
    description:
      - Keep the pending change only if it is this snapshot.
    type: str
  netns:
    description: Work inside this named network namespace, as C(nictab --netns).
    type: str
  state_dir:
    description: nictab's state directory, as C(nictab --state-dir).
    type: path
  executable:
    description: Path of the nictab binary; by default C(nictab) on the PATH.
    type: path
attributes:
  check_mode:
    support: none
    details: In check mode nothing is confirmed and the task reports C(changed=false).
  diff_mode:
    support: none
notes:
  - The JSON document and exit statuses used here are nictab's headless
    contract, described in the README's "Headless use" section.
seealso:
  - module: nictab.routing.apply
'''

EXAMPLES = r'''
- name: Keep the routing change once the host is reachable
  nictab.routing.confirm:
    snapshot_id: "{{ routing.snapshot_id }}"
  when: routing.pending
'''

RETURN = r'''
result:
  description: C(kept), or C(skipped) in check mode.
  returned: success
  type: str
snapshot_id:
  description: The snapshot the kept change is saved as.
  returned: success
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nictab.routing.plugins.module_utils.nictab import (
    COMMON_ARGS, EXIT_OK, Nictab)


def main():
    args = dict(snapshot_id=dict(type='str'))
    args.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=args, supports_check_mode=True)
    if module.check_mode:
        module.exit_json(changed=False, result='skipped', snapshot_id=module.params['snapshot_id'],
                         msg='check mode: nothing was confirmed')
    nictab = Nictab(module)
    argv = ['confirm', '--json']
    if module.params['snapshot_id']:
        argv.append(module.params['snapshot_id'])
    rc, doc, out, err, cmd = nictab.run(*argv)
    if rc != EXIT_OK or not isinstance(doc, dict) or doc.get('result') != 'kept':
        nictab.fail('confirm', rc, doc, out, err, cmd)
    already = doc.get('detail') == 'kept already'
    module.exit_json(changed=not already, result='kept', snapshot_id=doc.get('snapshot'),
                     msg=doc.get('detail') or 'kept')


if __name__ == '__main__':
    main()
