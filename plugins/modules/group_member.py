#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: group_member
short_description: Manage the direct members of a Microsoft Entra ID security group
version_added: 0.1.0
description:
  - Adds and removes direct members of an assigned-membership group, in bulk and idempotently.
  - Members are given by user principal name or object id (users, groups, devices, service principals).
  - Every reference is looked up before the first write, 20 per round trip; unknown references are all named in one
    error and nothing is changed.
  - Writes go 20 members per request (C(members@odata.bind)), 20 requests per C($batch) round trip. A member added
    or removed meanwhile by someone else counts as done, so concurrent runs do not fail.
  - Group-based licensing reaches direct user members only; a group added as a member triggers a warning, because
    its own members get no license from this group.
  - Dynamic groups take their members from their rule, and groups synced from on-premises AD take them from AD; both
    are refused with a message saying where membership is managed.
options:
  group:
    description:
      - The group, by object id or exact display name.
    type: str
    required: true
  members:
    description:
      - User principal names or object ids.
      - With O(state=exact), an empty list removes every member.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) adds the members that are missing; V(absent) removes the listed members; V(exact) makes the
        members exactly the list, removing everyone else.
    type: str
    choices: [present, absent, exact]
    default: present
extends_documentation_fragment:
  - entra.licensing.graph_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff lists members by user principal name (display name or id for other objects).
  platform:
    platforms: all
seealso:
  - module: entra.licensing.group
  - module: entra.licensing.group_license
  - module: entra.licensing.ad_group
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: Give two users Office 365 E3 through the base group
  entra.licensing.group_member:
    group: O365_Licenses_E3_Base
    members:
      - adele.vance@contoso.onmicrosoft.com
      - alex.wilber@contoso.onmicrosoft.com

- name: A leaver loses the group's licenses
  entra.licensing.group_member:
    group: O365_Licenses_E3_Exchange
    members: [megan.bowen@contoso.onmicrosoft.com]
    state: absent

- name: The pilot group is exactly this list
  entra.licensing.group_member:
    group: O365_Licenses_E3_Pilot
    members: "{{ pilot_users }}"
    state: exact
"""

RETURN = r"""
members:
  description: The direct members after the task.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 3f7a2c1e-9a51-4a4e-9d23-0c1d2e3f4a5b
      userPrincipalName: adele.vance@contoso.onmicrosoft.com
      displayName: Adele Vance
added:
  description: Members added (user principal name, or display name / id for other objects).
  returned: always
  type: list
  elements: str
  sample: [adele.vance@contoso.onmicrosoft.com]
removed:
  description: Members removed.
  returned: always
  type: list
  elements: str
  sample: []
group_id:
  description: The group's object id.
  returned: always
  type: str
  sample: 1132b215-826f-42a9-8cfe-1643d19d17fd
"""

from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.directory import require_group
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.members import (
    add_members,
    check_writable,
    label,
    list_members,
    members_after,
    members_diff,
    nested_groups_warning,
    plan_changes,
    remove_members,
    resolve_wanted,
)
from ansible_collections.entra.licensing.plugins.module_utils.module import GraphModule


def member_view(members: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": m["id"], "userPrincipalName": m.get("userPrincipalName"), "displayName": m.get("displayName")} for m in members.values()]


def main() -> None:
    module = GraphModule(
        argument_spec=dict(
            group=dict(type="str", required=True),
            members=dict(type="list", elements="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent", "exact"]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result: dict[str, Any] = {"changed": False, "added": [], "removed": []}
    try:
        client = module.client()
        group = require_group(client, params["group"])
        result["group_id"] = group["id"]
        check_writable(group)
        group_id = group["id"].lower()
        current = list_members(client, [group_id])[group_id]
        wanted = resolve_wanted(client, {group_id: [m for m in params["members"] if m and m.strip()]}, {group_id: current})[group_id]
        to_add, to_remove = plan_changes(current, wanted, params["state"])
        warning = nested_groups_warning(to_add, group["displayName"])
        if warning:
            module.warn(warning)
        if not module.check_mode:
            if to_add:
                add_members(client, group["id"], to_add)
            if to_remove:
                remove_members(client, group["id"], to_remove)
        result["changed"] = bool(to_add or to_remove)
        after = members_after(current, to_add, to_remove)
        result["added"] = [label(m) for m in to_add]
        result["removed"] = [label(m) for m in to_remove]
        result["members"] = member_view(after)
        if module.diff_mode:
            result["diff"] = members_diff(current, after)
    except GraphError as error:
        module.fail_graph_error(error, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
