#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: synced_object_wait
short_description: Wait until on-premises Active Directory groups and users are synced to Microsoft Entra ID
version_added: 0.1.0
description:
  - Waits until groups and users of on-premises Active Directory are present in Microsoft Entra ID as synced objects
    (C(onPremisesSyncEnabled=true)) and returns their Entra object ids, so the next task can license a group that
    M(entra.licensing.ad_group) has just created and M(entra.licensing.adsync_cycle) has just synced.
  - Each object is given by its objectSid (what Entra shows as C(onPremisesSecurityIdentifier), and what
    M(entra.licensing.ad_group) returns as C(object_sid)) or by its sAMAccountName (C(onPremisesSamAccountName)). A
    value shaped like a SID (C(S-1-5-21-...)) is a SID; anything else is a sAMAccountName.
  - Every poll is one C($batch) round trip (per 20 objects) of one filtered read per object, so waiting for the two
    licensing groups costs one request every few seconds. Polls back off from O(poll_interval) up to 30 seconds with
    jitter, under one monotonic deadline (O(wait_timeout)).
  - Values are OData string literals in the filters (quotes doubled), so a name such as C(x' or 1 eq 1) is data.
options:
  groups:
    description:
      - Groups to wait for, each by objectSid or sAMAccountName.
    type: list
    elements: str
    default: []
  users:
    description:
      - Users to wait for, each by objectSid or sAMAccountName.
    type: list
    elements: str
    default: []
  wait_timeout:
    description:
      - Seconds to wait for every object to appear. When they are not all synced by then, the task fails naming the
        objects still missing.
      - Entra Connect exports a new object at the end of its next sync cycle, which M(entra.licensing.adsync_cycle)
        starts and waits for; the object is then usually readable within seconds.
    type: int
    default: 600
  poll_interval:
    description:
      - Seconds between the first polls; the interval doubles (with jitter) up to 30 seconds.
    type: float
    default: 2.0
extends_documentation_fragment:
  - entra.licensing.graph_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads once and does not wait. Objects not in Entra ID yet are listed in RV(missing) and the task
        does not fail, because in a check-mode run of a whole play the groups were not really created on premises
        and no sync ran.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - Needs the Microsoft Graph application permissions C(Group.Read.All) (groups) and C(User.Read.All) (users), or
    C(Directory.Read.All).
  - Users found by sAMAccountName are read with the advanced query parameters (C(ConsistencyLevel=eventual),
    C($count=true)), which Microsoft Graph requires for that filter on users.
  - A sAMAccountName is unique within a domain only. If two synced objects of different domains carry it, the task
    fails listing them; give the SID instead.
seealso:
  - module: entra.licensing.ad_group
  - module: entra.licensing.adsync_cycle
  - module: entra.licensing.group_license
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: The licensing groups, on premises
  entra.licensing.ad_group:
    name: "{{ item }}"
    path: OU=Licensing,OU=Entra,DC=corp,DC=contoso,DC=com
    scope: universal
  loop: [O365_Licenses_E3_Base, O365_Licenses_E3_Exchange]
  register: ad_groups

- name: Sync now
  entra.licensing.adsync_cycle:
    policy_type: Delta
  delegate_to: aadconnect01.corp.contoso.com

- name: Wait for both groups in Entra ID, by the SIDs ad_group returned
  entra.licensing.synced_object_wait:
    groups: "{{ ad_groups.results | map(attribute='object_sid') | list }}"
    wait_timeout: 300
  register: synced

- name: License the base group by its Entra id
  entra.licensing.group_license:
    group: "{{ synced.ids.O365_Licenses_E3_Base }}"
    licenses:
      - sku: Office 365 E3

- name: Wait for a joiner's account and a group, by sAMAccountName
  entra.licensing.synced_object_wait:
    users: [BenW]
    groups: [O365_Licenses_E3_Exchange]
"""

RETURN = r"""
groups:
  description:
    - The groups found, in the order of O(groups) (a group given twice, by SID and by name, once), with Graph's
      property names.
    - In check mode, groups not synced yet are left out (see RV(missing)).
  returned: always
  type: list
  elements: dict
  sample:
    - id: 1132b215-826f-42a9-8cfe-1643d19d17fd
      displayName: O365_Licenses_E3_Base
      securityEnabled: true
      onPremisesSyncEnabled: true
      onPremisesSecurityIdentifier: S-1-5-21-1910017224-3960141332-2366340414-1105
      onPremisesSamAccountName: O365_Licenses_E3_Base
      onPremisesDomainName: corp.contoso.com
      onPremisesNetBiosName: CORP
      onPremisesLastSyncDateTime: "2026-01-12T09:30:21Z"
users:
  description:
    - The users found, in the order of O(users), with Graph's property names.
    - In check mode, users not synced yet are left out (see RV(missing)).
  returned: always
  type: list
  elements: dict
  sample:
    - id: 5f3c2a1b-0d4e-4f6a-8b9c-1d2e3f4a5b6c
      displayName: Ben Walters
      userPrincipalName: BenW@contoso.com
      onPremisesSyncEnabled: true
      onPremisesSecurityIdentifier: S-1-5-21-1910017224-3960141332-2366340414-1103
      onPremisesSamAccountName: BenW
      onPremisesImmutableId: f3B0kw2nQ0a2GzZ1w8m7kA==
      onPremisesDomainName: corp.contoso.com
      onPremisesDistinguishedName: CN=Ben Walters,OU=Users,OU=Entra,DC=corp,DC=contoso,DC=com
      onPremisesUserPrincipalName: BenW@contoso.com
      onPremisesLastSyncDateTime: "2026-01-12T09:30:21Z"
ids:
  description: The Entra object id of every object found, keyed by its sAMAccountName (C(onPremisesSamAccountName)).
  returned: always
  type: dict
  sample:
    O365_Licenses_E3_Base: 1132b215-826f-42a9-8cfe-1643d19d17fd
    BenW: 5f3c2a1b-0d4e-4f6a-8b9c-1d2e3f4a5b6c
missing:
  description:
    - The objects not in Entra ID (yet), as given in O(groups) and O(users). Empty unless in check mode, since a real
      run fails when objects are still missing at the deadline.
  returned: always
  type: list
  elements: str
  sample: []
polls:
  description: How many times Entra ID was read.
  returned: always
  type: int
  sample: 3
elapsed:
  description: Seconds spent, waits included.
  returned: always
  type: float
  sample: 6.4
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as url_quote

from ansible_collections.entra.licensing.plugins.module_utils.client import BatchRequest, GraphClient, raise_for_status
from ansible_collections.entra.licensing.plugins.module_utils.directory import select
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.module import GraphModule
from ansible_collections.entra.licensing.plugins.module_utils.odata import quote
from ansible_collections.entra.licensing.plugins.module_utils.transport import Backoff

SID = re.compile(r"^S-1-\d+(-\d+)+$", re.IGNORECASE)
MAX_POLL_INTERVAL = 30.0
GROUP_FIELDS = (
    "id",
    "displayName",
    "securityEnabled",
    "onPremisesSyncEnabled",
    "onPremisesSecurityIdentifier",
    "onPremisesSamAccountName",
    "onPremisesDomainName",
    "onPremisesNetBiosName",
    "onPremisesLastSyncDateTime",
)
USER_FIELDS = (
    "id",
    "displayName",
    "userPrincipalName",
    "onPremisesSyncEnabled",
    "onPremisesSecurityIdentifier",
    "onPremisesSamAccountName",
    "onPremisesImmutableId",
    "onPremisesDomainName",
    "onPremisesDistinguishedName",
    "onPremisesUserPrincipalName",
    "onPremisesLastSyncDateTime",
)


@dataclass(frozen=True)
class Wanted:
    """One object to wait for: its kind ("group" or "user") and the SID or sAMAccountName it was given by."""

    kind: str
    value: str

    @property
    def by_sid(self) -> bool:
        return bool(SID.match(self.value))

    @property
    def label(self) -> str:
        return f"{self.kind} {self.value}"

    def request(self) -> BatchRequest:
        """One filtered read: eq is what Graph documents for onPremisesSecurityIdentifier (not in), on groups and users.

        Users need the advanced query parameters for a filter on onPremisesSamAccountName. Two results at most are
        asked for: a second one means the name is not unique across the synced domains.
        """
        prop = "onPremisesSecurityIdentifier" if self.by_sid else "onPremisesSamAccountName"
        fields = GROUP_FIELDS if self.kind == "group" else USER_FIELDS
        query = {"$filter": f"{prop} eq {quote(self.value)}", "$select": select(fields), "$top": "2"}
        headers = None
        if self.kind == "user" and not self.by_sid:
            query["$count"] = "true"
            headers = {"ConsistencyLevel": "eventual"}
        text = "&".join(f"{key}={url_quote(value, safe=',()')}" for key, value in query.items())
        return BatchRequest("GET", f"/{self.kind}s?{text}", headers=headers)


def wanted_objects(groups: list[str], users: list[str]) -> list[Wanted]:
    """The objects in the order asked, blanks dropped and duplicates once (a SID is compared case-insensitively)."""
    seen: set[tuple[str, str]] = set()
    wanted = []
    for kind, values in (("group", groups), ("user", users)):
        for value in (str(v).strip() for v in values if v is not None):
            key = (kind, value.upper() if SID.match(value) else value.casefold())
            if value and key not in seen:
                seen.add(key)
                wanted.append(Wanted(kind, value))
    return wanted


def read_synced(client: GraphClient, wanted: list[Wanted]) -> dict[Wanted, dict[str, Any]]:
    """The synced Entra object of each wanted object that has one, in one $batch round trip per 20 objects."""
    found: dict[Wanted, dict[str, Any]] = {}
    for item, response in zip(wanted, client.batch([item.request() for item in wanted]), strict=True):
        matches = [obj for obj in (raise_for_status(response, f"look up {item.label}").body or {}).get("value", []) if obj.get("onPremisesSyncEnabled")]
        if len(matches) > 1:
            listed = ", ".join(f"{obj['id']} ({obj.get('onPremisesDomainName')})" for obj in matches)
            raise GraphError(f"More than one synced {item.kind} has sAMAccountName '{item.value}': {listed}; give its objectSid instead")
        if matches:
            found[item] = matches[0]
    return found


def wait_synced(
    client: GraphClient,
    wanted: list[Wanted],
    timeout: float,
    poll_interval: float,
    *,
    once: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    backoff: Backoff | None = None,
) -> tuple[dict[Wanted, dict[str, Any]], int]:
    """Poll until every wanted object is synced, the deadline passes (the last poll is made at the deadline) or, with
    ``once``, after one poll; returns the objects found and the number of polls."""
    backoff = backoff or Backoff(base=poll_interval, cap=max(poll_interval, MAX_POLL_INTERVAL))
    deadline = clock() + timeout
    polls = 0
    while True:
        found = read_synced(client, wanted) if wanted else {}
        polls += 1
        remaining = deadline - clock()
        if len(found) == len(wanted) or once or remaining <= 0:
            return found, polls
        sleep(min(backoff.delay(polls - 1), remaining))


def timeout_message(timeout: float, missing: list[Wanted]) -> str:
    return (
        f"Timed out after {timeout:g}s waiting for on-premises objects to be synced to Entra ID; still missing: "
        + ", ".join(item.label for item in missing)
        + ". Check that they are in an OU Entra Connect synchronizes and that a sync cycle ran (entra.licensing.adsync_cycle)."
    )


def main() -> None:
    module = GraphModule(
        argument_spec=dict(
            groups=dict(type="list", elements="str", default=[]),
            users=dict(type="list", elements="str", default=[]),
            wait_timeout=dict(type="int", default=600),
            poll_interval=dict(type="float", default=2.0),
        ),
        supports_check_mode=True,
    )
    params = module.params
    wanted = wanted_objects(params["groups"], params["users"])
    begin = time.monotonic()
    result: dict[str, Any] = {"changed": False, "groups": [], "users": [], "ids": {}, "missing": []}
    try:
        found, result["polls"] = wait_synced(module.client(), wanted, params["wait_timeout"], params["poll_interval"], once=module.check_mode)
    except GraphError as error:
        module.fail_graph_error(error, **result)
    for item in wanted:
        obj = found.get(item)
        if obj is None:
            result["missing"].append(item.value)
            continue
        if obj["id"] not in result["ids"].values():
            result[f"{item.kind}s"].append(obj)
        result["ids"][obj.get("onPremisesSamAccountName") or item.value] = obj["id"]
    result["elapsed"] = round(time.monotonic() - begin, 1)
    missing = [item for item in wanted if item not in found]
    if missing and not module.check_mode:
        module.fail_json(msg=timeout_message(params["wait_timeout"], missing), **result)
    if missing:
        result["msg"] = "check mode: not in Entra ID yet: " + ", ".join(item.label for item in missing)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
