"""Which properties users and groups have, which Graph returns by default, and how an object is rendered.

Stored objects are dicts keyed by Graph property names; keys starting with ``_`` are the simulator's own and never
rendered. A stored value is never mutated in place (writers assign a new list or dict), so a rendered object can
leave the lock safely.
"""

from __future__ import annotations

from typing import Any

USER_DEFAULT = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
    "preferredLanguage", "surname", "userPrincipalName", "id",
)
_USER_COLLECTIONS = (
    "assignedLicenses", "assignedPlans", "businessPhones", "identities", "imAddresses", "licenseAssignmentStates",
    "otherMails", "provisionedPlans", "proxyAddresses", "onPremisesProvisioningErrors",
)
_USER_SCALARS = (
    "id", "accountEnabled", "ageGroup", "city", "companyName", "consentProvidedForMinor", "country", "createdDateTime",
    "creationType", "deletedDateTime", "department", "displayName", "employeeHireDate", "employeeId", "employeeType",
    "externalUserState", "faxNumber", "givenName", "jobTitle", "mail", "mailNickname", "mobilePhone",
    "officeLocation", "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesImmutableId",
    "onPremisesLastSyncDateTime", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled", "onPremisesUserPrincipalName", "passwordPolicies", "postalCode", "preferredDataLocation",
    "preferredLanguage", "securityIdentifier", "showInAddressList", "state", "streetAddress", "surname",
    "usageLocation", "userPrincipalName", "userType",
)

# The body of POST /groups (reference 1.1) is the default property set of a group.
GROUP_DEFAULT = (
    "id", "deletedDateTime", "classification", "createdDateTime", "description", "displayName", "expirationDateTime",
    "groupTypes", "isAssignableToRole", "mail", "mailEnabled", "mailNickname", "membershipRule",
    "membershipRuleProcessingState", "onPremisesDomainName", "onPremisesLastSyncDateTime", "onPremisesNetBiosName",
    "onPremisesSamAccountName", "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation",
    "preferredLanguage", "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions",
    "resourceProvisioningOptions", "securityEnabled", "securityIdentifier", "theme", "visibility",
    "onPremisesProvisioningErrors",
)
_GROUP_COLLECTIONS = (
    "assignedLicenses", "groupTypes", "proxyAddresses", "resourceBehaviorOptions", "resourceProvisioningOptions",
    "onPremisesProvisioningErrors", "serviceProvisioningErrors", "creationOptions",
)
_GROUP_EXTRA = ("licenseProcessingState", "uniqueName", "hasMembersWithLicenseErrors", "isArchived")
# Reference 1.2/1.3: filterable, but not returned even when selected.
GROUP_NEVER_RETURNED = frozenset({"hasMembersWithLicenseErrors", "isArchived"})

USER_PROPERTIES = {name: [] if name in _USER_COLLECTIONS else None for name in _USER_SCALARS + _USER_COLLECTIONS}
GROUP_PROPERTIES = {
    name: [] if name in _GROUP_COLLECTIONS else None for name in GROUP_DEFAULT + _GROUP_COLLECTIONS + _GROUP_EXTRA
}

RESOURCES = {
    "user": (USER_PROPERTIES, USER_DEFAULT, frozenset()),
    "group": (GROUP_PROPERTIES, GROUP_DEFAULT, GROUP_NEVER_RETURNED),
}
# Graph's $select names are case-insensitive.
_CANONICAL = {kind: {name.lower(): name for name in props} for kind, (props, _, _) in RESOURCES.items()}


def canonical_property(kind: str, name: str) -> str | None:
    """The property's proper spelling, or None if ``kind`` has no such property."""
    return _CANONICAL[kind].get(name.lower())


_SCALAR_DEFAULTS = {kind: {n: d for n, d in props.items() if d is None} for kind, (props, _, _) in RESOURCES.items()}
_COLLECTIONS = {kind: [n for n, d in props.items() if d is not None] for kind, (props, _, _) in RESOURCES.items()}


def new_object(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """A stored object with every property present (defaults filled), so rendering needs no lookups.

    Built by copying a template dict: a 100,000-user seed creates this many objects at once.
    """
    obj = _SCALAR_DEFAULTS[kind].copy()
    for name in _COLLECTIONS[kind]:
        obj[name] = []
    obj.update(values)
    return obj


def render(kind: str, obj: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    """The object as Graph returns it: the default properties, or the selected ones."""
    _, default, hidden = RESOURCES[kind]
    names = default if select is None else select
    return {name: obj[name] for name in names if name not in hidden}
