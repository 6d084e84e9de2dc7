#!/usr/bin/env python3
"""Generate the SKU / service plan catalogue from Microsoft's licensing CSV.

Microsoft publishes "Product names and service plan identifiers for licensing" as a CSV with one row per product and
service plan. The collection needs it to turn names like "Office 365 E3" or "Exchange Online (Plan 2)" into GUIDs,
and the simulator needs it to seed tenants with real SKUs. The CSV is not available in CI, so this script is run by
hand (``make catalog``) and both outputs are committed:

* ``plugins/module_utils/_sku_catalog_data.py``: a compact, literal-only Python module. Ansible embeds module_utils
  in every module payload, so plans are stored once and SKUs refer to them by index.
* ``simulator/src/entra_sim/data/sku_catalog.json``: the same facts keyed by GUID, for the simulator.

The CSV is untidy: friendly names come in several spellings for one plan (mixed case and upper case, old and new
product names), some cells carry non-breaking spaces or tabs, one SKU GUID has a trailing non-breaking space, and a
few plans are listed twice in one SKU. Everything is cleaned here so the outputs are stable and readable.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CSV = REPO_ROOT.parent / "shared" / "data" / "licensing-service-plan-reference.csv"
MODULE_PATH = REPO_ROOT / "plugins" / "module_utils" / "_sku_catalog_data.py"
JSON_PATH = REPO_ROOT / "simulator" / "src" / "entra_sim" / "data" / "sku_catalog.json"

# The CSV carries no dates of its own: these describe the copy in shared/data (see its README).
TITLE = "Product names and service plan identifiers for licensing"
MICROSOFT_LAST_UPDATED = "2025-10-29"
SOURCE_COMMIT_DATE = "2025-12-30"

MAX_LINE = 160  # ansible-test's pep8 limit for the generated module

# Known facts that must survive every regeneration (graph-semantics.md section 9).
E3_SKU_ID = "6fd2c87f-b296-42f0-b197-1e91e994b900"
EXCHANGE_PLAN_2_ID = "efb87545-963c-4e0d-99df-69c6916d9eb0"


@dataclass
class Plan:
    plan_id: str
    name: str
    friendly_name: str


@dataclass
class Sku:
    sku_id: str
    part_number: str
    name: str
    plan_ids: list[str]


def clean(text: str) -> str:
    """Collapse every run of whitespace (including non-breaking spaces and tabs) to one space."""
    return " ".join(text.split())


def read_rows(path: Path) -> list[dict[str, str]]:
    # utf-8-sig drops the BOM; newline="" lets csv handle the CRLF line ends.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{key: clean(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def most_common(spellings: Counter[str]) -> str:
    """The most frequent spelling; on a tie the one seen first (Counter keeps insertion order)."""
    return max(spellings, key=lambda spelling: spellings[spelling])


def friendly_name(spellings: Counter[str], plan_name: str) -> str:
    """Pick one friendly name for a plan from the spellings the CSV uses for it.

    A "friendly" name that is just the plan's code (EXCHANGE_S_FOUNDATION) is a last resort, and a mixed-case
    spelling wins over an all-capitals one ("Exchange Online (Plan 2)" over "EXCHANGE ONLINE (PLAN 2)"). Among the
    rest the most frequent wins, which also prefers current product names over retired ones.
    """
    readable = Counter({name: count for name, count in spellings.items() if name.upper() != plan_name.upper()})
    candidates = readable or spellings
    mixed_case = Counter({name: count for name, count in candidates.items() if name != name.upper()})
    return most_common(mixed_case or candidates)


def build(rows: list[dict[str, str]]) -> tuple[dict[str, Plan], dict[str, Sku]]:
    plan_names: dict[str, Counter[str]] = {}
    plan_friendly: dict[str, Counter[str]] = {}
    skus: dict[str, Sku] = {}
    for row in rows:
        plan_id = row["Service_Plan_Id"].lower()
        plan_names.setdefault(plan_id, Counter())[row["Service_Plan_Name"]] += 1
        plan_friendly.setdefault(plan_id, Counter())[row["Service_Plans_Included_Friendly_Names"]] += 1
        sku_id = row["GUID"].lower()
        sku = skus.setdefault(sku_id, Sku(sku_id, row["String_Id"], row["Product_Display_Name"], []))
        if plan_id not in sku.plan_ids:
            sku.plan_ids.append(plan_id)
    plans = {}
    for plan_id, names in plan_names.items():
        name = most_common(names)
        plans[plan_id] = Plan(plan_id, name, friendly_name(plan_friendly[plan_id], name))
    return plans, skus


def check(plans: dict[str, Plan], skus: dict[str, Sku]) -> None:
    """Stop before writing anything if the CSV no longer says what the collection relies on."""
    e3 = skus.get(E3_SKU_ID)
    if e3 is None or (e3.part_number, e3.name) != ("ENTERPRISEPACK", "Office 365 E3"):
        sys.exit(f"sanity check failed: {E3_SKU_ID} is not ENTERPRISEPACK / Office 365 E3: {e3}")
    exchange = plans.get(EXCHANGE_PLAN_2_ID)
    if EXCHANGE_PLAN_2_ID not in e3.plan_ids or exchange is None:
        sys.exit(f"sanity check failed: Office 365 E3 lacks plan {EXCHANGE_PLAN_2_ID}")
    if (exchange.name, exchange.friendly_name) != ("EXCHANGE_S_ENTERPRISE", "Exchange Online (Plan 2)"):
        sys.exit(f"sanity check failed: unexpected Exchange Online (Plan 2) entry: {exchange}")
    for sku in skus.values():
        if not sku.part_number or not sku.name or not sku.plan_ids:
            sys.exit(f"sanity check failed: incomplete SKU {sku}")


def source_info(path: Path, last_updated: str, commit_date: str) -> dict[str, str]:
    return {
        "file": path.name,
        "title": TITLE,
        "microsoftLastUpdated": last_updated,
        "sourceCommitDate": commit_date,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def literal(value: str) -> str:
    """A double-quoted, ASCII-only Python string literal (JSON's escapes are all valid Python escapes)."""
    return json.dumps(value, ensure_ascii=True)


def entry(fields: list[str]) -> list[str]:
    """A tuple on one line when it fits, otherwise one field per line, laid out as black would (pep8-clean)."""
    one_line = "    (" + ", ".join(fields) + "),"
    if len(one_line) <= MAX_LINE and "\n" not in one_line:
        return [one_line]
    return ["    (", *[f"        {field}," for field in fields], "    ),"]


def plan_indexes(numbers: list[str]) -> str:
    """The SKU's plan indexes as a tuple literal, wrapped over lines only when the SKU has very many plans."""
    flat = "(" + ", ".join(numbers) + ("," if len(numbers) == 1 else "") + ")"
    if len(flat) + 9 <= MAX_LINE:
        return flat
    lines, current = ["("], "           "
    for number in numbers:
        if len(current) + len(number) + 2 > MAX_LINE:
            lines.append(current.rstrip())
            current = "           "
        current += f" {number},"
    return "\n".join([*lines, current, "        )"])


def render_module(plans: dict[str, Plan], skus: dict[str, Sku], source: dict[str, str]) -> str:
    index = {plan_id: position for position, plan_id in enumerate(plans)}
    lines = [
        "# Copyright: contributors to entra.licensing",
        "# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)",
        "#",
        "# GENERATED FILE - DO NOT EDIT. Regenerate with tools/generate_sku_catalog.py (make catalog).",
        f'# Source: {source["file"]}, Microsoft\'s "{source["title"]}",',
        f"# last updated by Microsoft {source['microsoftLastUpdated']};",
        f"# source commit dated {source['sourceCommitDate']}; sha256 {source['sha256']}.",
        '"""Microsoft\'s product (SKU) and service plan table, small because Ansible embeds it in module payloads.',
        "",
        "PLANS holds (servicePlanId, servicePlanName, friendly name). SKUS holds (skuId, skuPartNumber, product name,",
        "indexes into PLANS in Microsoft's order).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "# Generated layout: a formatter would put every plan index on a line of its own and double the size.",
        "# fmt: off",
        "",
        "SOURCE = {",
        *[f"    {literal(key)}: {literal(value)}," for key, value in source.items()],
        "}",
        "",
        "PLANS = (",
        *[
            line
            for p in plans.values()
            for line in entry([literal(p.plan_id), literal(p.name), literal(p.friendly_name)])
        ],
        ")",
        "",
        "SKUS = (",
        *[
            line
            for sku in skus.values()
            for line in entry(
                [
                    literal(sku.sku_id),
                    literal(sku.part_number),
                    literal(sku.name),
                    plan_indexes([str(index[plan_id]) for plan_id in sku.plan_ids]),
                ]
            )
        ],
        ")",
    ]
    return "\n".join(lines) + "\n"


def render_json(plans: dict[str, Plan], skus: dict[str, Sku], source: dict[str, str]) -> str:
    document = {
        "source": source,
        "plans": {p.plan_id: {"servicePlanName": p.name, "friendlyName": p.friendly_name} for p in plans.values()},
        "skus": {
            s.sku_id: {"skuPartNumber": s.part_number, "productName": s.name, "servicePlans": s.plan_ids}
            for s in skus.values()
        },
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="Microsoft's CSV (default: %(default)s)")
    parser.add_argument("--module", type=Path, default=MODULE_PATH, help="Python data module to write")
    parser.add_argument("--json", type=Path, default=JSON_PATH, help="simulator JSON to write")
    parser.add_argument("--last-updated", default=MICROSOFT_LAST_UPDATED, help="Microsoft's 'last updated' date")
    parser.add_argument("--source-date", default=SOURCE_COMMIT_DATE, help="date of the commit the CSV was taken from")
    args = parser.parse_args(argv)

    plans, skus = build(read_rows(args.csv))
    check(plans, skus)
    source = source_info(args.csv, args.last_updated, args.source_date)
    for path, text in (
        (args.module, render_module(plans, skus, source)),
        (args.json, render_json(plans, skus, source)),
    ):
        path.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {path} ({len(text.encode('utf-8')):,} bytes)")
    print(f"{len(skus)} SKUs, {len(plans)} service plans from {args.csv.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
