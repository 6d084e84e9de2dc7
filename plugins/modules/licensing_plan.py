#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: licensing_plan
short_description: Apply a whole group-based licensing plan to Microsoft Entra ID in one task
version_added: 0.1.0
description:
  - Makes many groups match a plan in one module run - the cloud groups themselves (created or updated, assigned or
    dynamic), their members, and the products and service plans each group assigns - then waits until Entra has
    applied the licenses to every member and reports the members whose license failed.
  - Built for plans of any size. One token serves the whole plan, and reads and writes of all groups travel together
    in JSON C($batch) requests. Fifty groups of ten members take 24 round trips to apply and 11 to confirm on a
    rerun, where a loop over M(entra.licensing.group), M(entra.licensing.group_member) and
    M(entra.licensing.group_license) takes 650 and 350 round trips in 150 module processes. It runs the same code as
    those modules.
  - Groups synced from on-premises Active Directory (O(groups[].source=onprem)) are only licensed here; create them
    and manage their members with M(entra.licensing.ad_group), sync them with M(entra.licensing.adsync_cycle) and
    wait for them with M(entra.licensing.synced_object_wait) first. The P(entra.licensing.group_licensing#role) role
    does all of it in that order.
  - The whole plan is checked before the first write, and all problems are reported together - unknown products,
    plans or members, a group listed twice, a cloud group that turns out to be synced, seats that run short for the
    plan's groups together, a change that takes a service plan from members with no other path to it.
  - A rerun of the same plan writes nothing.
options:
  groups:
    description:
      - The groups of the plan, each once.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The group's display name (Entra compares names case-insensitively). A cloud group of that name is created
            when there is none.
        type: str
        required: true
      id:
        description:
          - The group's object id, when it is known, for example the id M(entra.licensing.synced_object_wait) returned
            for a synced group. The group is then found by id instead of by name.
        type: str
      source:
        description:
          - V(cloud) groups live in Entra ID and are created and updated here.
          - V(onprem) groups are synced from Active Directory and must already be in Entra (in check mode they may be
            missing, taken for groups the play syncs first); only their licenses are managed here.
        type: str
        choices: [cloud, onprem]
        default: cloud
      description:
        description:
          - The group's description (cloud groups).
        type: str
      membership:
        description:
          - V(assigned) members are listed in O(groups[].members); V(dynamic) members follow O(groups[].rule).
          - When not given, a new group is V(assigned) and an existing group keeps its type.
        type: str
        choices: [assigned, dynamic]
      rule:
        description:
          - The dynamic membership rule, for example C(user.department -eq "Sales"). Required with
            O(groups[].membership=dynamic).
        type: str
      members:
        description:
          - Direct members of an assigned cloud group, by user principal name or object id, reconciled as
            O(members_state) says. When not given, the members are not managed.
        type: list
        elements: str
      licenses:
        description:
          - The products the group assigns, each once, as in M(entra.licensing.group_license). When not given, the
            group's licenses are not managed.
        type: list
        elements: dict
        suboptions:
          sku:
            description:
              - The product, by SKU GUID, part number or product name.
            type: str
            required: true
          enabled_plans:
            description:
              - An allow-list of service plans; every other plan of the product is off, including plans Microsoft adds
                later.
            type: list
            elements: str
          disabled_plans:
            description:
              - A deny-list of service plans; every other plan is on.
            type: list
            elements: str
  members_state:
    description:
      - V(present) adds the listed members; V(exact) also removes members the plan does not list.
    type: str
    choices: [present, exact]
    default: present
  licenses_state:
    description:
      - V(present) adds the listed products and sets their plans; V(exact) also removes products the plan does not list
        from its groups.
    type: str
    choices: [present, exact]
    default: present
  capacity_check:
    description:
      - What to do when the products new to the plan's groups do not have enough free seats for the members who would
        take one (each user counted once per product, whatever the number of groups).
      - V(fail) stops before any write, V(warn) assigns anyway, V(off) skips the check.
    type: str
    choices: [fail, warn, "off"]
    default: fail
  force:
    description:
      - Proceed with license changes that take a service plan from members who have no other path to it. Those
        members are listed in RV(groups[].users_losing_service) either way.
    type: bool
    default: false
  wait:
    description:
      - Wait until Entra has applied every group's licenses to each of its direct user members, and report the
        members whose license failed (as M(entra.licensing.group_license) with O(entra.licensing.group_license#module:wait=true)).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for all groups together.
    type: int
    default: 600
extends_documentation_fragment:
  - entra.licensing.graph_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Everything is read, planned and checked; nothing is written. Groups to be created are returned with the id
        V(00000000-0000-0000-0000-000000000000).
      - With O(wait=true), the members' current license errors are reported without waiting.
  diff_mode:
    support: full
    details: The diff shows each group's properties, members (where managed) and licenses with plan names, by group name.
  platform:
    platforms: all
notes:
  - Needs the Graph application permissions of M(entra.licensing.group), M(entra.licensing.group_member) and
    M(entra.licensing.group_license) together - C(Group.Create) or C(Group.ReadWrite.All), C(GroupMember.ReadWrite.All),
    C(LicenseAssignment.ReadWrite.All), C(Organization.Read.All), C(Group.Read.All) and C(User.Read.All); see
    C(docs/permissions.md).
  - The seat check counts the members a dynamic rule will bring only once Entra has evaluated the rule; a new dynamic
    group has none yet.
seealso:
  - module: entra.licensing.group
  - module: entra.licensing.group_member
  - module: entra.licensing.group_license
  - module: entra.licensing.synced_object_wait
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: The licensing structure of the tenant, as one plan
  entra.licensing.licensing_plan:
    groups:
      - name: O365_Licenses_E3_Base
        description: Office 365 E3, every service plan
        members: [AdeleV@contoso.onmicrosoft.com, AlexW@contoso.onmicrosoft.com]
        licenses:
          - sku: Office 365 E3
      - name: O365_Licenses_E3_Exchange
        description: Office 365 E3, Exchange Online (Plan 2) only
        members: [LynneR@contoso.onmicrosoft.com]
        licenses:
          - sku: Office 365 E3
            enabled_plans: [Exchange Online (Plan 2)]
      - name: O365_Licenses_E3_Sales
        membership: dynamic
        rule: user.department -eq "Sales"
        licenses:
          - sku: ENTERPRISEPACK
  register: plan

- name: License a group synced from Active Directory, by the id synced_object_wait returned
  entra.licensing.licensing_plan:
    groups:
      - name: O365_Licenses_E3_Base
        source: onprem
        id: "{{ synced.ids.O365_Licenses_E3_Base }}"
        licenses:
          - sku: Office 365 E3
"""

RETURN = r"""
groups:
  description: One entry per group of the plan, in the plan's order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The group's name, as in the plan.
      type: str
    id:
      description: The group's object id (C(00000000-0000-0000-0000-000000000000) in check mode for a group not created yet).
      type: str
    source:
      description: V(cloud) or V(onprem).
      type: str
    changed:
      description: Whether the plan changed (or, in check mode, would change) anything of this group.
      type: bool
    created:
      description: Whether the group was created.
      type: bool
    updated:
      description: The Graph properties that were updated.
      type: list
      elements: str
    members_added:
      description: Members added (UPN, or name for groups).
      type: list
      elements: str
    members_removed:
      description: Members removed.
      type: list
      elements: str
    licenses_added:
      description: The C(addLicenses) sent, as M(entra.licensing.group_license) returns RV(entra.licensing.group_license#module:added).
      type: list
      elements: dict
    licenses_removed:
      description: The C(removeLicenses) sent, SKU GUIDs.
      type: list
      elements: str
    licenses:
      description: The group's licenses afterwards, with product and plan names, as RV(entra.licensing.group_license#module:licenses).
      type: list
      elements: dict
    plans_kept_off:
      description: Plans an allow-list keeps off that deserve a look, as RV(entra.licensing.group_license#module:plans_kept_off).
      type: list
      elements: dict
    users_losing_service:
      description: Members who would lose service plans they have no other path to.
      type: list
      elements: dict
    licenseProcessingState:
      description: The group's C(licenseProcessingState) as last read (with O(wait=true)).
      type: dict
    members_with_errors:
      description: With O(wait=true), the members whose license from this group failed, as RV(entra.licensing.group_license#module:members_with_errors).
      type: list
      elements: dict
  sample:
    - name: O365_Licenses_E3_Exchange
      id: 5d0a3c2e-8f1b-4e6a-9c7d-2b1a0f9e8d7c
      source: cloud
      changed: true
      created: true
      updated: []
      members_added: [LynneR@contoso.onmicrosoft.com]
      members_removed: []
      licenses_added: [{skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900, disabledPlans: [57ff2da0-773e-42df-b2af-ffb7a2317929]}]
      licenses_removed: []
      licenses:
        - skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900
          skuPartNumber: ENTERPRISEPACK
          name: Office 365 E3
          enabledPlanNames: [Exchange Online (Plan 2)]
      plans_kept_off: []
      users_losing_service: []
      licenseProcessingState: {state: ProcessingComplete}
      members_with_errors: []
seats:
  description: For each product new to the plan's groups, the members who would take a new seat and the seats available.
  returned: always
  type: list
  elements: dict
  sample:
    - {skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900, skuPartNumber: ENTERPRISEPACK, name: Office 365 E3, needed: 3,
       available: 24, enabled: 25, warning: 0, consumed: 1, sufficient: true}
members_with_errors:
  description: The entries of RV(groups[].members_with_errors) of every group, each with the C(group) name added.
  returned: always
  type: list
  elements: dict
  sample:
    - {group: O365_Licenses_E3_Base, id: a1000000-0000-4000-8000-000000000005, userPrincipalName: JoniS@contoso.onmicrosoft.com,
       skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900, skuPartNumber: ENTERPRISEPACK, sku: Office 365 E3, state: Error,
       error: CountViolation, lastUpdatedDateTime: "2026-05-02T08:31:00Z"}
"""

from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.licensing import LICENSE_OPTIONS, LicensingError
from ansible_collections.entra.licensing.plugins.module_utils.module import GraphModule
from ansible_collections.entra.licensing.plugins.module_utils.plan import PlanOptions, apply_plan

GROUP_SPEC = dict(
    name=dict(type="str", required=True),
    id=dict(type="str"),
    source=dict(type="str", default="cloud", choices=["cloud", "onprem"]),
    description=dict(type="str"),
    membership=dict(type="str", choices=["assigned", "dynamic"]),
    rule=dict(type="str"),
    members=dict(type="list", elements="str"),
    licenses=dict(type="list", elements="dict", options=LICENSE_OPTIONS, mutually_exclusive=[("enabled_plans", "disabled_plans")]),
)


def main() -> None:
    module = GraphModule(
        argument_spec=dict(
            groups=dict(type="list", elements="dict", required=True, options=GROUP_SPEC),
            members_state=dict(type="str", default="present", choices=["present", "exact"]),
            licenses_state=dict(type="str", default="present", choices=["present", "exact"]),
            capacity_check=dict(type="str", default="fail", choices=["fail", "warn", "off"]),
            force=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    params = module.params
    options = PlanOptions(
        members_state=params["members_state"],
        licenses_state=params["licenses_state"],
        capacity_check=params["capacity_check"],
        force=params["force"],
        wait=params["wait"],
        wait_timeout=params["wait_timeout"],
    )
    result: dict[str, Any] = {"changed": False, "groups": [], "seats": [], "members_with_errors": []}
    try:
        result = apply_plan(module.client(), params["groups"], options, module.check_mode, module.warn)
    except GraphError as error:
        details = error.details if isinstance(error, LicensingError) else {}
        module.fail_graph_error(error, **{**result, **details})
    if not module.diff_mode:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
