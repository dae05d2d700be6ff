# -*- coding: utf-8 -*-
# For the tests: every task result, one JSON object a line, to the file
# $NICTAB_RECORD (ansible-core has no JSON callback of its own).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
name: record
type: aggregate
short_description: write each task result as a JSON line to $NICTAB_RECORD
description: For nictab's tests.
requirements: [enabled in callbacks_enabled]
'''

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'record'
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, status, result):
        line = dict(status=status, host=result._host.get_name(), task=result._task.get_name(),
                    result=result._result)
        with open(os.environ['NICTAB_RECORD'], 'a') as f:
            f.write(json.dumps(line, default=str) + '\n')

    def v2_runner_on_ok(self, result):
        self._record('ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record('failed', result)

    def v2_runner_on_skipped(self, result):
        self._record('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._record('unreachable', result)
