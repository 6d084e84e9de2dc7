#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: group_info
short_description: Find Microsoft Entra ID groups with their licenses, processing state and license errors
version_added: 0.1.0
description:
  - Finds groups by object id, exact display name or an OData filter, and returns what group-based licensing needs
    to know about each - the products assigned with their service plans by name, whether Entra has finished applying
    them (C(licenseProcessingState)), how many direct members the group has, and whether any member has a license
    error.
  - No match returns an empty list, never an error.
  - Reads only; the same number of round trips whatever the number of groups, plus one per 20 groups for member counts.
options:
  name:
    description:
      - Exact display name (Entra compares names case-insensitively). Several groups can share a name; all are returned.
    type: str
  id:
    description:
      - Object id of the group.
    type: str
  filter:
    description:
      - An OData C($filter) over groups, for example C(startswith(displayName,'O365_Licenses_')) or
        C(assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)).
      - Sent as written; quote string values yourself (a quote inside a value is written twice).
    type: str
  advanced_query:
    description:
      - Send the filter as an advanced query (header C(ConsistencyLevel=eventual) and C($count=true)), which Graph requires
        for C(ne), C(not), C(endswith) and C(eq null). Results of advanced queries are eventually consistent.
    type: bool
    default: false
  member_count:
    description:
      - Count the direct members of each group (one extra round trip per 20 groups).
    type: bool
    default: true
extends_documentation_fragment:
  - entra.licensing.graph_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads, in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - Without O(name), O(id) or O(filter), every group of the tenant is returned.
seealso:
  - module: entra.licensing.group
  - module: entra.licensing.license_assignment_info
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: The story's groups and their licenses
  entra.licensing.group_info:
    filter: startswith(displayName,'O365_Licenses_E3_')
  register: license_groups

- name: Fail when Entra has not finished, or a member has an error
  ansible.builtin.assert:
    that:
      - item.licenseProcessingState.state == 'ProcessingComplete'
      - not item.hasMembersWithLicenseErrors
  loop: "{{ license_groups.groups }}"
  loop_control:
    label: "{{ item.displayName }}"

- name: Groups synced from on-premises AD
  entra.licensing.group_info:
    filter: onPremisesSyncEnabled eq true
"""

RETURN = r"""
groups:
  description: The groups found, with Graph's property names and the collection's additions.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Object id.
      type: str
    displayName:
      description: Display name.
      type: str
    description:
      description: Description.
      type: str
    groupTypes:
      description: C(DynamicMembership) for dynamic groups, C(Unified) for Microsoft 365 groups.
      type: list
      elements: str
    membershipRule:
      description: The dynamic membership rule, or null.
      type: str
    membershipRuleProcessingState:
      description: V(On) or V(Paused) for dynamic groups.
      type: str
    onPremisesSyncEnabled:
      description: True when the group is synced from on-premises AD.
      type: bool
    onPremisesSecurityIdentifier:
      description: The on-premises SID of a synced group.
      type: str
    assignedLicenses:
      description: Graph's assigned licenses (skuId, disabledPlans).
      type: list
      elements: dict
    licenses:
      description: The assigned licenses with product and plan names.
      type: list
      elements: dict
      sample:
        - skuId: 6fd2c87f-b296-42f0-b197-1e91e994b900
          skuPartNumber: ENTERPRISEPACK
          name: Office 365 E3
          disabledPlans: []
          enabledPlanNames: [Exchange Online (Plan 2), Microsoft Teams]
          disabledPlanNames: []
    licenseProcessingState:
      description: One key, C(state), with V(QueuedForProcessing), V(ProcessingInProgress) or V(ProcessingComplete).
      type: dict
    memberCount:
      description: Number of direct members (absent when O(member_count=false)).
      type: int
    hasMembersWithLicenseErrors:
      description: Whether any member has a license error from this group.
      type: bool
  sample:
    - id: 1132b215-826f-42a9-8cfe-1643d19d17fd
      displayName: O365_Licenses_E3_Base
      groupTypes: []
      licenseProcessingState: {state: ProcessingComplete}
      memberCount: 12
      hasMembersWithLicenseErrors: false
"""

from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.client import BatchRequest, GraphClient, raise_for_status
from ansible_collections.entra.licensing.plugins.module_utils.directory import GROUP_FIELDS, GROUP_LICENSE_FIELDS, get_group, select
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.module import GraphModule
from ansible_collections.entra.licensing.plugins.module_utils.odata import quote
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog

FIELDS = GROUP_FIELDS + GROUP_LICENSE_FIELDS
EVENTUAL = {"ConsistencyLevel": "eventual"}


def find_groups(client: GraphClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    if params.get("id"):
        group = get_group(client, params["id"], FIELDS)
        return [group] if group else []
    clauses = []
    if params.get("name"):
        clauses.append(f"displayName eq {quote(params['name'])}")
    if params.get("filter"):
        clauses.append(f"({params['filter']})")
    query: dict[str, Any] = {"$select": select(FIELDS), "$top": "999"}
    headers = None
    if clauses:
        query["$filter"] = " and ".join(clauses)
    if params["advanced_query"]:
        query["$count"] = "true"
        headers = EVENTUAL
    return [{k: v for k, v in group.items() if not k.startswith("@odata")} for group in client.iterate("/groups", params=query, headers=headers)]


def groups_with_errors(client: GraphClient) -> set[str]:
    """Ids of groups with a member in license error; Graph never returns this property, it only filters by it."""
    query = {"$filter": "hasMembersWithLicenseErrors eq true", "$select": "id", "$count": "true", "$top": "999"}
    return {group["id"].lower() for group in client.iterate("/groups", params=query, headers=EVENTUAL)}


def member_counts(client: GraphClient, groups: list[dict[str, Any]]) -> dict[str, int]:
    """Direct member counts, 20 groups per round trip (``@odata.count`` of a one-item page)."""
    asks = [BatchRequest("GET", f"/groups/{group['id']}/members?$count=true&$top=1&$select=id", headers=EVENTUAL) for group in groups]
    counts = {}
    for group, response in zip(groups, client.batch(asks), strict=True):
        body = raise_for_status(response, f"count members of {group['displayName']}").body or {}
        counts[group["id"]] = int(body.get("@odata.count", len(body.get("value", []))))
    return counts


def main() -> None:
    module = GraphModule(
        argument_spec=dict(
            name=dict(type="str"),
            id=dict(type="str"),
            filter=dict(type="str"),
            advanced_query=dict(type="bool", default=False),
            member_count=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("id", "name"), ("id", "filter")],
        supports_check_mode=True,
    )
    params = module.params
    groups: list[dict[str, Any]] = []
    try:
        client = module.client()
        groups = find_groups(client, params)
        if groups:
            with_errors = groups_with_errors(client)
            counts = member_counts(client, groups) if params["member_count"] else {}
            catalog = Catalog(client.get("/subscribedSkus").get("value", [])) if any(g.get("assignedLicenses") for g in groups) else None
            for group in groups:
                group["hasMembersWithLicenseErrors"] = group["id"].lower() in with_errors
                if params["member_count"]:
                    group["memberCount"] = counts[group["id"]]
                group["licenses"] = [catalog.describe(item) for item in group.get("assignedLicenses") or []] if catalog else []
    except GraphError as error:
        module.fail_graph_error(error, groups=[])
    module.exit_json(changed=False, groups=groups)


if __name__ == "__main__":
    main()
