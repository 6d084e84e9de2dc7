#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: license_assignment_info
short_description: Report who holds which Microsoft 365 product, through which path, and which assignments failed
version_added: 0.1.0
description:
  - The portal's "Licensed users" and "Assignment paths" views as data. For each user and product, every path the
    license comes by (a direct assignment, or a group with its id and name), the path's state and error, and its
    enabled and disabled service plans by name.
  - A user holding the same product directly and through a group shows two paths, which is what to look for before
    and after migrating direct licenses to groups.
  - Scope is given users (O(users)), a group's direct members (O(group)), one product (O(sku)), or, without any of
    them, every licensed user of the tenant.
  - Users are read 999 per page with only the fields needed, and each is reduced to a compact record as its page
    arrives, so memory stays flat on large tenants. Group names are looked up once per group, 20 per round trip.
  - RV(summary) counts users per product (direct, group, both, in error), failed paths per error code, and user and
    product pairs by path kind.
options:
  users:
    description:
      - Report these users, by user principal name or object id, 20 per round trip. Unknown users fail the task, all
        named at once.
      - Users without any license are included (with no RV(users[].licenses)).
    type: list
    elements: str
  group:
    description:
      - Report the direct user members of this group (by object id or exact display name), the users its licenses
        reach. Members without any license are included.
    type: str
  sku:
    description:
      - Report only this product (SKU GUID, part number or product name), for every user who holds it or whose path
        to it failed (found through the groups that carry the product).
    type: str
  only_errors:
    description:
      - Keep only products with a path in error (an error code, or a state other than C(Active)), and only users
        with such a product. The summary then counts only those.
    type: bool
    default: false
extends_documentation_fragment:
  - entra.licensing.graph_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - Needs the Graph application permissions C(User.Read.All), C(Group.Read.All) and C(Organization.Read.All).
  - Graph reports a healthy path's error as null or as the string C(None); both are returned as null.
seealso:
  - module: entra.licensing.group_license
  - module: entra.licensing.user_license
  - module: entra.licensing.sku_info
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: Licensing of the base group's members
  entra.licensing.license_assignment_info:
    group: O365_Licenses_E3_Base
  register: base

- name: Members who hold Office 365 E3 both directly and through a group (ready for the migration)
  ansible.builtin.debug:
    msg: >-
      {{ base.users | selectattr('licenses', 'search', 'ENTERPRISEPACK') | map(attribute='userPrincipalName') }}

- name: Every failed license assignment of the tenant
  entra.licensing.license_assignment_info:
    only_errors: true
  register: failures

- name: Fail the nightly audit on any license error
  ansible.builtin.assert:
    that: failures.summary.by_error | length == 0
    fail_msg: "License errors: {{ failures.summary.by_error }}"

- name: Who holds Office 365 E3, and how
  entra.licensing.license_assignment_info:
    sku: Office 365 E3
  register: e3

- name: Paths of one user
  entra.licensing.license_assignment_info:
    users: [adele.vance@contoso.onmicrosoft.com]
"""

RETURN = r"""
users:
  description: One record per user, in the order read (or given).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The user's object id.
      type: str
    userPrincipalName:
      description: The user's UPN.
      type: str
    displayName:
      description: The user's display name.
      type: str
    accountEnabled:
      description: Whether the account can sign in.
      type: bool
    usageLocation:
      description: The user's usage location, null when not set.
      type: str
    licenses:
      description: Per product (by name), the paths it comes by, direct first, then groups by name.
      type: list
      elements: dict
      contains:
        skuId:
          description: The product's GUID.
          type: str
        skuPartNumber:
          description: The product's part number.
          type: str
        name:
          description: The product's name.
          type: str
        state:
          description: V(Active) when any path gives the product, otherwise the state of its first path.
          type: str
        paths:
          description: Each assignment path, from C(licenseAssignmentStates).
          type: list
          elements: dict
  sample:
    - id: 3f7a2c1e-9a51-4a4e-9d23-0c1d2e3f4a5b
      userPrincipalName: adele.vance@contoso.onmicrosoft.com
      displayName: Adele Vance
      accountEnabled: true
      usageLocation: US
      licenses:
        - skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900
          skuPartNumber: ENTERPRISEPACK
          name: Office 365 E3
          state: Active
          paths:
            - direct: true
              assignedByGroup: null
              group_name: null
              state: Active
              error: null
              disabledPlans: []
              enabledPlanNames: [Exchange Online (Plan 2), Microsoft Teams]
              disabledPlanNames: []
              lastUpdatedDateTime: "2026-05-01T10:00:00Z"
            - direct: false
              assignedByGroup: 1132b215-826f-42a9-8cfe-1643d19d17fd
              group_name: O365_Licenses_E3_Base
              state: Active
              error: null
              disabledPlans: []
              enabledPlanNames: [Exchange Online (Plan 2), Microsoft Teams]
              disabledPlanNames: []
              lastUpdatedDateTime: "2026-05-02T08:30:00Z"
summary:
  description:
    - Counts over RV(users).
    - C(by_sku) per product, the users holding it at all, directly, through a group, both ways, and with a path in
      error; C(by_error) failed paths per error code (a path in error without a code counts under its state);
      C(assignment) user and product pairs by direct only, group only, or both.
  returned: always
  type: dict
  sample:
    users: 3
    licenses: 4
    by_sku:
      - {skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900, skuPartNumber: ENTERPRISEPACK, name: Office 365 E3,
         users: 2, direct: 2, group: 1, both: 1, errors: 0}
    by_error: {CountViolation: 2}
    assignment: {direct_only: 1, group_only: 2, both: 1}
"""

from collections.abc import Iterator
from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.client import GraphClient
from ansible_collections.entra.licensing.plugins.module_utils.directory import find_users, require_group
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.licensing import LicensingError
from ansible_collections.entra.licensing.plugins.module_utils.licensing_graph import (
    all_users,
    group_names,
    read_catalog,
    user_members,
    users_with_sku,
)
from ansible_collections.entra.licensing.plugins.module_utils.licensing_report import USER_REPORT_FIELDS, Summary, name_groups, user_view
from ansible_collections.entra.licensing.plugins.module_utils.module import GraphModule
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import CatalogError


def scoped_users(client: GraphClient, params: dict[str, Any], sku_id: str | None, names: dict[str, str | None]) -> Iterator[dict[str, Any]]:
    """The users in scope, as Graph's pages arrive; names of groups learned on the way go into ``names``."""
    if params["users"] is not None:
        found, missing = find_users(client, params["users"], USER_REPORT_FIELDS)
        if missing:
            raise GraphError(f"{len(missing)} user(s) do not exist in the tenant: {', '.join(missing)}", status=404, code="Request_ResourceNotFound")
        return iter(found.values())
    if params["group"] is not None:
        group = require_group(client, params["group"], ("id", "displayName"))
        names[group["id"].lower()] = group.get("displayName")
        return user_members(client, group["id"], USER_REPORT_FIELDS)
    if sku_id is not None:
        return users_with_sku(client, sku_id, USER_REPORT_FIELDS, names)
    return all_users(client, USER_REPORT_FIELDS)


def main() -> None:
    module = GraphModule(
        argument_spec=dict(
            users=dict(type="list", elements="str"),
            group=dict(type="str"),
            sku=dict(type="str"),
            only_errors=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("users", "group", "sku")],
        supports_check_mode=True,
    )
    params = module.params
    result: dict[str, Any] = {"changed": False, "users": [], "summary": Summary().result()}
    try:
        client = module.client()
        catalog = read_catalog(client)
        sku_id = None
        if params["sku"] is not None:
            try:
                sku_id = catalog.sku(params["sku"]).sku_id
            except CatalogError as error:
                raise LicensingError(str(error)) from None
        # Users are named explicitly or are the group's members: show them even without licenses.
        keep_unlicensed = params["users"] is not None or params["group"] is not None
        names: dict[str, str | None] = {}
        summary = Summary()
        records = []
        for user in scoped_users(client, params, sku_id, names):
            paths = user.get("licenseAssignmentStates") or []
            if sku_id is not None:
                paths = [path for path in paths if str(path.get("skuId")).lower() == sku_id]
            record = user_view(catalog, dict(user, licenseAssignmentStates=paths), {}, params["only_errors"])
            if record["licenses"] or (keep_unlicensed and not params["only_errors"]):
                records.append(record)
                summary.add(record)
        unnamed = {path["assignedByGroup"] for record in records for view in record["licenses"] for path in view["paths"] if path["assignedByGroup"]}
        unnamed -= set(names)
        if unnamed:
            names.update(group_names(client, unnamed))
        name_groups(records, names)
        result["users"] = records
        result["summary"] = summary.result()
    except GraphError as error:
        module.fail_graph_error(error, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
