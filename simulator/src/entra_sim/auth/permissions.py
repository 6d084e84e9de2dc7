"""Which application permissions (token ``roles``) each Graph operation accepts (reference section 10).

Each row is the least privileged permission followed by the higher ones Microsoft lists; a token needs any one.
Rows the reference marks [U] can be overridden with ``PUT /_admin/config {"permissions": {...}}``.
"""

from __future__ import annotations

_ORG_READ = ("Organization.Read.All", "Directory.Read.All", "Organization.ReadWrite.All", "Directory.ReadWrite.All")
_USER_READ = ("User.Read.All", "Directory.Read.All", "User.ReadWrite.All", "Directory.ReadWrite.All")

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "organization.read": _ORG_READ,
    "skus.read": _ORG_READ,
    "users.read": _USER_READ,
    "users.license_details": ("LicenseAssignment.Read.All", *_USER_READ, "LicenseAssignment.ReadWrite.All"),
    "users.update": ("User.ReadWrite.All", "Directory.ReadWrite.All"),  # [U] standard user update
    "users.assign_license": ("LicenseAssignment.ReadWrite.All", "Directory.ReadWrite.All", "User.ReadWrite.All"),
    "users.reprocess": ("User.ReadWrite.All", "Directory.ReadWrite.All"),
    "groups.read": (
        "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "GroupMember.ReadWrite.All",
        "Group.ReadWrite.All", "Directory.ReadWrite.All",
    ),
    "groups.create": (
        "Group.Create", "Directory.ReadWrite.All", "Group-PreferredDataLocation.ReadWrite.All", "Group.ReadWrite.All",
    ),
    # With only Group.Create, binding users as owners or members also needs permission to read users.
    "groups.create.bind": _USER_READ,
    "groups.update": ("Group.ReadWrite.All", "Directory.ReadWrite.All"),
    "groups.delete": ("Group.ReadWrite.All", "Directory.ReadWrite.All"),  # [U] higher permission
    "groups.members.write": ("GroupMember.ReadWrite.All", "Directory.ReadWrite.All", "Group.ReadWrite.All"),
    "groups.assign_license": ("LicenseAssignment.ReadWrite.All", "Directory.ReadWrite.All", "Group.ReadWrite.All"),
    # [U] start/restart assumed equal to provisionOnDemand; reading jobs also accepts Synchronization.Read.All.
    # [U] getting a directoryObject by id; also POST /directoryObjects/getByIds.
    "directory_objects.read": ("Directory.Read.All", "Directory.ReadWrite.All"),
    # Listing service principals (to find the Cloud Sync configuration by name).
    "service_principals.read": (
        "Application.Read.All", "Application.ReadWrite.OwnedBy", "Application.ReadWrite.All", "Directory.Read.All",
        "Directory.ReadWrite.All",
    ),
    "synchronization.read": (
        "Synchronization.Read.All", "Application.ReadWrite.OwnedBy", "Synchronization.ReadWrite.All",
    ),
    "synchronization.write": ("Application.ReadWrite.OwnedBy", "Synchronization.ReadWrite.All"),
}
