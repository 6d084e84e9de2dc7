"""The ``large`` seed: the article tenant's products, apps and identities with many generated users and groups.

Objects are plain dicts built in one pass (no per-object validation beyond the seed loader's), so 100,000 users
and 1,000 groups load in a few seconds. Every group holds a contiguous block of users, so each user is a direct
member of exactly one group; the first tenth of the groups are licensed with Office 365 E3, with seats to spare.
"""

from __future__ import annotations

from typing import Any

DEPARTMENTS = ("Sales", "Finance", "IT", "HR", "Marketing", "Engineering", "Operations", "Legal")
LOCATIONS = ("US", "US", "US", "GB", "DE", "FR", "JP", None)


def user_id(n: int) -> str:
    return f"{0xa1000000 + n:08x}-0000-4000-8000-000000000000"


def group_id(n: int) -> str:
    return f"{0xb2000000 + n:08x}-0000-4000-8000-000000000000"


def generate(base: dict[str, Any], users: int = 100_000, groups: int = 1_000) -> dict[str, Any]:
    """``base`` (the article seed) with its users, groups and SKUs replaced; Cloud Sync is dropped."""
    seed = dict(base)
    domain = seed["tenant"]["domain"]
    seed["name"] = f"large:users={users},groups={groups}"
    seed["description"] = f"{users} generated users in {groups} groups, on the article tenant's products and apps."
    seed["skus"] = [
        {"skuPartNumber": "ENTERPRISEPACK", "prepaidUnits": {"enabled": users + 100}},
        {"skuPartNumber": "EXCHANGESTANDARD", "prepaidUnits": {"enabled": 1000}},
        {"skuPartNumber": "AAD_PREMIUM", "prepaidUnits": {"enabled": users + 100}},
    ]
    seed["users"] = [
        {
            "id": user_id(n), "userPrincipalName": f"user{n:06d}@{domain}", "displayName": f"User {n:06d}",
            "givenName": "User", "surname": f"{n:06d}", "department": DEPARTMENTS[n % len(DEPARTMENTS)],
            "usageLocation": LOCATIONS[n % len(LOCATIONS)],
        }
        for n in range(users)
    ]
    block = max(1, users // max(1, groups))
    seed["groups"] = [
        {
            "id": group_id(g), "displayName": f"Group {g:04d}", "mailNickname": f"group{g:04d}",
            "members": [user_id(n) for n in range(g * block, min(users, (g + 1) * block))],
            **({"licenses": [{"skuPartNumber": "ENTERPRISEPACK"}]} if g < max(1, groups // 10) else {}),
        }
        for g in range(groups)
    ]
    seed.pop("cloud_sync", None)
    return seed
