#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: group_license
short_description: Assign Microsoft 365 products to a Microsoft Entra ID group, with the service plans you choose
version_added: 0.1.0
description:
  - Manages the products (SKUs) a security group assigns to its members through group-based licensing, and which of
    each product's service plans are on.
  - Products and plans are accepted as GUIDs, part numbers (C(ENTERPRISEPACK), C(EXCHANGE_S_ENTERPRISE)) or the names
    people use ("Office 365 E3", "Exchange Online (Plan 2)"), case-insensitive.
  - Everything is checked before the first write, and all problems are reported at once. An unknown or ambiguous
    name fails with the closest names; a plan the product lacks fails with the product's plans; a product listed
    twice fails.
  - The group's current licenses are compared as sets, so a rerun writes nothing. A change is one C(assignLicense)
    call carrying every add and remove.
  - Before adding a product, the members who would take a new seat (direct user members with no active path to the
    product yet) are counted against the seats available; see O(capacity_check).
  - Before removing a product or turning a plan off, the members who would lose a service plan that no other path
    gives them (a direct assignment, or another group, of any product) are found; the change is refused unless
    O(force=true). They are listed in RV(users_losing_service) either way.
  - Entra applies a group's licenses to its members in the background. With O(wait=true) the module waits until
    that is done and reports the members whose license failed (C(CountViolation), C(MutuallyExclusiveViolation),
    ...).
  - Groups synced from on-premises Active Directory can be licensed like cloud groups. Only security-enabled groups
    can hold licenses, and only their direct user members get them (members of nested groups do not).
options:
  group:
    description:
      - The group, by object id or exact display name.
    type: str
    required: true
  licenses:
    description:
      - The products, each once.
      - With O(state=absent), only O(licenses[].sku) matters.
      - With O(state=exact), an empty list removes every product from the group.
    type: list
    elements: dict
    required: true
    suboptions:
      sku:
        description:
          - The product, by SKU GUID, part number or product name.
        type: str
        required: true
      enabled_plans:
        description:
          - An allow-list. Only these service plans are on; every other plan of the product, as the tenant lists it
            today, is turned off.
          - A plan Microsoft adds to the product later stays off until it is listed here. Plans kept off that
            Microsoft added after the collection's product table, or that were on before this run, are reported in
            RV(plans_kept_off); the first kind also gives a warning when the assignment is written.
          - Plans by GUID, plan name or friendly name.
        type: list
        elements: str
      disabled_plans:
        description:
          - A deny-list. These service plans are off, every other plan is on, including plans Microsoft adds later
            (Entra's own behaviour).
          - Without O(licenses[].enabled_plans) and O(licenses[].disabled_plans), every plan is on.
          - O(licenses[].enabled_plans) and the equivalent O(licenses[].disabled_plans) give the same assignment, and
            switching from one to the other changes nothing.
        type: list
        elements: str
  state:
    description:
      - V(present) adds the listed products and sets their plans; other products of the group stay.
      - V(absent) removes the listed products.
      - V(exact) makes the listed products the group's only ones, removing the others.
    type: str
    choices: [present, absent, exact]
    default: present
  capacity_check:
    description:
      - What to do when a product being added does not have enough free seats for the members who would take one.
      - V(fail) stops before any write, with the numbers.
      - V(warn) assigns anyway and warns; Entra then puts the members beyond the free seats in C(CountViolation),
        which O(wait=true) reports.
      - V(off) skips the check (and the read of the members it needs).
    type: str
    choices: [fail, warn, "off"]
    default: fail
  force:
    description:
      - Proceed with a removal, or with turning a plan off, that takes a service plan from members who have no other
        path to it. Those members are listed in RV(users_losing_service) either way.
      - Microsoft keeps a user's Exchange Online data for 30 days after the license is removed.
    type: bool
    default: false
  wait:
    description:
      - Wait until Entra has applied the group's licenses to every direct user member, then report the members whose
        license from this group failed in RV(members_with_errors).
      - Done means C(licenseProcessingState) is C(ProcessingComplete) B(and) every member's
        C(licenseAssignmentStates) shows a path from this group with the group's current plans (in any state, an
        error being an outcome too). A state read too early, or a member added meanwhile, does not end the wait.
      - Also useful without a change, after members were added, to confirm their licenses.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true). The group's state is polled with backoff from 1 to 15 seconds; the members
        are read (999 per page) once the state says the processing is complete.
      - When the time is up the task fails, with the state Entra reported last and the members not reached yet
        (C(groups_pending), one entry for the group with its C(licenseProcessingState) and C(members_pending)).
    type: int
    default: 600
extends_documentation_fragment:
  - entra.licensing.graph_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Everything is computed and checked (seats, services lost), nothing is written.
      - A group that does not exist is taken for one an earlier task of the play creates (with a warning), so a
        check-mode run of a whole bootstrap play reports its licenses as additions instead of failing.
      - With O(wait=true), the current errors of the group's members are reported without waiting.
  diff_mode:
    support: full
    details: The diff lists the group's products with their enabled and disabled plans by name.
  platform:
    platforms: all
notes:
  - Needs the Graph application permissions C(LicenseAssignment.ReadWrite.All), C(Organization.Read.All),
    C(Group.Read.All) and C(User.Read.All) (to read the members' license states).
  - Every member who benefits from group-based licensing needs Microsoft Entra ID P1 or a product that includes it
    (Microsoft 365 E3, Office 365 E3, Business Premium, ...).
seealso:
  - module: entra.licensing.group
  - module: entra.licensing.group_member
  - module: entra.licensing.sku_info
  - module: entra.licensing.license_assignment_info
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: Office 365 E3 with every plan for the base group
  entra.licensing.group_license:
    group: O365_Licenses_E3_Base
    licenses:
      - sku: Office 365 E3
    wait: true
  register: base

- name: Office 365 E3 with only Exchange Online for the mailbox-only group
  entra.licensing.group_license:
    group: O365_Licenses_E3_Exchange
    licenses:
      - sku: Office 365 E3
        enabled_plans:
          - Exchange Online (Plan 2)
    wait: true

- name: The same, as a deny-list (new plans from Microsoft come on automatically)
  entra.licensing.group_license:
    group: O365_Licenses_E3_Teams
    licenses:
      - sku: ENTERPRISEPACK
        disabled_plans: [Microsoft Teams, SWAY]

- name: Fail the job when a member's license failed
  ansible.builtin.assert:
    that: base.members_with_errors | length == 0
    fail_msg: "{{ base.members_with_errors | map(attribute='userPrincipalName') | join(', ') }} got no license"

- name: The group holds exactly this product; removing others may cut services, accepted here
  entra.licensing.group_license:
    group: O365_Licenses_E3_Base
    licenses:
      - sku: Office 365 E3
    state: exact
    force: true

- name: Assign even if seats run short, and see who got CountViolation
  entra.licensing.group_license:
    group: O365_Licenses_EMS
    licenses:
      - sku: EMS
    capacity_check: warn
    wait: true
  register: ems
"""

RETURN = r"""
group_id:
  description: The group's object id (C(00000000-0000-0000-0000-000000000000) in check mode for a group not created yet).
  returned: always
  type: str
  sample: 1132b215-826f-42a9-8cfe-1643d19d17fd
assignedLicenses:
  description: The group's C(assignedLicenses) after the task (as they would be, in check mode), in Graph's shape.
  returned: success
  type: list
  elements: dict
  sample:
    - skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900
      disabledPlans: [57ff2da0-773e-42df-b2af-ffb7a2317929]
licenses:
  description: RV(assignedLicenses) with product and plan names, by product name.
  returned: success
  type: list
  elements: dict
  sample:
    - skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900
      skuPartNumber: ENTERPRISEPACK
      name: Office 365 E3
      disabledPlans: [57ff2da0-773e-42df-b2af-ffb7a2317929]
      enabledPlanNames: [Exchange Online (Plan 2), SharePoint (Plan 2)]
      disabledPlanNames: [Microsoft Teams]
added:
  description: The C(addLicenses) sent (or that would be sent), products new to the group and products whose plans change.
  returned: always
  type: list
  elements: dict
  sample: [{skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900, disabledPlans: []}]
removed:
  description: The C(removeLicenses) sent (or that would be sent), SKU GUIDs.
  returned: always
  type: list
  elements: str
  sample: []
plans_kept_off:
  description:
    - Service plans an O(licenses[].enabled_plans) allow-list keeps off that deserve a look. C(reason)
      is V(new) for a plan Microsoft added to the product after the collection's product table, V(was_enabled) for
      a plan that was on before this run.
  returned: always
  type: list
  elements: dict
  sample:
    - skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900
      sku: Office 365 E3
      servicePlanId: 0d0c0d31-fae7-41f2-b909-eaf4d7f26dba
      servicePlanName: Bing_Chat_Enterprise
      name: Commercial data protection for Microsoft Copilot
      reason: new
seats:
  description:
    - For each product new to the group, the members who would take a new seat and the seats available
      (C(prepaidUnits.enabled + prepaidUnits.warning - consumedUnits)).
    - Empty when no product is added or O(capacity_check=off).
  returned: always
  type: list
  elements: dict
  sample:
    - skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900
      skuPartNumber: ENTERPRISEPACK
      name: Office 365 E3
      needed: 12
      available: 3
      enabled: 25
      warning: 0
      consumed: 22
      sufficient: false
users_losing_service:
  description:
    - Members who lose service plans through this change and have no other path to them, one entry per user and
      product, with the plans by name. The change is refused unless O(force=true).
  returned: always
  type: list
  elements: dict
  sample:
    - id: 3f7a2c1e-9a51-4a4e-9d23-0c1d2e3f4a5b
      userPrincipalName: adele.vance@contoso.onmicrosoft.com
      skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900
      sku: Office 365 E3
      plans: [Microsoft Teams]
licenseProcessingState:
  description: The group's C(licenseProcessingState) as last read (after waiting, with O(wait=true)).
  returned: success
  type: dict
  sample: {state: ProcessingComplete}
members_with_errors:
  description:
    - With O(wait=true), the members whose license from this group failed, one entry per user and product, with
      Graph's C(state) and C(error) (C(CountViolation), C(MutuallyExclusiveViolation), C(DependencyViolation),
      C(ProhibitedInUsageLocationViolation), C(UniquenessViolation), C(Other)). A warning sums them up.
    - Taken from the members' C(licenseAssignmentStates) read at the end of the wait; in check mode, from the group's
      C(membersWithLicenseErrors) as they are now.
  returned: when O(wait=true)
  type: list
  elements: dict
  sample:
    - id: 3f7a2c1e-9a51-4a4e-9d23-0c1d2e3f4a5b
      userPrincipalName: megan.bowen@contoso.onmicrosoft.com
      skuId: efccb6f7-5641-4e0e-bd10-b4976e1bf68e
      skuPartNumber: EMS
      sku: Enterprise Mobility + Security E3
      state: Error
      error: CountViolation
      lastUpdatedDateTime: "2026-05-02T08:31:00Z"
"""

from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.group_licenses import (
    check_losses,
    check_seats,
    errors_warning,
    licensed_group,
    plan_licenses,
    settle,
    write_licenses,
)
from ansible_collections.entra.licensing.plugins.module_utils.licensing import (
    LICENSE_OPTIONS,
    LicensingError,
    resolve_licenses,
    seat_needs,
    service_losses,
)
from ansible_collections.entra.licensing.plugins.module_utils.licensing_graph import MEMBER_LICENSE_FIELDS, read_catalog, user_members
from ansible_collections.entra.licensing.plugins.module_utils.module import GraphModule


def main() -> None:
    module = GraphModule(
        argument_spec=dict(
            group=dict(type="str", required=True),
            licenses=dict(
                type="list",
                elements="dict",
                required=True,
                options=LICENSE_OPTIONS,
                mutually_exclusive=[("enabled_plans", "disabled_plans")],
            ),
            state=dict(type="str", default="present", choices=["present", "absent", "exact"]),
            capacity_check=dict(type="str", default="fail", choices=["fail", "warn", "off"]),
            force=dict(type="bool", default=False),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result: dict[str, Any] = {"changed": False, "added": [], "removed": [], "plans_kept_off": [], "seats": [], "users_losing_service": []}
    details: dict[str, Any] = {}
    try:
        client = module.client()
        catalog = read_catalog(client)
        desired = resolve_licenses(catalog, params["licenses"], with_plans=params["state"] != "absent")
        group, exists = licensed_group(client, params["group"], module.check_mode)
        if not exists:
            module.warn(f"Group '{params['group']}' does not exist; check mode assumes an earlier task creates it, and reports its licenses as new.")
        result["group_id"] = group["id"]
        plan = plan_licenses(catalog, group, exists, desired, state=params["state"], capacity_check=params["capacity_check"])
        result.update(plan.result(catalog))
        members = list(user_members(client, plan.group_id, MEMBER_LICENSE_FIELDS)) if plan.needs_members else []
        result["seats"] = seat_needs(plan.new, members)
        result["users_losing_service"] = service_losses(catalog, plan.group_id, members, plan.after) if plan.reduced else []
        check_seats(result["seats"], f"members of '{plan.name}'", params["capacity_check"], module.warn)
        check_losses(result["users_losing_service"], plan.name, params["force"])
        warning = plan.new_plans_warning()
        if warning:
            module.warn(warning)
        result["changed"] = bool(write_licenses(client, catalog, [plan], module.check_mode))
        result["licenseProcessingState"] = group.get("licenseProcessingState")
        if params["wait"]:
            outcome = settle(client, catalog, [plan], module.check_mode, params["wait_timeout"])[plan.group_id.lower()]
            result["licenseProcessingState"] = outcome.license_processing_state
            result["members_with_errors"] = outcome.members_with_errors
            result.update(plan.result(catalog, outcome.after))
            if outcome.members_with_errors:
                module.warn(errors_warning(outcome.members_with_errors, plan.name))
        if module.diff_mode:
            result["diff"] = plan.diff(catalog)
    except GraphError as error:
        if isinstance(error, LicensingError):
            details = error.details
        module.fail_graph_error(error, **{**result, **details})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
