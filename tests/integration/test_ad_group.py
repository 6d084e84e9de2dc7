"""entra.licensing.ad_group against a real Samba AD DC, through ansible-playbook.

Each test runs the module as users do (connection options from the AD_* environment variables, or task options),
then checks the directory with its own LDAP connection, and counts writes with the rootDSE's highestCommittedUSN:
equal before and after means the domain controller committed nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trustme
from ldap3.protocol.formatters.formatters import format_sid, format_uuid_le

from .harness import PlaybookRun, run_playbook
from .samba import SambaDC

pytest_plugins = [f"{__package__}.samba_fixtures"]

BASE = "O365_Licenses_E3_Base"
EXCHANGE = "O365_Licenses_E3_Exchange"
SECURITY_UNIVERSAL = -2147483640
SECURITY_GLOBAL = -2147483646
SECURITY_DOMAIN_LOCAL = -2147483644


class Play:
    """Runs a list of tasks as a playbook on localhost and returns the registered results by name."""

    def __init__(self, dc: SambaDC, tmp_path: Path) -> None:
        self.dc = dc
        self.tmp_path = tmp_path
        self.runs = 0

    def __call__(
        self, tasks: list[dict[str, Any]], check: bool = False, diff: bool = False, env: dict[str, str] | None = None
    ) -> tuple[PlaybookRun, dict[str, Any]]:
        self.runs += 1
        results = self.tmp_path / f"results-{self.runs}.json"
        names = [task["register"] for task in tasks if "register" in task]
        save = {
            "name": "Save the registered results for the test",
            "ansible.builtin.copy": {"content": "{{ {" + ", ".join(f"'{n}': {n}" for n in names) + "} | to_json }}", "dest": str(results)},
            "check_mode": False,
            "diff": False,
        }
        playbook = self.tmp_path / f"play-{self.runs}.yml"
        playbook.write_text(json.dumps([{"name": "ad_group", "hosts": "localhost", "gather_facts": False, "tasks": [*tasks, save]}]))
        run = run_playbook(playbook, None, check=check, diff=diff, env={**self.dc.env, **(env or {})})
        assert results.exists(), run.output
        return run, json.loads(results.read_text())


@pytest.fixture
def play(samba_dc, tmp_path) -> Play:
    return Play(samba_dc, tmp_path)


def group_task(register: str, ignore_errors: bool = False, **options: Any) -> dict[str, Any]:
    task: dict[str, Any] = {"name": f"ad_group {register}", "entra.licensing.ad_group": options, "register": register}
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def read_group(dc: SambaDC, sam: str) -> dict[str, Any] | None:
    """The group as the test's own LDAP connection sees it (values escaped by hand: test names are plain)."""
    entries = dc.find(f"(&(objectClass=group)(sAMAccountName={sam}))", ["name", "groupType", "description", "member", "objectSid", "objectGUID"])
    return entries[0] if entries else None


def members_of(dc: SambaDC, sam: str) -> set[str]:
    group = read_group(dc, sam)
    assert group is not None
    return {dn.lower() for dn in group["attributes"].get("member") or []}


def user(dc: SambaDC, sam: str) -> dict[str, str]:
    return next(u for u in dc.users if u["sAMAccountName"] == sam)


def story_groups(dc: SambaDC, **extra: Any) -> list[dict[str, Any]]:
    ben, christie, enrico = user(dc, "BenW"), user(dc, "ChristieC"), user(dc, "EnricoC")
    return [
        group_task(
            "base",
            name=BASE,
            path=dc.licensing_ou,
            scope="universal",
            description="Office 365 E3, every service plan",
            members=[ben["sAMAccountName"], christie["userPrincipalName"], enrico["dn"]],
            **extra,
        ),
        group_task("exchange", name=EXCHANGE, path=dc.licensing_ou, scope="universal", description="Office 365 E3, Exchange Online (Plan 2) only", **extra),
    ]


def test_check_mode_writes_nothing_and_shows_the_diff(samba_dc, play):
    usn = samba_dc.highest_usn()
    run, results = play(story_groups(samba_dc), check=True, diff=True)
    assert run.rc == 0, run.output
    assert samba_dc.highest_usn() == usn
    assert read_group(samba_dc, BASE) is None
    base = results["base"]
    assert base["changed"] is True
    assert base["dn"] == f"CN={BASE},{samba_dc.licensing_ou}"
    assert base["object_sid"] == "S-1-5-0000"
    assert base["object_guid"] == "00000000-0000-0000-0000-000000000000"
    assert base["diff"]["before"] is None
    assert {dn.lower() for dn in base["diff"]["after"]["members"]} == {user(samba_dc, sam)["dn"].lower() for sam in ("BenW", "ChristieC", "EnricoC")}
    assert base["diff"]["after"]["scope"] == "universal"
    assert base["diff"]["after"]["category"] == "security"


def test_story_groups_are_created_then_a_rerun_writes_nothing(samba_dc, play):
    run, results = play(story_groups(samba_dc))
    assert run.rc == 0, run.output
    for key, sam, description in (("base", BASE, "Office 365 E3, every service plan"), ("exchange", EXCHANGE, "Office 365 E3, Exchange Online (Plan 2) only")):
        entry = read_group(samba_dc, sam)
        assert entry is not None
        attributes, raw = entry["attributes"], entry["raw_attributes"]
        assert results[key]["changed"] is True
        assert results[key]["dn"] == entry["dn"] == f"CN={sam},{samba_dc.licensing_ou}"
        assert attributes["groupType"] == [str(SECURITY_UNIVERSAL)]
        assert attributes["description"] == [description]
        assert results[key]["object_sid"] == format_sid(raw["objectSid"][0])
        assert results[key]["object_sid"].startswith("S-1-5-21-")
        assert results[key]["object_guid"] == format_uuid_le(raw["objectGUID"][0]).strip("{}")
        assert (results[key]["scope"], results[key]["category"]) == ("universal", "security")
    assert members_of(samba_dc, BASE) == {user(samba_dc, sam)["dn"].lower() for sam in ("BenW", "ChristieC", "EnricoC")}
    assert {dn.lower() for dn in results["base"]["members"]} == members_of(samba_dc, BASE)
    assert members_of(samba_dc, EXCHANGE) == set()

    usn = samba_dc.highest_usn()
    run, again = play(story_groups(samba_dc), diff=True)
    assert run.rc == 0, run.output
    assert samba_dc.highest_usn() == usn
    assert again["base"]["changed"] is False
    assert again["exchange"]["changed"] is False
    assert again["base"]["object_sid"] == results["base"]["object_sid"]
    assert again["base"]["diff"]["before"] == again["base"]["diff"]["after"]


def test_members_present_absent_exact(samba_dc, play):
    ben, christie, enrico, irvin = (user(samba_dc, sam) for sam in ("BenW", "ChristieC", "EnricoC", "IrvinS"))
    group = dict(name=EXCHANGE, path=samba_dc.licensing_ou)
    run, results = play(
        [
            group_task("create", **group, members=[ben["sAMAccountName"]]),
            group_task("add", **group, members=[christie["userPrincipalName"], ben["userPrincipalName"]]),
            group_task("add_again", **group, members=[christie["sAMAccountName"].lower()]),
            group_task("remove", **group, members=[ben["dn"]], members_state="absent"),
            group_task("remove_again", **group, members=[ben["sAMAccountName"]], members_state="absent"),
            group_task("exact", **group, members=[enrico["dn"], irvin["sAMAccountName"]], members_state="exact"),
        ],
        diff=True,
    )
    assert run.rc == 0, run.output
    assert [results[step]["changed"] for step in ("create", "add", "add_again", "remove", "remove_again", "exact")] == [True, True, False, True, False, True]
    assert {dn.lower() for dn in results["add"]["members"]} == {ben["dn"].lower(), christie["dn"].lower()}
    assert {dn.lower() for dn in results["remove"]["members"]} == {christie["dn"].lower()}
    assert results["exact"]["diff"]["before"]["members"] == results["remove"]["members"]
    assert members_of(samba_dc, EXCHANGE) == {enrico["dn"].lower(), irvin["dn"].lower()}

    usn = samba_dc.highest_usn()
    run, results = play([group_task("exact_again", **group, members=[irvin["userPrincipalName"], enrico["sAMAccountName"]], members_state="exact")])
    assert run.rc == 0, run.output
    assert results["exact_again"]["changed"] is False
    assert samba_dc.highest_usn() == usn

    run, results = play([group_task("empty", **group, members=[], members_state="exact"), group_task("untouched", **group, description="Exchange add-on")])
    assert run.rc == 0, run.output
    assert results["empty"]["changed"] is True
    assert results["untouched"]["members"] == []
    assert members_of(samba_dc, EXCHANGE) == set()


def test_unknown_members_fail_before_any_write(samba_dc, play):
    usn = samba_dc.highest_usn()
    ghost_dn = f"CN=Ghost,{samba_dc.users_ou}"
    unknown = ["nobody", "*", "*)(objectClass=*", "Ghost@contoso.com", ghost_dn, "not a=valid dn,,"]
    run, results = play([group_task("create", ignore_errors=True, name=BASE, path=samba_dc.licensing_ou, members=["BenW", *unknown])])
    assert samba_dc.highest_usn() == usn, run.output
    assert read_group(samba_dc, BASE) is None
    failure = results["create"]
    assert failure["failed"] is True
    assert f"{len(unknown)} member(s) not found" in failure["msg"]
    for name in unknown:
        assert name in failure["msg"]
    assert "BenW," not in failure["msg"]


def test_filter_injection_in_names_does_no_harm(samba_dc, play):
    usn = samba_dc.highest_usn()
    run, results = play([group_task("bad_sam", ignore_errors=True, name="*)(objectClass=*", path=samba_dc.licensing_ou)])
    assert results["bad_sam"]["failed"] is True
    assert "cannot be a sAMAccountName" in results["bad_sam"]["msg"]
    assert samba_dc.highest_usn() == usn, run.output

    # Valid sAMAccountNames may still hold filter syntax: parentheses, ampersand, exclamation mark, quote.
    tricky = dict(name="*)(objectClass=*", sam_account_name="Licenses (E3) & O'Brien!", path=samba_dc.licensing_ou, members=["BenW"])
    run, results = play([group_task("create", **tricky), group_task("again", **tricky)])
    assert run.rc == 0, run.output
    assert results["create"]["changed"] is True
    assert results["again"]["changed"] is False
    created = samba_dc.find("(objectClass=group)", ["name", "sAMAccountName"], base=samba_dc.licensing_ou)
    assert [(entry["attributes"]["name"], entry["attributes"]["sAMAccountName"]) for entry in created] == [(["*)(objectClass=*"], ["Licenses (E3) & O'Brien!"])]
    assert members_of(samba_dc, "Licenses \\28E3\\29 & O'Brien!") == {user(samba_dc, "BenW")["dn"].lower()}


def test_names_with_commas_quotes_and_unicode_are_escaped_in_dns(samba_dc, play):
    odd_user = f"CN=Seán O'Brien\\, Jr.,{samba_dc.users_ou}"
    connection = samba_dc.connect()
    attributes = {"sAMAccountName": "sean.obrien", "userPrincipalName": "Seán.OBrien@contoso.com"}
    connection.add(odd_user, ["top", "person", "organizationalPerson", "user"], attributes)
    connection.unbind()
    name = '#1 Finance, Sales + Ops; "Grüße" <東京> = O\'Brien '
    options = dict(name=name, sam_account_name="Finance Sales Grüße", path=samba_dc.licensing_ou, description="Ünïcødé, with commas")
    run, results = play(
        [
            group_task("create", **options, members=[odd_user, "Seán.OBrien@contoso.com"]),
            group_task("again", **options, members=["sean.obrien"]),
        ]
    )
    assert run.rc == 0, run.output
    assert results["create"]["changed"] is True
    assert results["again"]["changed"] is False
    entry = read_group(samba_dc, "Finance Sales Grüße")
    assert entry is not None
    assert entry["attributes"]["name"] == [name]
    assert entry["attributes"]["description"] == ["Ünïcødé, with commas"]
    assert results["create"]["dn"] == entry["dn"]
    assert results["create"]["name"] == name
    assert members_of(samba_dc, "Finance Sales Grüße") == {odd_user.lower()}

    run, results = play([group_task("delete", name=name, sam_account_name="Finance Sales Grüße", path=samba_dc.licensing_ou, state="absent")])
    assert run.rc == 0, run.output
    assert results["delete"]["changed"] is True
    assert read_group(samba_dc, "Finance Sales Grüße") is None


def test_scope_category_and_description_changes(samba_dc, play):
    group = dict(name=BASE, path=samba_dc.licensing_ou)
    run, results = play(
        [
            group_task("create", **group, description="E3"),
            group_task("to_domainlocal", **group, scope="domainlocal"),
            group_task("to_distribution", **group, category="distribution"),
            group_task("back", **group, scope="global", category="security", description=""),
            group_task("same", **group, scope="global"),
        ],
        diff=True,
    )
    assert run.rc == 0, run.output
    assert results["create"]["scope"] == "global"
    assert results["to_domainlocal"]["diff"]["before"]["scope"] == "global"
    assert (results["to_domainlocal"]["scope"], results["to_domainlocal"]["category"]) == ("domainlocal", "security")
    assert (results["to_distribution"]["scope"], results["to_distribution"]["category"]) == ("domainlocal", "distribution")
    assert (results["back"]["scope"], results["back"]["category"], results["back"]["description"]) == ("global", "security", None)
    assert results["same"]["changed"] is False
    entry = read_group(samba_dc, BASE)
    assert entry is not None
    assert entry["attributes"]["groupType"] == [str(SECURITY_GLOBAL)]
    assert "description" not in entry["attributes"] or entry["attributes"]["description"] == []


def test_delete_in_check_mode_then_for_real(samba_dc, play):
    group = dict(name=EXCHANGE, path=samba_dc.licensing_ou)
    run, created = play([group_task("create", **group, scope="domainlocal")])
    assert run.rc == 0, run.output
    assert read_group(samba_dc, EXCHANGE)["attributes"]["groupType"] == [str(SECURITY_DOMAIN_LOCAL)]
    usn = samba_dc.highest_usn()
    run, results = play([group_task("delete", **group, state="absent")], check=True, diff=True)
    assert run.rc == 0, run.output
    assert samba_dc.highest_usn() == usn
    assert results["delete"]["changed"] is True
    assert results["delete"]["diff"]["after"] is None
    assert read_group(samba_dc, EXCHANGE) is not None
    run, results = play([group_task("delete", **group, state="absent"), group_task("again", name=EXCHANGE, state="absent")])
    assert run.rc == 0, run.output
    assert results["delete"]["changed"] is True
    assert results["delete"]["object_sid"] == created["create"]["object_sid"]
    assert results["again"]["changed"] is False
    assert results["again"]["dn"] is None
    assert read_group(samba_dc, EXCHANGE) is None


def test_renaming_or_moving_is_refused(samba_dc, play):
    run, results = play([group_task("create", name=BASE, path=samba_dc.licensing_ou)])
    assert run.rc == 0, run.output
    usn = samba_dc.highest_usn()
    run, results = play(
        [
            group_task("move", ignore_errors=True, name=BASE, path=samba_dc.users_ou),
            group_task("rename", ignore_errors=True, name="O365 E3 Base", sam_account_name=BASE, path=samba_dc.licensing_ou),
            group_task("delete_elsewhere", ignore_errors=True, name=BASE, path=samba_dc.users_ou, state="absent"),
            group_task("no_such_ou", ignore_errors=True, name=EXCHANGE, path=f"OU=Nope,{samba_dc.sync_ou}"),
        ]
    )
    assert samba_dc.highest_usn() == usn, run.output
    assert "moving groups is not supported" in results["move"]["msg"]
    assert "renaming groups is not supported" in results["rename"]["msg"]
    assert "moving groups is not supported" in results["delete_elsewhere"]["msg"]
    assert "does not exist" in results["no_such_ou"]["msg"]


@pytest.mark.parametrize("encryption", ["ldaps", "start_tls"])
def test_both_encryptions_work(samba_dc, play, encryption):
    run, results = play([group_task("create", name=BASE, path=samba_dc.licensing_ou, encryption=encryption, members=["IrvinS"])])
    assert run.rc == 0, run.output
    assert results["create"]["changed"] is True
    assert members_of(samba_dc, BASE) == {user(samba_dc, "IrvinS")["dn"].lower()}


def test_a_certificate_from_another_ca_fails_verification(samba_dc, play, tmp_path):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    usn = samba_dc.highest_usn()
    run, results = play(
        [
            group_task("ldaps", ignore_errors=True, name=BASE, path=samba_dc.licensing_ou),
            group_task("start_tls", ignore_errors=True, name=BASE, path=samba_dc.licensing_ou, encryption="start_tls"),
        ],
        env={"AD_CA_BUNDLE": str(other)},
    )
    assert samba_dc.highest_usn() == usn, run.output
    for key in ("ldaps", "start_tls"):
        assert results[key]["failed"] is True
        assert "CERTIFICATE_VERIFY_FAILED" in results[key]["msg"]


def test_validate_certs_false_works_and_warns(samba_dc, play):
    run, results = play([group_task("create", name=BASE, path=samba_dc.licensing_ou, validate_certs=False)], env={"AD_CA_BUNDLE": ""})
    assert run.rc == 0, run.output
    assert results["create"]["changed"] is True
    assert "validate_certs=false" in run.output
    assert "certificate is not verified" in run.output


def test_a_wrong_password_fails_without_showing_it(samba_dc, play):
    run, results = play([group_task("create", ignore_errors=True, name=BASE, path=samba_dc.licensing_ou)], env={"AD_BIND_PASSWORD": "Wr0ng-Secret!x"})
    assert results["create"]["failed"] is True
    assert "invalidCredentials" in results["create"]["msg"]
    assert samba_dc.admin_upn in results["create"]["msg"]
    assert "Wr0ng-Secret!x" not in run.output
    assert "Wr0ng-Secret!x" not in json.dumps(results)
