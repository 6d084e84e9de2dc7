# Test-only lookup: read the tenant simulator's request log from inside a playbook.
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: sim
short_description: Query the entra-sim admin API (tests only)
description:
  - C(lookup('sim', 'cursor')) returns the request log's current cursor.
  - C(lookup('sim', 'summary', since=cursor)) returns the log summary since that cursor (round_trips, by_method,
    graph_reads, graph_writes).
  - C(lookup('sim', 'state')) returns the simulator's whole state.
  - Reads SIM_ADMIN_URL and ENTRA_CA_BUNDLE from the environment.
options:
  _terms:
    description: What to read.
    required: true
  since:
    description: Cursor for C(summary).
    type: int
    default: 0
"""

import os

import requests
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        session = requests.Session()
        session.trust_env = False
        session.verify = os.environ["ENTRA_CA_BUNDLE"]
        base = os.environ["SIM_ADMIN_URL"].rstrip("/")
        results = []
        for term in terms:
            if term == "cursor":
                results.append(session.get(f"{base}/requests?since=0", timeout=30).json()["next"])
            elif term == "summary":
                results.append(session.get(f"{base}/requests?since={self.get_option('since')}", timeout=30).json()["summary"])
            elif term == "state":
                results.append(session.get(f"{base}/state", timeout=30).json())
            else:
                raise ValueError(f"unknown sim lookup term {term!r}")
        return results
