#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: user_license
short_description: Manage the Microsoft 365 products assigned directly to a Microsoft Entra ID user
version_added: 0.1.0
description:
  - Manages a user's B(direct) license assignments; licenses a user gets from groups are managed on the groups
    (M(entra.licensing.group_license)) and are never touched here, as Graph does not allow it.
  - Products and plans are accepted as GUIDs, part numbers or names ("Office 365 E3", "Exchange Online (Plan 2)"),
    with the same O(licenses) format as M(entra.licensing.group_license), all validated before any write.
  - The usage location is set first when O(usage_location) is given. Direct licenses need one; a user without it
    fails before any write with a clear message.
  - Seats are checked before a product is added; without a free seat the task fails before any write, with the
    numbers.
  - O(require_group_coverage=true) is the safe step of a migration from direct to group-based licensing. A direct
    license is removed only where the user already holds the same product through an B(Active) group path whose
    enabled plans cover every plan the direct license enables, so no service is interrupted; elsewhere it stays,
    and RV(not_removed) says why.
  - O(reprocess=true) asks Entra to evaluate the user's group-based licenses again, for instance after freeing seats
    for a user in C(CountViolation).
options:
  user:
    description:
      - The user, by user principal name or object id.
    type: str
    required: true
  licenses:
    description:
      - The products, each once; see M(entra.licensing.group_license) for O(licenses[].enabled_plans) and
        O(licenses[].disabled_plans).
      - With O(state=absent), only O(licenses[].sku) matters.
    type: list
    elements: dict
    default: []
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
          - A deny-list of service plans; every other plan is on. Without either list, every plan is on.
        type: list
        elements: str
  state:
    description:
      - V(present) assigns the listed products directly and sets their plans; other direct assignments stay.
      - V(absent) without O(require_group_coverage) means the user must not hold the listed products. Their direct
        assignments are removed. If a group gives the user one of them, the task fails before any write, with
        Graph's own message and the groups to leave, since removing the direct assignment would not take the product
        away.
      - V(absent) with O(require_group_coverage=true) means the direct assignments are replaced by groups. Each is
        removed only where groups cover it; a product the user holds only through groups is already in that state.
      - V(exact) makes the listed products the user's only B(direct) assignments, removing the other direct ones;
        group paths do not count and are never touched.
    type: str
    choices: [present, absent, exact]
    default: present
  usage_location:
    description:
      - The user's usage location, a two-letter country code (ISO 3166-1), set before any license is assigned.
      - Direct assignments need one (Graph refuses them otherwise); group-based licenses fall back to the tenant's
        country when the user has none.
    type: str
  require_group_coverage:
    description:
      - Remove a direct assignment (with O(state=absent), or an unlisted one with O(state=exact)) only when the user
        holds the same product through at least one group path in state C(Active), and the active group paths
        together enable every plan the direct assignment enables.
      - Direct assignments kept for lack of coverage are listed in RV(not_removed) with the reason, and a warning is
        given.
    type: bool
    default: false
  reprocess:
    description:
      - Call C(reprocessLicenseAssignment) for the user when one of their group paths is not plainly C(Active)
        (state C(Error), C(ActiveWithError) or C(Disabled), or an error code), after any change made by this task.
      - A user whose group paths are all active is left alone, so reruns stay quiet. The task reports a change only
        when reprocessing changed a path's state, error or plans; in check mode, when it would reprocess.
    type: bool
    default: false
extends_documentation_fragment:
  - entra.licensing.graph_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Everything is checked; the returned licenses are Entra's expected result, nothing is written.
  diff_mode:
    support: full
    details: The diff shows the usage location and the direct assignments with plan names.
  platform:
    platforms: all
notes:
  - Needs the Graph application permissions C(LicenseAssignment.ReadWrite.All), C(Organization.Read.All),
    C(User.Read.All), C(Group.Read.All) (group names), and C(User.ReadWrite.All) for O(usage_location) and
    O(reprocess).
seealso:
  - module: entra.licensing.group_license
  - module: entra.licensing.license_assignment_info
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: A contractor gets Exchange Online only, directly
  entra.licensing.user_license:
    user: contractor@contoso.onmicrosoft.com
    usage_location: DE
    licenses:
      - sku: Office 365 E3
        enabled_plans: [Exchange Online (Plan 2)]

- name: Migration step - drop direct Office 365 E3 where the E3 groups already cover it
  entra.licensing.user_license:
    user: "{{ item }}"
    licenses:
      - sku: Office 365 E3
    state: absent
    require_group_coverage: true
  loop: "{{ migrating_users }}"
  register: migration

- name: Users whose direct license stays, and why
  ansible.builtin.debug:
    msg: "{{ migration.results | selectattr('not_removed') | map(attribute='not_removed') | flatten }}"

- name: Seats were freed - let Entra retry a user in CountViolation
  entra.licensing.user_license:
    user: megan.bowen@contoso.onmicrosoft.com
    reprocess: true

- name: The user's only direct assignment is Visio; group licenses stay as they are
  entra.licensing.user_license:
    user: adele.vance@contoso.onmicrosoft.com
    licenses:
      - sku: Visio Plan 2
    state: exact
"""

RETURN = r"""
user:
  description: The user's id, user principal name and usage location after the task.
  returned: success
  type: dict
  sample: {id: 3f7a2c1e-9a51-4a4e-9d23-0c1d2e3f4a5b, userPrincipalName: adele.vance@contoso.onmicrosoft.com, usageLocation: US}
added:
  description: The C(addLicenses) sent (or that would be sent).
  returned: always
  type: list
  elements: dict
  sample: [{skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900, disabledPlans: []}]
removed:
  description: The C(removeLicenses) sent (or that would be sent), SKU GUIDs.
  returned: always
  type: list
  elements: str
  sample: [6fd2c87f-b296-42f0-b197-1e91e994b900]
not_removed:
  description: Direct assignments kept because O(require_group_coverage) found the groups do not cover them, with the reason.
  returned: always
  type: list
  elements: dict
  sample:
    - skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900
      sku: Office 365 E3
      reason: "no group path is active yet: 'O365_Licenses_E3_Base' (Error, CountViolation)"
inherited_from:
  description: On failure because a group gives a product O(state=absent) was asked to remove, the products and groups.
  returned: failure
  type: list
  elements: dict
  sample:
    - skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900
      sku: Office 365 E3
      groups: [{id: 1132b215-826f-42a9-8cfe-1643d19d17fd, displayName: O365_Licenses_E3_Base}]
reprocessed:
  description: Whether C(reprocessLicenseAssignment) was called (would be, in check mode).
  returned: always
  type: bool
  sample: false
assignedLicenses:
  description: The user's C(assignedLicenses) after the task, in Graph's shape (one entry per product, all paths merged).
  returned: success
  type: list
  elements: dict
  sample: [{skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900, disabledPlans: []}]
licenseAssignmentStates:
  description: The user's C(licenseAssignmentStates) after the task, in Graph's shape (one entry per path).
  returned: success
  type: list
  elements: dict
  sample:
    - {assignedByGroup: null, skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900, disabledPlans: [], state: Active, error: None}
licenses:
  description:
    - Per product, the user's paths to it after the task, as M(entra.licensing.license_assignment_info) reports them
      (direct, or group id and name; state; error; plans by name).
  returned: success
  type: list
  elements: dict
  sample:
    - skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900
      skuPartNumber: ENTERPRISEPACK
      name: Office 365 E3
      state: Active
      paths:
        - {direct: true, assignedByGroup: null, group_name: null, state: Active, error: null, disabledPlans: [],
           enabledPlanNames: [Exchange Online (Plan 2)], disabledPlanNames: [], lastUpdatedDateTime: "2026-05-01T10:00:00Z"}
"""

import re
from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.client import GraphClient
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.licensing import (
    LICENSE_OPTIONS,
    LicenseChange,
    LicensingError,
    apply_direct_change,
    as_assigned_licenses,
    direct_assignments,
    holds_seat,
    licenses_diff,
    merged_assignments,
    needs_reprocessing,
    path_states,
    plan_direct_change,
    resolve_licenses,
    seat_needs,
    shortfall_message,
)
from ansible_collections.entra.licensing.plugins.module_utils.licensing_graph import (
    assign_licenses,
    group_names,
    path_group_ids,
    read_user,
    read_user_and_catalog,
    reprocess,
    set_usage_location,
)
from ansible_collections.entra.licensing.plugins.module_utils.licensing_report import license_views
from ansible_collections.entra.licensing.plugins.module_utils.module import GraphModule
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog

COUNTRY = re.compile(r"^[A-Z]{2}$")


def ensure_usage_location(client: GraphClient, user: dict[str, Any], wanted: str | None, check_mode: bool) -> bool:
    if not wanted or wanted == user.get("usageLocation"):
        return False
    if not check_mode:
        set_usage_location(client, user["id"], wanted)
    return True


def ensure_direct_licenses(client: GraphClient, catalog: Catalog, user_id: str, change: LicenseChange, check_mode: bool) -> bool:
    if not change.changed:
        return False
    if not check_mode:
        assign_licenses(client, f"/users/{user_id}", change, catalog)
    return True


def ensure_reprocessed(client: GraphClient, user: dict[str, Any], check_mode: bool) -> tuple[bool, dict[str, Any]]:
    """Reprocess when a group path is in trouble; changed when a path's state, error or plans changed."""
    paths = user.get("licenseAssignmentStates") or []
    if not needs_reprocessing(paths):
        return False, user
    if check_mode:
        return True, user
    reprocess(client, user["id"])
    after = read_user(client, user["id"])
    return path_states(paths) != path_states(after.get("licenseAssignmentStates") or []), after


def check_assignable(user: dict[str, Any], change: LicenseChange, seats: list[dict[str, Any]], location: str | None) -> None:
    """Refuse, before any write, what Graph would refuse: no usage location, or no free seat."""
    who = user.get("userPrincipalName") or user["id"]
    if change.add and not location:
        raise LicensingError(
            f"User {who} has no usage location, and direct licenses need one (Graph: 'License assignment cannot be done for user "
            "with invalid usage location.'). Set usage_location, for example usage_location: US. Nothing was changed."
        )
    short = shortfall_message(seats, who)
    if short:
        raise LicensingError(f"{short} Nothing was changed.", details={"seats": seats})


def main() -> None:
    module = GraphModule(
        argument_spec=dict(
            user=dict(type="str", required=True),
            licenses=dict(type="list", elements="dict", default=[], options=LICENSE_OPTIONS, mutually_exclusive=[("enabled_plans", "disabled_plans")]),
            state=dict(type="str", default="present", choices=["present", "absent", "exact"]),
            usage_location=dict(type="str"),
            require_group_coverage=dict(type="bool", default=False),
            reprocess=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    location = params["usage_location"].strip().upper() if params["usage_location"] else None
    if location is not None and not COUNTRY.match(location):
        module.fail_json(msg=f"usage_location '{params['usage_location']}' is not a two-letter country code (ISO 3166-1), such as US, DE or JP")
    result: dict[str, Any] = {"changed": False, "added": [], "removed": [], "not_removed": [], "reprocessed": False}
    details: dict[str, Any] = {}
    try:
        client = module.client()
        user, catalog = read_user_and_catalog(client, params["user"])
        desired = resolve_licenses(catalog, params["licenses"], with_plans=params["state"] != "absent")
        paths = user.get("licenseAssignmentStates") or []
        groups = path_group_ids([user])
        names = group_names(client, groups) if groups else {}
        plan = plan_direct_change(catalog, user, desired, state=params["state"], require_group_coverage=params["require_group_coverage"], group_names=names)
        result["added"] = plan.change.body()["addLicenses"]
        result["removed"] = plan.change.remove
        result["not_removed"] = plan.kept
        if plan.kept:
            module.warn("Direct licenses kept, their groups do not cover them: " + "; ".join(f"{kept['sku']}: {kept['reason']}" for kept in plan.kept))
        new = [item for item in plan.change.add if not holds_seat(user, item.sku_id)]
        check_assignable(user, plan.change, seat_needs(new, [user]), location or user.get("usageLocation"))

        changed = ensure_usage_location(client, user, location, module.check_mode)
        changed |= ensure_direct_licenses(client, catalog, user["id"], plan.change, module.check_mode)
        if module.check_mode:
            after = dict(user, usageLocation=location or user.get("usageLocation"), licenseAssignmentStates=apply_direct_change(paths, plan.change))
            after["assignedLicenses"] = as_assigned_licenses(catalog, merged_assignments(catalog, after["licenseAssignmentStates"]))
        else:
            after = read_user(client, user["id"]) if changed else user
        if params["reprocess"]:
            result["reprocessed"] = needs_reprocessing(after.get("licenseAssignmentStates") or [])
            reprocessed, after = ensure_reprocessed(client, after, module.check_mode)
            changed |= reprocessed
        result["changed"] = changed
        after_paths = after.get("licenseAssignmentStates") or []
        new_groups = path_group_ids([after]) - set(names)
        if new_groups:
            names.update(group_names(client, new_groups))
        result["user"] = {key: after.get(key) for key in ("id", "userPrincipalName", "usageLocation")}
        result["assignedLicenses"] = after.get("assignedLicenses") or []
        result["licenseAssignmentStates"] = after_paths
        result["licenses"] = license_views(catalog, after_paths, names)
        if module.diff_mode:
            result["diff"] = {
                "before": {"usageLocation": user.get("usageLocation"), "direct_licenses": licenses_diff(catalog, direct_assignments(paths))},
                "after": {"usageLocation": after.get("usageLocation"), "direct_licenses": licenses_diff(catalog, direct_assignments(after_paths))},
            }
    except GraphError as error:
        if isinstance(error, LicensingError):
            details = error.details
        module.fail_graph_error(error, **{**result, **details})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
