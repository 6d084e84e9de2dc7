#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sku_info
short_description: List the Microsoft 365 products of a tenant with seats and service plans
version_added: 0.1.0
description:
  - Returns the products (SKUs) the tenant subscribes to, as C(GET /subscribedSkus) does, with the names people use
    ("Office 365 E3", "Exchange Online (Plan 2)") beside Graph's part numbers and GUIDs.
  - Each product has its seats (enabled, consumed, suspended, warning, locked out, and the seats still available) and
    its service plans with their provisioning status.
  - Friendly names come from Microsoft's published product table bundled with the collection; products and plans
    newer than the table keep their Graph names.
  - One request, whatever the number of products.
options:
  sku:
    description:
      - Only these products, each by SKU GUID, part number (C(ENTERPRISEPACK)) or product name (C(Office 365 E3)),
        case-insensitive.
      - An unknown or ambiguous name fails with the closest names the tenant has.
      - Without it, every product of the tenant is returned.
    type: list
    elements: str
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
  - Needs the Graph application permission C(Organization.Read.All).
seealso:
  - module: entra.licensing.group_license
  - module: entra.licensing.license_assignment_info
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: Seats left for the products the story assigns
  entra.licensing.sku_info:
    sku:
      - Office 365 E3
      - EMS
  register: products

- name: Stop before assigning when Office 365 E3 is short of seats
  ansible.builtin.assert:
    that: (products.skus | selectattr('skuPartNumber', 'eq', 'ENTERPRISEPACK') | first).available >= 10
    fail_msg: Fewer than 10 Office 365 E3 seats are free

- name: Every product of the tenant
  entra.licensing.sku_info:
  register: all_products

- name: Names of the service plans of Office 365 E3
  ansible.builtin.debug:
    msg: "{{ (all_products.skus | selectattr('name', 'eq', 'Office 365 E3') | first).servicePlans | map(attribute='name') }}"
"""

RETURN = r"""
skus:
  description:
    - The products, in the order asked (or the tenant's order).
    - Graph's fields keep Graph's names; RV(skus[].name), RV(skus[].available) and RV(skus[].servicePlans[].name)
      are added by the collection.
  returned: always
  type: list
  elements: dict
  contains:
    skuId:
      description: The product's GUID.
      type: str
      sample: 6fd2c87f-b296-42f0-b197-1e91e994b900
    skuPartNumber:
      description: The product's part number (the C(String_Id) of Microsoft's table).
      type: str
      sample: ENTERPRISEPACK
    name:
      description: The product's name as Microsoft publishes it; the part number for a product the table does not know.
      type: str
      sample: Office 365 E3
    capabilityStatus:
      description: V(Enabled), V(Warning), V(Suspended), V(Deleted) or V(LockedOut).
      type: str
      sample: Enabled
    appliesTo:
      description: V(User) or V(Company).
      type: str
      sample: User
    prepaidUnits:
      description: Seats by subscription status.
      type: dict
      sample: {enabled: 25, suspended: 0, warning: 0, lockedOut: 0}
    consumedUnits:
      description: Seats in use (a user holding the product through several paths uses one).
      type: int
      sample: 14
    available:
      description:
        - Seats that can still be assigned, C(prepaidUnits.enabled + prepaidUnits.warning - consumedUnits), never
          below 0.
        - Units in warning belong to a subscription in its grace period and can still be assigned; suspended and
          locked-out units cannot.
      type: int
      sample: 11
    subscriptionIds:
      description: The subscriptions behind the product.
      type: list
      elements: str
      sample: [43d26afe-cb98-48b9-acc4-ae3ef2ac6c51]
    servicePlans:
      description: The product's service plans in this tenant.
      type: list
      elements: dict
      contains:
        servicePlanId:
          description: The plan's GUID.
          type: str
        servicePlanName:
          description: The plan's name in Graph.
          type: str
        name:
          description: The plan's friendly name from Microsoft's table; RV(skus[].servicePlans[].servicePlanName) for a plan it does not know.
          type: str
        provisioningStatus:
          description: V(Success), V(Disabled), V(Error), V(PendingInput), V(PendingActivation) or V(PendingProvisioning).
          type: str
        appliesTo:
          description: V(User) or V(Company).
          type: str
      sample:
        - servicePlanId: efb87545-963c-4e0d-99df-69c6916d9eb0
          servicePlanName: EXCHANGE_S_ENTERPRISE
          name: Exchange Online (Plan 2)
          provisioningStatus: Success
          appliesTo: User
"""

from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.licensing import LicensingError
from ansible_collections.entra.licensing.plugins.module_utils.licensing_graph import subscribed_skus
from ansible_collections.entra.licensing.plugins.module_utils.licensing_report import sku_view
from ansible_collections.entra.licensing.plugins.module_utils.module import GraphModule
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog, CatalogError


def select_skus(catalog: Catalog, references: list[str] | None) -> list[dict[str, Any]]:
    """The subscribedSku entries asked for, each named once, every unknown name reported together."""
    if references is None:
        return [sku.subscribed for sku in catalog.skus]
    chosen: dict[str, dict[str, Any]] = {}
    problems = []
    for reference in references:
        try:
            sku = catalog.sku(reference)
        except CatalogError as error:
            problems.append(str(error))
            continue
        chosen.setdefault(sku.sku_id, sku.subscribed)
    if problems:
        raise LicensingError(" ".join(problems))
    return list(chosen.values())


def main() -> None:
    module = GraphModule(argument_spec=dict(sku=dict(type="list", elements="str")), supports_check_mode=True)
    result: dict[str, Any] = {"changed": False, "skus": []}
    try:
        catalog = Catalog(subscribed_skus(module.client()))
        result["skus"] = [sku_view(catalog, entry) for entry in select_skus(catalog, module.params["sku"])]
    except GraphError as error:
        module.fail_graph_error(error, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
