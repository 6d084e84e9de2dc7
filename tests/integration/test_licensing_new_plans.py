# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""group_license on a tenant whose product has a plan newer than Microsoft's published table."""

from __future__ import annotations

import json
from importlib import resources

from entra_sim.catalog import load_catalog

from .harness import HERE, run_playbook

E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
NEW_PLAN = "d1f0e6a4-22c5-4c1e-8d5e-0f4a3b2c1d0e"


def article_with_a_new_e3_plan() -> dict:
    seed = json.loads(resources.files("entra_sim").joinpath("seeds/article.json").read_text(encoding="utf-8"))
    [e3] = [sku for sku in seed["skus"] if sku.get("skuPartNumber") == "ENTERPRISEPACK"]
    e3["servicePlans"] = [*load_catalog().skus[E3]["servicePlans"], NEW_PLAN]
    seed["name"] = "article-with-a-new-e3-plan"
    return seed


def test_allow_list_keeps_a_plan_microsoft_added_off_and_reports_it(simulator):
    simulator.reset(article_with_a_new_e3_plan())
    try:
        run = run_playbook(HERE / "playbooks" / "license_new_plans.yml", simulator, extra_vars={"new_plan": NEW_PLAN})
    finally:
        simulator.reset("article")  # a loaded seed stays the simulator's seed for later resets
    assert run.rc == 0, run.output
    assert run.recap()["failed"] == 0, run.output
