# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OData literals: the only way user-supplied values enter a ``$filter``."""

from __future__ import annotations

import re

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def quote(value: str) -> str:
    """An OData string literal: single quotes around the value, each quote inside doubled.

    Names such as ``O'Brien & Sons+`` are then data, never syntax. URL encoding is left to requests.
    """
    return "'" + str(value).replace("'", "''") + "'"


def is_guid(value: str) -> bool:
    """Graph object ids and SKU ids are GUIDs; anything else is a name that needs a lookup."""
    return bool(_GUID.match(str(value).strip()))


def guid(value: str) -> str:
    """A GUID literal for lambda filters such as ``assignedLicenses/any(x:x/skuId eq <guid>)`` (unquoted in OData)."""
    if not is_guid(value):
        raise ValueError(f"'{value}' is not a GUID")
    return str(value).strip().lower()
