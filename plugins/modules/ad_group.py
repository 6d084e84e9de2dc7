#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ad_group
short_description: Create, update and delete on-premises Active Directory groups over LDAPS or StartTLS
version_added: 0.1.0
description:
  - Manages a group in on-premises Active Directory over LDAP with the Python C(ldap3) library, so it runs wherever
    Ansible runs (the controller or an execution environment), with no Windows host in between.
  - The group is found by O(sam_account_name), which is unique in the domain. It must sit in O(path) and be named
    O(name); renaming and moving groups is not supported (a group found elsewhere, or under another name, fails with
    its DN), because moving a licensing group out of the OUs AD Connect syncs would delete it in Entra ID and take
    its licenses from every member.
  - Only the properties given are managed; a second run with the same options changes nothing and sends no LDAP write.
  - Members are found by sAMAccountName, userPrincipalName or DN. Every member is looked up before anything is
    written, and members that do not exist fail the task with their names, whatever O(members_state).
  - "Hybrid licensing: a security group created in an OU that Microsoft Entra Connect (AD Connect) synchronizes reaches
    Entra ID with the next sync cycle (or at once with M(entra.licensing.adsync_cycle)), where it appears with
    C(onPremisesSyncEnabled=true) and its objectSid as C(onPremisesSecurityIdentifier) (this module's RV(object_sid)).
    Licenses are then given to it in Entra ID with M(entra.licensing.group_license); its members stay managed here."
options:
  name:
    description:
      - The group's name (its C(CN) and C(name)), for example C(O365_Licenses_E3_Base).
      - Commas, quotes, leading spaces and the like are escaped in the DN (RFC 4514); they need no escaping here.
    type: str
    required: true
  path:
    description:
      - The distinguished name of the OU (or container) the group lives in, for example
        C(OU=Licensing,OU=Entra,DC=corp,DC=contoso,DC=com). It must exist.
      - Required when O(state=present). With O(state=absent) it is optional and, when given, the group is only
        deleted if it is in this OU.
    type: str
  sam_account_name:
    description:
      - The pre-Windows 2000 name (sAMAccountName), which identifies the group in the domain.
      - Defaults to O(name). Active Directory refuses the characters C("/\[]:;|=,+*?<>) in it and a trailing
        period, so give it explicitly when O(name) contains them.
    type: str
  scope:
    description:
      - The group scope. When not given, a new group is V(global) and an existing group keeps its scope.
      - Active Directory cannot turn a V(global) group into a V(domainlocal) group or back directly; the module
        converts it through V(universal) (two writes).
    type: str
    choices: [global, universal, domainlocal]
  category:
    description:
      - V(security) groups can be given licenses in Entra ID and permissions on resources; V(distribution) groups
        are for mail only and cannot carry licenses.
    type: str
    choices: [security, distribution]
    default: security
  description:
    description:
      - The group's description. An empty string removes it.
    type: str
  members:
    description:
      - Members, each given as a sAMAccountName (C(BenW)), a userPrincipalName (C(BenW@contoso.com)) or a
        distinguished name (any value containing C(=)). Users, groups, computers and contacts can be members.
      - When not given, the members are not managed.
    type: list
    elements: str
  members_state:
    description:
      - V(present) adds the O(members) missing from the group, V(absent) removes the O(members) it has, and V(exact)
        makes the group's members exactly O(members) (V(exact) with O(members=[]) removes every member).
    type: str
    choices: [present, absent, exact]
    default: present
  state:
    description:
      - V(present) creates or updates the group; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - entra.licensing.ldap_connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Members are looked up in check mode too, so unknown members fail it just as they would fail a real run.
      - A group created in check mode is returned with RV(object_sid=S-1-5-0000) and
        RV(object_guid=00000000-0000-0000-0000-000000000000).
  diff_mode:
    support: full
    details: The diff shows the group's DN, names, scope, category, description and members before and after.
  platform:
    platforms: all
notes:
  - The account in O(bind_dn) needs the right to create and delete group objects in O(path) and to write their
    C(member), C(description) and C(groupType) attributes (Active Directory's "Delegate Control" wizard task
    "Create, delete and manage groups" on that OU grants them); Domain Admins is not needed.
  - Groups with more than 1500 members are read in full (LDAP range retrieval).
seealso:
  - module: entra.licensing.adsync_cycle
  - module: entra.licensing.group_license
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: The licensing groups, in an OU that AD Connect syncs
  entra.licensing.ad_group:
    name: "{{ item.name }}"
    description: "{{ item.description }}"
    path: OU=Licensing,OU=Entra,DC=corp,DC=contoso,DC=com
    scope: universal
    server: dc01.corp.contoso.com
    bind_dn: svc-ansible@corp.contoso.com
    bind_password: "{{ ad_bind_password }}"
    ca_bundle: /etc/pki/ca-trust/source/anchors/contoso-root-ca.pem
  loop:
    - name: O365_Licenses_E3_Base
      description: Office 365 E3, every service plan
    - name: O365_Licenses_E3_Exchange
      description: Office 365 E3, Exchange Online (Plan 2) only

- name: A joiner gets the base licenses (connection options from AD_LDAP_SERVER, AD_BIND_DN, ...)
  entra.licensing.ad_group:
    name: O365_Licenses_E3_Base
    path: OU=Licensing,OU=Entra,DC=corp,DC=contoso,DC=com
    members:
      - BenW
      - ChristieC@contoso.com
      - CN=Enrico Cattaneo,OU=Users,OU=Entra,DC=corp,DC=contoso,DC=com

- name: A leaver loses the Exchange add-on
  entra.licensing.ad_group:
    name: O365_Licenses_E3_Exchange
    path: OU=Licensing,OU=Entra,DC=corp,DC=contoso,DC=com
    members: [IrvinS]
    members_state: absent

- name: Bring the groups to Entra ID now rather than at the next scheduled sync
  entra.licensing.adsync_cycle:
    policy_type: Delta
  delegate_to: aadconnect01.corp.contoso.com

- name: The Exchange add-on group holds exactly these users, over StartTLS
  entra.licensing.ad_group:
    name: O365_Licenses_E3_Exchange
    path: OU=Licensing,OU=Entra,DC=corp,DC=contoso,DC=com
    members: [BenW, ChristieC]
    members_state: exact
    encryption: start_tls

- name: Retire a group
  entra.licensing.ad_group:
    name: O365_Licenses_E3_Pilot
    path: OU=Licensing,OU=Entra,DC=corp,DC=contoso,DC=com
    state: absent
"""

RETURN = r"""
dn:
  description:
    - The group's distinguished name, as the domain controller spells it.
    - With O(state=absent), the DN of the deleted group; V(null) when there was no group.
  returned: always
  type: str
  sample: CN=O365_Licenses_E3_Base,OU=Licensing,OU=Entra,DC=corp,DC=contoso,DC=com
name:
  description: The group's name (the value of its RDN).
  returned: when the group exists or was deleted
  type: str
  sample: O365_Licenses_E3_Base
sam_account_name:
  description: The group's sAMAccountName (what Entra ID shows as C(onPremisesSamAccountName)).
  returned: when the group exists or was deleted
  type: str
  sample: O365_Licenses_E3_Base
object_sid:
  description:
    - The objectSid in its string form, which Entra ID shows as C(onPremisesSecurityIdentifier) once the group is synced.
    - V(S-1-5-0000) for a group created in check mode.
  returned: when the group exists or was deleted
  type: str
  sample: S-1-5-21-1910017224-3960141332-2366340414-1105
object_guid:
  description:
    - The objectGUID, the group's immutable identity in the directory.
    - V(00000000-0000-0000-0000-000000000000) for a group created in check mode.
  returned: when the group exists or was deleted
  type: str
  sample: 5a1f3c7e-2b4d-4e6f-8a9b-0c1d2e3f4a5b
scope:
  description: The group scope.
  returned: when the group exists or was deleted
  type: str
  sample: universal
category:
  description: The group category.
  returned: when the group exists or was deleted
  type: str
  sample: security
description:
  description: The group's description, V(null) when it has none.
  returned: when the group exists or was deleted
  type: str
  sample: Office 365 E3, every service plan
members:
  description: The DNs of the group's direct members after the task, sorted.
  returned: when the group exists or was deleted
  type: list
  elements: str
  sample: [CN=Ben Walters,OU=Users,OU=Entra,DC=corp,DC=contoso,DC=com]
"""

import re
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.entra.licensing.plugins.module_utils.ldap import (
    LDAP_CONNECTION_ARGSPEC,
    Directory,
    LdapError,
    connect_module,
    escape_filter_value,
    escape_rdn_value,
    guid_to_string,
    parent_dn,
    sid_to_string,
)

SCOPES = {"global": 0x2, "domainlocal": 0x4, "universal": 0x8}
SECURITY_ENABLED = 0x80000000
CHECK_MODE_SID = "S-1-5-0000"
CHECK_MODE_GUID = "00000000-0000-0000-0000-000000000000"
ATTRIBUTES = ["name", "sAMAccountName", "groupType", "description", "member", "objectSid", "objectGUID"]
# Characters Active Directory refuses in a sAMAccountName (besides control characters and a trailing period).
_SAM_INVALID = re.compile(r'["/\\\[\]:;|=,+*?<>\x00-\x1f]')


def group_type(scope: str, category: str) -> int:
    """groupType as AD stores it: a signed 32-bit integer, negative for security groups (bit 31 set)."""
    value = SCOPES[scope] | (SECURITY_ENABLED if category == "security" else 0)
    return value - (1 << 32) if value & SECURITY_ENABLED else value


def group_view(entry: dict[str, Any]) -> dict[str, Any]:
    """The group as the module reports it, from a search entry."""
    attributes = entry["attributes"]
    raw = entry["raw_attributes"]
    kind = int(attributes["groupType"][0]) & 0xFFFFFFFF
    description = attributes.get("description") or []
    return {
        "dn": entry["dn"],
        "name": attributes["name"][0],
        "sam_account_name": attributes["sAMAccountName"][0],
        "object_sid": sid_to_string(raw["objectSid"][0]),
        "object_guid": guid_to_string(raw["objectGUID"][0]),
        "scope": next((scope for scope, bit in SCOPES.items() if kind & bit), "builtin"),
        "category": "security" if kind & SECURITY_ENABLED else "distribution",
        "description": description[0] if description else None,
        "members": sorted(attributes.get("member") or [], key=str.casefold),
    }


def diff_view(group: dict[str, Any] | None) -> dict[str, Any] | None:
    if group is None:
        return None
    return {key: value for key, value in group.items() if key not in ("object_sid", "object_guid")}


def find_group(directory: Directory, sam_account_name: str) -> dict[str, Any] | None:
    entries = directory.search(
        directory.naming_context, f"(&(objectClass=group)(sAMAccountName={escape_filter_value(sam_account_name)}))", ATTRIBUTES
    )
    return group_view(entries[0]) if entries else None


def validate_sam_account_name(value: str) -> None:
    if not value or _SAM_INVALID.search(value) or value.endswith("."):
        raise LdapError(
            f"'{value}' cannot be a sAMAccountName: Active Directory refuses the characters \"/\\[]:;|=,+*?<> and a trailing period; "
            "set sam_account_name to a name without them"
        )


def canonical_path(directory: Directory, path: str) -> str:
    """The OU's DN as the server spells it, so it compares equal to the DNs the server returns."""
    entry = directory.read(path, ["objectClass"])
    if entry is None:
        raise LdapError(f"path '{path}' does not exist")
    return entry["dn"]


def check_location(group: dict[str, Any], name: str, path: str | None) -> None:
    """Refuse to treat a group elsewhere or under another name as ours: renaming and moving are not supported."""
    if group["name"].casefold() != name.casefold():
        raise LdapError(
            f"the group with sAMAccountName '{group['sam_account_name']}' is named '{group['name']}' ({group['dn']}), not '{name}'; "
            "renaming groups is not supported"
        )
    if path is not None and parent_dn(group["dn"]).casefold() != path.casefold():
        raise LdapError(f"the group '{name}' is at {group['dn']}, not in {path}; moving groups is not supported")


def target_members(current: list[str], wanted: list[str], members_state: str) -> list[str]:
    """The member DNs the group should end with (DNs compare case-insensitively)."""
    wanted_keys = {dn.casefold() for dn in wanted}
    if members_state == "exact":
        return sorted(wanted, key=str.casefold)
    if members_state == "absent":
        return [dn for dn in current if dn.casefold() not in wanted_keys]
    current_keys = {dn.casefold() for dn in current}
    return sorted(current + [dn for dn in wanted if dn.casefold() not in current_keys], key=str.casefold)


def ensure_created(directory: Directory, desired: dict[str, Any], check_mode: bool) -> bool:
    attributes: dict[str, Any] = {
        "sAMAccountName": desired["sam_account_name"],
        "groupType": group_type(desired["scope"], desired["category"]),
    }
    if desired["description"]:
        attributes["description"] = desired["description"]
    if desired["members"]:
        attributes["member"] = desired["members"]
    if not check_mode:
        directory.add(desired["dn"], ["top", "group"], attributes)
    return True


def ensure_group_type(directory: Directory, current: dict[str, Any], desired: dict[str, Any], check_mode: bool) -> bool:
    if (current["scope"], current["category"]) == (desired["scope"], desired["category"]):
        return False
    steps = [desired["scope"]]
    if {current["scope"], desired["scope"]} == {"global", "domainlocal"}:
        # AD only converts global <-> domain local through universal.
        steps.insert(0, "universal")
    if not check_mode:
        for scope in steps:
            directory.modify(current["dn"], {"groupType": [("replace", [group_type(scope, desired["category"])])]})
    return True


def ensure_description(directory: Directory, current: dict[str, Any], desired: dict[str, Any], check_mode: bool) -> bool:
    if desired["description"] == current["description"]:
        return False
    if not check_mode:
        # AD stores no empty strings: an empty description is the attribute removed.
        directory.modify(current["dn"], {"description": [("replace", [desired["description"]] if desired["description"] else [])]})
    return True


def ensure_members(directory: Directory, current: dict[str, Any], desired: dict[str, Any], check_mode: bool) -> bool:
    have = {dn.casefold(): dn for dn in current["members"]}
    want = {dn.casefold(): dn for dn in desired["members"]}
    operations = []
    if want.keys() - have.keys():
        operations.append(("add", [want[key] for key in sorted(want.keys() - have.keys())]))
    if have.keys() - want.keys():
        operations.append(("delete", [have[key] for key in sorted(have.keys() - want.keys())]))
    if operations and not check_mode:
        directory.modify(current["dn"], {"member": operations})
    return bool(operations)


def ensure_absent(directory: Directory, current: dict[str, Any] | None, check_mode: bool) -> bool:
    if current is None:
        return False
    if not check_mode:
        directory.delete(current["dn"])
    return True


def resolve_members(directory: Directory, members: list[str] | None) -> list[str] | None:
    """Member DNs, or an error naming every unknown member: raised before the module writes anything."""
    if members is None:
        return None
    found, unknown = directory.resolve_principals(members)
    if unknown:
        raise LdapError(
            f"{len(unknown)} member(s) not found (no object with this sAMAccountName, userPrincipalName or DN): {', '.join(unknown)}; nothing was changed"
        )
    return list(dict.fromkeys(found[member] for member in members))


def new_group(params: dict[str, Any], path: str, members: list[str] | None) -> dict[str, Any]:
    """The group the options describe, not created yet (check-mode placeholders for what only the DC assigns)."""
    return {
        "dn": f"CN={escape_rdn_value(params['name'])},{path}",
        "name": params["name"],
        "sam_account_name": params["sam_account_name"],
        "object_sid": CHECK_MODE_SID,
        "object_guid": CHECK_MODE_GUID,
        "scope": params["scope"] or "global",
        "category": params["category"],
        "description": params["description"] or None,
        "members": target_members([], members or [], params["members_state"]),
    }


def updated_group(current: dict[str, Any], params: dict[str, Any], members: list[str] | None) -> dict[str, Any]:
    """The existing group with the options applied; options not given keep the current values."""
    return {
        **current,
        "scope": params["scope"] or current["scope"],
        "category": params["category"],
        "description": current["description"] if params["description"] is None else params["description"] or None,
        "members": current["members"] if members is None else target_members(current["members"], members, params["members_state"]),
    }


def ensure_present(directory: Directory, params: dict[str, Any], current: dict[str, Any] | None, path: str, check_mode: bool) -> tuple[bool, dict[str, Any]]:
    """Create or update the group; returns (changed, the group as it is, or would be, afterwards)."""
    members = resolve_members(directory, params["members"])
    if current is None:
        desired = new_group(params, path, members)
        changed = ensure_created(directory, desired, check_mode)
    else:
        desired = updated_group(current, params, members)
        changed = False
        for ensure in (ensure_group_type, ensure_description, ensure_members):
            changed |= ensure(directory, current, desired, check_mode)
    if changed and not check_mode:
        # Read back what the DC stored: the new group's SID and GUID, the members' DNs as it spells them.
        return True, find_group(directory, params["sam_account_name"]) or desired
    return changed, desired


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            path=dict(type="str"),
            sam_account_name=dict(type="str"),
            scope=dict(type="str", choices=list(SCOPES)),
            category=dict(type="str", default="security", choices=["security", "distribution"]),
            description=dict(type="str"),
            members=dict(type="list", elements="str"),
            members_state=dict(type="str", default="present", choices=["present", "absent", "exact"]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            **LDAP_CONNECTION_ARGSPEC,
        ),
        required_if=[("state", "present", ["path"])],
        supports_check_mode=True,
    )
    params = module.params
    params["sam_account_name"] = params["sam_account_name"] or params["name"]
    result: dict[str, Any] = {"changed": False, "dn": None}
    try:
        validate_sam_account_name(params["sam_account_name"])
        directory = Directory(connect_module(module))
        path = canonical_path(directory, params["path"]) if params["path"] else None
        current = find_group(directory, params["sam_account_name"])
        if current is not None:
            check_location(current, params["name"], path)
        if params["state"] == "absent":
            result["changed"] = ensure_absent(directory, current, module.check_mode)
            after = None
            result.update(current or {})
        else:
            result["changed"], after = ensure_present(directory, params, current, path, module.check_mode)
            result.update(after)
        if module._diff:  # pylint: disable=protected-access
            result["diff"] = {"before": diff_view(current), "after": diff_view(after)}
    except LdapError as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
