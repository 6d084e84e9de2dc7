#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: group
short_description: Create, update and delete Microsoft Entra ID security groups (assigned or dynamic)
version_added: 0.1.0
description:
  - Manages a cloud security group in Microsoft Entra ID, the kind that group-based licensing hangs on.
  - A group is found by O(id), or by its exact display name O(name) (Entra compares names case-insensitively).
    Several groups with the same name are an error that lists their ids; the module never guesses.
  - Only the properties given are managed; a second run with the same options changes nothing and sends no write.
  - Groups synced from on-premises Active Directory are mastered there; a difference in their properties fails with a
    message naming the on-premises source (change them with M(entra.licensing.ad_group) instead).
  - Members are managed with M(entra.licensing.group_member), licenses with M(entra.licensing.group_license).
options:
  name:
    description:
      - The display name. Used to find the group when O(id) is not given; with O(id) it renames the group.
      - Required to create a group.
    type: str
  id:
    description:
      - The object id of an existing group.
    type: str
  description:
    description:
      - The group's description.
    type: str
  mail_nickname:
    description:
      - The mail alias (required by Graph even for security groups).
      - When not given, a new group gets one derived from O(name) (accents folded, characters Graph refuses dropped,
        at most 64 characters); an existing group keeps its own.
    type: str
  membership_type:
    description:
      - V(assigned) members are added and removed explicitly; V(dynamic) members follow O(membership_rule).
      - When not given, a new group is V(assigned) and an existing group keeps its type.
      - Switching an existing group from V(assigned) to V(dynamic) replaces its members with the rule's result, which
        also moves licenses; the module warns when it does so.
    type: str
    choices: [assigned, dynamic]
  membership_rule:
    description:
      - The dynamic membership rule, for example C(user.department -eq "Sales").
      - Required when the group becomes dynamic.
    type: str
  membership_rule_processing_state:
    description:
      - V(On) evaluates the rule; V(Paused) freezes the members. New dynamic groups default to V(On).
    type: str
    choices: ['On', 'Paused']
  state:
    description:
      - V(present) creates or updates the group; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Entra refuses to delete a group that still has licenses assigned, and deleting it would take those licenses
        from every member. With V(true), the module removes the group's licenses first and reports the members
        affected; with V(false) (the default) it fails and lists them.
    type: bool
    default: false
extends_documentation_fragment:
  - entra.licensing.graph_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: A group created in check mode is returned with the id V(00000000-0000-0000-0000-000000000000).
  diff_mode:
    support: full
  platform:
    platforms: all
seealso:
  - module: entra.licensing.group_info
  - module: entra.licensing.group_member
  - module: entra.licensing.group_license
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: Base group for Office 365 E3 with every plan
  entra.licensing.group:
    name: O365_Licenses_E3_Base
    description: Office 365 E3, every service plan

- name: Add-on group for Exchange Online (Plan 2) only
  entra.licensing.group:
    name: O365_Licenses_E3_Exchange
    description: Office 365 E3, Exchange Online (Plan 2) only

- name: Dynamic group of everyone in Sales
  entra.licensing.group:
    name: O365_Licenses_E3_Sales
    membership_type: dynamic
    membership_rule: user.department -eq "Sales"

- name: Rename a group found by id
  entra.licensing.group:
    id: 1132b215-826f-42a9-8cfe-1643d19d17fd
    name: O365_Licenses_E3_Base

- name: Delete a group, removing its licenses from the members first
  entra.licensing.group:
    name: O365_Licenses_E3_Pilot
    state: absent
    force: true
"""

RETURN = r"""
group:
  description:
    - The group after the task, with Graph's property names.
    - Absent when O(state=absent).
  returned: when O(state=present)
  type: dict
  sample:
    id: 1132b215-826f-42a9-8cfe-1643d19d17fd
    displayName: O365_Licenses_E3_Base
    description: Office 365 E3, every service plan
    mailNickname: O365_Licenses_E3_Base
    mailEnabled: false
    securityEnabled: true
    groupTypes: []
    membershipRule: null
    membershipRuleProcessingState: null
    onPremisesSyncEnabled: null
removed_licenses:
  description: SKU ids removed from the group before it was deleted (O(force=true)).
  returned: when O(state=absent) and the group had licenses
  type: list
  elements: str
  sample: [6fd2c87f-b296-42f0-b197-1e91e994b900]
members_affected:
  description: User members who lose the group's licenses when it is deleted.
  returned: when O(state=absent) and the group had licenses
  type: list
  elements: dict
  sample: [{id: 3f7a2c1e-9a51-4a4e-9d23-0c1d2e3f4a5b, userPrincipalName: adele.vance@contoso.onmicrosoft.com}]
"""

from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.directory import GROUP_FIELDS, GROUP_LICENSE_FIELDS
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.groups import (
    CHECK_MODE_ID,
    check_rule_target,
    create_group,
    diff_view,
    ensure_absent,
    ensure_updated,
    find_group,
    new_group_body,
    validate_params,
    visible,
)
from ansible_collections.entra.licensing.plugins.module_utils.module import GraphModule

FIELDS = GROUP_FIELDS + GROUP_LICENSE_FIELDS


def main() -> None:
    module = GraphModule(
        argument_spec=dict(
            name=dict(type="str"),
            id=dict(type="str"),
            description=dict(type="str"),
            mail_nickname=dict(type="str"),
            membership_type=dict(type="str", choices=["assigned", "dynamic"]),
            membership_rule=dict(type="str"),
            membership_rule_processing_state=dict(type="str", choices=["On", "Paused"]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            force=dict(type="bool", default=False),
        ),
        required_one_of=[("name", "id")],
        supports_check_mode=True,
    )
    params = module.params
    result: dict[str, Any] = {"changed": False}
    try:
        validate_params(params)
        client = module.client()
        current = find_group(client, params.get("id"), params.get("name"), FIELDS)
        if params["state"] == "absent":
            if current is not None:
                result.update(ensure_absent(client, current, params["force"], module.check_mode))
                result["changed"] = True
            after = None
        elif current is None:
            body = new_group_body(params)
            after = {**body, "id": CHECK_MODE_ID} if module.check_mode else create_group(client, body)
            result["changed"] = True
        else:
            check_rule_target(current, params)
            after = ensure_updated(client, current, params, module.check_mode, module.warn)
            result["changed"] = after is not current
        if after is not None:
            result["group"] = visible(after)
        if module.diff_mode:
            result["diff"] = {"before": diff_view(current), "after": diff_view(after)}
    except GraphError as error:
        module.fail_graph_error(error, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
