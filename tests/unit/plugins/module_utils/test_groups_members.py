"""Group property comparison and member planning: pure logic, with Graph's own JSON shapes."""

from __future__ import annotations

import pytest

from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.groups import (
    changes,
    create_body,
    derive_mail_nickname,
    diff_view,
    validate_mail_nickname,
)
from ansible_collections.entra.licensing.plugins.module_utils.members import match_current, nested_groups, plan_changes

# Graph's documented default-property body of a new security group (group-post-groups.md).
CREATED = {
    "id": "21d05557-b7b6-418f-86fa-a3118d751be4",
    "displayName": "Operations group",
    "description": "Group with designated owner and members",
    "groupTypes": [],
    "mailEnabled": False,
    "mailNickname": "operations2019",
    "membershipRule": None,
    "membershipRuleProcessingState": None,
    "onPremisesSyncEnabled": None,
    "securityEnabled": True,
}


def params(**values):
    base = {
        "name": None,
        "description": None,
        "mail_nickname": None,
        "membership_type": None,
        "membership_rule": None,
        "membership_rule_processing_state": None,
    }
    base.update(values)
    return base


@pytest.mark.parametrize(
    ("name", "nickname"),
    [
        ("O365_Licenses_E3_Base", "O365_Licenses_E3_Base"),
        ("O'Brien & Sons + Partners", "O'Brien&Sons+Partners"),
        ("Équipe Île-de-France", "EquipeIle-de-France"),
        ("Sales (EU): team; a.b <x>, [y] \\z \"q\" @home", "SalesEUteamabxyzqhome"),
        ("x" * 80, "x" * 64),
    ],
)
def test_mail_nickname_is_derived_valid_and_stable(name, nickname):
    assert derive_mail_nickname(name) == nickname
    validate_mail_nickname(derive_mail_nickname(name))


def test_a_name_without_latin_letters_gets_a_stable_hashed_nickname():
    first = derive_mail_nickname("日本の営業")
    assert first.startswith("group-")
    assert first == derive_mail_nickname("日本の営業")
    assert first != derive_mail_nickname("中国の営業")


@pytest.mark.parametrize("bad", ["has space", "a@b", "dot.ted", "ünïcode", "", "x" * 65])
def test_invalid_mail_nicknames_are_refused_before_any_write(bad):
    with pytest.raises(GraphError, match="mail_nickname"):
        validate_mail_nickname(bad)


def test_create_body_for_an_assigned_security_group():
    body = create_body(params(name="O365_Licenses_E3_Base", description="E3"))
    assert body == {
        "displayName": "O365_Licenses_E3_Base",
        "mailEnabled": False,
        "securityEnabled": True,
        "mailNickname": "O365_Licenses_E3_Base",
        "groupTypes": [],
        "description": "E3",
    }


def test_create_body_for_a_dynamic_group_turns_the_rule_on():
    body = create_body(params(name="Sales", membership_type="dynamic", membership_rule='user.department -eq "Sales"'))
    assert body["groupTypes"] == ["DynamicMembership"]
    assert body["membershipRule"] == 'user.department -eq "Sales"'
    assert body["membershipRuleProcessingState"] == "On"


def test_only_given_options_that_differ_are_patched():
    assert changes(CREATED, params(name="Operations group")) == {}
    assert changes(CREATED, params(description="New")) == {"description": "New"}
    assert changes(CREATED, params(name="Renamed", mail_nickname="operations2019")) == {"displayName": "Renamed"}


def test_switching_to_dynamic_patches_the_types_and_the_rule_together():
    patch = changes(CREATED, params(membership_type="dynamic", membership_rule='user.department -eq "IT"'))
    assert patch == {
        "groupTypes": ["DynamicMembership"],
        "membershipRule": 'user.department -eq "IT"',
        "membershipRuleProcessingState": "On",
    }


def test_switching_to_assigned_drops_the_rule_and_keeps_other_types():
    dynamic = {**CREATED, "groupTypes": ["Unified", "DynamicMembership"], "membershipRule": "x", "membershipRuleProcessingState": "On"}
    assert changes(dynamic, params(membership_type="assigned")) == {"groupTypes": ["Unified"]}
    assert changes(dynamic, params()) == {}


def test_diff_view_sorts_lists_and_is_none_for_a_missing_group():
    assert diff_view(None) is None
    assert diff_view({**CREATED, "groupTypes": ["Unified", "DynamicMembership"]})["groupTypes"] == ["DynamicMembership", "Unified"]


ADELE = {"@odata.type": "#microsoft.graph.user", "id": "a1000000-0000-4000-8000-000000000001", "userPrincipalName": "AdeleV@contoso.onmicrosoft.com"}
ALEX = {"@odata.type": "#microsoft.graph.user", "id": "a1000000-0000-4000-8000-000000000002", "userPrincipalName": "AlexW@contoso.onmicrosoft.com"}
ADMINS = {"@odata.type": "#microsoft.graph.group", "id": "b2000000-0000-4000-8000-000000000001", "displayName": "IT Admins"}
CURRENT = {ADELE["id"]: ADELE, ADMINS["id"]: ADMINS}


def test_current_members_answer_references_by_upn_in_any_case_or_by_id():
    known, unknown = match_current(["adelev@CONTOSO.onmicrosoft.com", ADMINS["id"].upper(), "AlexW@contoso.onmicrosoft.com"], CURRENT)
    assert known == {"adelev@CONTOSO.onmicrosoft.com": ADELE, ADMINS["id"].upper(): ADMINS}
    assert unknown == ["AlexW@contoso.onmicrosoft.com"]


def test_present_adds_only_the_missing():
    assert plan_changes(CURRENT, {"a": ADELE, "b": ALEX}, "present") == ([ALEX], [])


def test_absent_removes_only_listed_current_members():
    assert plan_changes(CURRENT, {"a": ADELE, "b": ALEX}, "absent") == ([], [ADELE])


def test_exact_adds_the_missing_and_removes_the_unlisted():
    assert plan_changes(CURRENT, {"b": ALEX, "a": ADELE}, "exact") == ([ALEX], [ADMINS])
    assert plan_changes(CURRENT, {}, "exact") == ([], [ADELE, ADMINS])


def test_nested_groups_are_named_for_the_licensing_warning():
    assert nested_groups([ADELE, ADMINS]) == ["IT Admins"]
