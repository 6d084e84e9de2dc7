"""Tests for the simulator's OData $filter: grammar, Graph's validation rules and evaluation over Graph JSON."""

from __future__ import annotations

import pytest

from entra_sim.odata import (
    ADVANCED_REQUIRED,
    SYNTAX_ERROR,
    UNSUPPORTED_PROPERTY,
    UNSUPPORTED_QUERY,
    ODataError,
    parse_filter,
    quote,
)

E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
EMS_E3 = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e"

# Shapes as Graph returns them (graph-semantics.md 1.1, 1.2, 2.5), with $select-only properties included.
BASE_GROUP = {
    "id": "1132b215-826f-42a9-8cfe-1643d19d17fd",
    "createdDateTime": "2021-09-21T07:09:14Z",
    "description": "Office 365 E3 for everyone; don't remove",
    "displayName": "O365_Licenses_E3_Base",
    "groupTypes": [],
    "mail": None,
    "mailEnabled": False,
    "mailNickname": "O365_Licenses_E3_Base",
    "membershipRule": None,
    "membershipRuleProcessingState": None,
    "onPremisesSamAccountName": None,
    "onPremisesSecurityIdentifier": None,
    "onPremisesSyncEnabled": None,
    "proxyAddresses": [],
    "securityEnabled": True,
    "assignedLicenses": [{"disabledPlans": ["113feb6c-3fe4-4440-bddc-54d774bf0318"], "skuId": E3}],
    "hasMembersWithLicenseErrors": False,
}
SYNCED_GROUP = {
    **BASE_GROUP,
    "id": "9f1c6c9d-0000-4000-8000-000000000001",
    "displayName": "O365_Licenses_E3_Exchange",
    "description": None,
    "mailNickname": "O365_Licenses_E3_Exchange",
    "onPremisesSamAccountName": "O365_Licenses_E3_Exchange",
    "onPremisesSecurityIdentifier": "S-1-5-21-1004336348-1177238915-682003330-1105",
    "onPremisesSyncEnabled": True,
    "assignedLicenses": [],
    "hasMembersWithLicenseErrors": True,
}
DYNAMIC_GROUP = {
    **BASE_GROUP,
    "id": "21d05557-b7b6-418f-86fa-a3118d751be4",
    "displayName": "Sales & Marketing (Unified)",
    "groupTypes": ["Unified", "DynamicMembership"],
    "mail": "sales+marketing@contoso.com",
    "mailEnabled": True,
    "mailNickname": "salesmarketing",
    "membershipRule": '(user.department -eq "Sales")',
    "membershipRuleProcessingState": "On",
    "proxyAddresses": ["SMTP:sales+marketing@contoso.com", "smtp:sales@contoso.onmicrosoft.com"],
    "assignedLicenses": [{"disabledPlans": [], "skuId": EMS_E3.upper()}],
}
GROUPS = [BASE_GROUP, SYNCED_GROUP, DYNAMIC_GROUP]

ADELE = {
    "id": "047dd774-f1c4-40f2-82f0-278de79f9b83",
    "displayName": "Adele Vance",
    "givenName": "Adele",
    "surname": "Vance",
    "userPrincipalName": "AdeleV@contoso.com",
    "mail": "AdeleV@contoso.com",
    "department": "Retail",
    "jobTitle": "Retail Manager",
    "city": "Bellevue",
    "country": "United States",
    "companyName": None,
    "usageLocation": "US",
    "accountEnabled": True,
    "employeeId": "1001",
    "onPremisesSyncEnabled": None,
    "assignedLicenses": [{"disabledPlans": [], "skuId": E3}],
    "proxyAddresses": ["SMTP:AdeleV@contoso.com"],
}
RENE = {
    "id": "cbc86211-6ada-4803-b73f-8039cf56d8a2",
    "displayName": "René Müller-O'Brien",
    "givenName": "René",
    "surname": "Müller-O'Brien",
    "userPrincipalName": "rene@contoso.com",
    "department": "R&D",
    "country": "Germany",
    "usageLocation": "DE",
    "accountEnabled": False,
    "onPremisesSyncEnabled": True,
    "onPremisesSamAccountName": "rmueller",
    "assignedLicenses": [],
    "proxyAddresses": [],
}
USERS = [ADELE, RENE]


def names(text: str, objects: list[dict]) -> list[str]:
    """Apply a filter the way the simulator does and name what passed."""
    parsed = parse_filter(text)
    return [obj["displayName"] for obj in objects if parsed.matches(obj)]


def error(text: str, resource: str = "group", advanced: bool = False) -> ODataError:
    with pytest.raises(ODataError) as caught:
        parse_filter(text).validate(resource, advanced)
    return caught.value


# --- grammar ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("displayName eq 'O365_Licenses_E3_Base'", ["O365_Licenses_E3_Base"]),
        ("displayName ne 'O365_Licenses_E3_Base'", ["O365_Licenses_E3_Exchange", "Sales & Marketing (Unified)"]),
        ("displayName gt 'O365_Licenses_E3_Base'", ["O365_Licenses_E3_Exchange", "Sales & Marketing (Unified)"]),
        ("displayName ge 'O365_Licenses_E3_Exchange'", ["O365_Licenses_E3_Exchange", "Sales & Marketing (Unified)"]),
        ("displayName lt 'O365_Licenses_E3_Exchange'", ["O365_Licenses_E3_Base"]),
        ("displayName le 'O365_Licenses_E3_Exchange'", ["O365_Licenses_E3_Base", "O365_Licenses_E3_Exchange"]),
        ("securityEnabled eq true and mailEnabled eq false", ["O365_Licenses_E3_Base", "O365_Licenses_E3_Exchange"]),
        (
            "mailEnabled eq true or onPremisesSyncEnabled eq true",
            ["O365_Licenses_E3_Exchange", "Sales & Marketing (Unified)"],
        ),
        ("startswith(displayName,'O365_')", ["O365_Licenses_E3_Base", "O365_Licenses_E3_Exchange"]),
        ("endswith(displayName, '_Exchange')", ["O365_Licenses_E3_Exchange"]),
        ("displayName in ('O365_Licenses_E3_Base', 'nobody')", ["O365_Licenses_E3_Base"]),
        ("groupTypes/any(c:c eq 'Unified')", ["Sales & Marketing (Unified)"]),
        ("groupTypes/any()", ["Sales & Marketing (Unified)"]),
        ("groupTypes/all(c:c ne 'Unified')", ["O365_Licenses_E3_Base", "O365_Licenses_E3_Exchange"]),
        ("groupTypes/$count eq 0", ["O365_Licenses_E3_Base", "O365_Licenses_E3_Exchange"]),
        ("proxyAddresses/any(p:startswith(p, 'smtp:sales@'))", ["Sales & Marketing (Unified)"]),
        (f"assignedLicenses/any(x:x/skuId eq {E3})", ["O365_Licenses_E3_Base"]),
        (f"assignedLicenses/any(x:x/skuId eq '{E3}')", ["O365_Licenses_E3_Base"]),
        (
            "assignedLicenses/any(x:x/disabledPlans/any(p:p eq '113feb6c-3fe4-4440-bddc-54d774bf0318'))",
            ["O365_Licenses_E3_Base"],
        ),
        ("hasMembersWithLicenseErrors eq true", ["O365_Licenses_E3_Exchange"]),
        (
            "createdDateTime ge 2021-09-21T07:09:14Z",
            ["O365_Licenses_E3_Base", "O365_Licenses_E3_Exchange", "Sales & Marketing (Unified)"],
        ),
        ("createdDateTime lt 2021-09-21", []),
        (
            "createdDateTime gt 2021-09-21T09:00:00+02:00",
            ["O365_Licenses_E3_Base", "O365_Licenses_E3_Exchange", "Sales & Marketing (Unified)"],
        ),
        ("onPremisesSecurityIdentifier eq null", ["O365_Licenses_E3_Base", "Sales & Marketing (Unified)"]),
        ("onPremisesSecurityIdentifier ne null", ["O365_Licenses_E3_Exchange"]),
    ],
)
def test_grammar_features_over_groups(text: str, expected: list[str]) -> None:
    assert names(text, GROUPS) == expected


@pytest.mark.parametrize(
    "text",
    [
        "not(mailEnabled eq true)",
        "not (mailEnabled eq true)",
        "NOT mailEnabled eq true",
        "not(groupTypes/any(c:c eq 'Unified'))",
    ],
)
def test_not_with_or_without_space_and_parentheses(text: str) -> None:
    assert names(text, GROUPS) == ["O365_Licenses_E3_Base", "O365_Licenses_E3_Exchange"]


@pytest.mark.parametrize(
    "text",
    [
        "DisplayName EQ 'O365_Licenses_E3_Base' AND SecurityEnabled Eq TRUE",
        "displayname eq 'o365_licenses_e3_base'",
        "STARTSWITH(DISPLAYNAME,'o365_licenses_e3_b')",
        "displayName IN ('O365_LICENSES_E3_BASE')",
        f"AssignedLicenses/ANY(x:x/SKUID eq {E3.upper()})",
    ],
)
def test_keywords_properties_strings_and_guids_ignore_case(text: str) -> None:
    assert names(text, GROUPS) == ["O365_Licenses_E3_Base"]


def test_and_binds_tighter_than_or() -> None:
    text = "mailEnabled eq true or onPremisesSyncEnabled eq true and hasMembersWithLicenseErrors eq false"
    assert names(text, GROUPS) == ["Sales & Marketing (Unified)"]
    text = "(mailEnabled eq true or onPremisesSyncEnabled eq true) and hasMembersWithLicenseErrors eq false"
    assert names(text, GROUPS) == ["Sales & Marketing (Unified)"]
    text = "(mailEnabled eq true or onPremisesSyncEnabled eq true) and hasMembersWithLicenseErrors eq true"
    assert names(text, GROUPS) == ["O365_Licenses_E3_Exchange"]


def test_not_binds_tighter_than_and_and_or() -> None:
    # not applies to the first comparison only: (not mailEnabled) and securityEnabled
    assert names("not mailEnabled eq true and securityEnabled eq true", GROUPS) == [
        "O365_Licenses_E3_Base",
        "O365_Licenses_E3_Exchange",
    ]
    assert names("not mailEnabled eq false or onPremisesSyncEnabled eq true", GROUPS) == [
        "O365_Licenses_E3_Exchange",
        "Sales & Marketing (Unified)",
    ]
    assert names("not (mailEnabled eq false or onPremisesSyncEnabled eq true)", GROUPS) == [
        "Sales & Marketing (Unified)"
    ]
    assert names("not not mailEnabled eq true", GROUPS) == ["Sales & Marketing (Unified)"]


def test_nested_parentheses() -> None:
    text = "((displayName eq 'x') or ((securityEnabled eq true) and (mailEnabled eq true)))"
    assert names(text, GROUPS) == ["Sales & Marketing (Unified)"]


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("allowExternalSenders", "true"),
        ("nullable", "1"),
        ("anything", "'x'"),
        ("notes", "'x'"),
        ("orders", "'x'"),
        ("android", "'x'"),
        ("equipment", "'x'"),
        ("inside", "'x'"),
        ("trueName", "'x'"),
        ("falsehood", "'x'"),
        ("allowed", "null"),
    ],
)
def test_identifiers_that_start_with_keywords(prop: str, value: str) -> None:
    parsed = parse_filter(f"{prop} eq {value} and {prop} ne {value}")
    assert not parsed.matches({})
    assert parse_filter(f"not({prop} eq {value})").matches({prop: "other"})


def test_identifier_with_keyword_prefix_matches_its_value() -> None:
    parsed = parse_filter("allowExternalSenders eq true or notes eq 'vip'")
    assert parsed.matches({"allowExternalSenders": True})
    assert parsed.matches({"notes": "VIP"})
    assert not parsed.matches({"allowExternalSenders": False, "notes": "other"})


@pytest.mark.parametrize(
    "value",
    [
        "O'Brien",
        "''",
        "'",
        "it's 'quoted'",
        "a and b or c eq d",
        "(not) in ('x')",
        "R&D",
        "sales+marketing@contoso.com",
        "Müller-O'Brien ☃ 日本語",
        "50% / 100%",
        "x:y/any(z:z)",
        "",
    ],
)
def test_quote_round_trip(value: str) -> None:
    parsed = parse_filter(f"displayName eq {quote(value)}")
    assert parsed.matches({"displayName": value})
    assert not parsed.matches({"displayName": value + "!"})


def test_quote_doubles_apostrophes() -> None:
    assert quote("O'Brien") == "'O''Brien'"
    assert quote("") == "''"
    assert quote("''") == "''''''"


def test_unicode_literals_and_case_folding() -> None:
    assert names("surname eq 'müller-o''brien'", USERS) == ["René Müller-O'Brien"]
    assert names("startswith(displayName, 'RENÉ')", USERS) == ["René Müller-O'Brien"]
    assert names("givenName eq 'René' and department eq 'r&d'", USERS) == ["René Müller-O'Brien"]


def test_string_literals_containing_operators_and_parentheses() -> None:
    group = {"displayName": "Sales and Marketing (eq) or not"}
    assert parse_filter("displayName eq 'Sales and Marketing (eq) or not'").matches(group)
    assert parse_filter("displayName in ('a,b', 'Sales and Marketing (eq) or not')").matches(group)


def test_numbers_and_datetimes() -> None:
    obj = {"count": 3, "ratio": 0.5, "when": "2024-05-02T08:30:00.1234567Z"}
    assert parse_filter("count gt 2 and count lt 4 and count ne -3").matches(obj)
    assert parse_filter("ratio eq 0.5").matches(obj)
    assert parse_filter("when gt 2024-05-02T08:30:00Z and when lt 2024-05-02T08:30:01Z").matches(obj)
    assert parse_filter("when ge 2024-05-02").matches(obj)
    assert not parse_filter("when eq 2024-05-02").matches(obj)


def test_missing_property_is_null() -> None:
    assert parse_filter("companyName eq null").matches(ADELE)
    assert parse_filter("employeeType eq null").matches(ADELE)
    assert not parse_filter("employeeType ne null").matches(ADELE)
    assert not parse_filter("employeeType eq 'Employee'").matches(ADELE)
    assert not parse_filter("startswith(employeeType, 'E')").matches(ADELE)
    assert not parse_filter("employeeType gt 'A'").matches(ADELE)
    assert not parse_filter("otherMails/any(m:m eq 'x')").matches(ADELE)
    assert parse_filter("otherMails/$count eq 0").matches(ADELE)


def test_booleans_are_not_numbers() -> None:
    assert not parse_filter("securityEnabled eq 1").matches(BASE_GROUP)
    assert parse_filter("securityEnabled ne 1").matches(BASE_GROUP)
    assert not parse_filter("securityEnabled eq 'true'").matches(BASE_GROUP)


def test_comparisons_between_mismatched_types_are_false() -> None:
    assert not parse_filter("displayName gt 3").matches(BASE_GROUP)
    assert not parse_filter("createdDateTime gt 2021-01-01 and displayName lt 2021-01-01").matches(BASE_GROUP)
    assert not parse_filter("startswith(securityEnabled, 't')").matches(BASE_GROUP)
    assert not parse_filter("groupTypes/any(c:c eq 'x')").matches({"groupTypes": "not a list"})


def test_lambda_variable_shadows_property_of_same_name() -> None:
    assert parse_filter("groupTypes/any(displayName:displayName eq 'Unified')").matches(DYNAMIC_GROUP)


def test_filters_over_users() -> None:
    assert names(f"assignedLicenses/any(x:x/skuId eq {E3})", USERS) == ["Adele Vance"]
    assert names("assignedLicenses/$count eq 0", USERS) == ["René Müller-O'Brien"]
    assert names("assignedLicenses/$count ne 0", USERS) == ["Adele Vance"]
    assert names(f"not assignedLicenses/any(x:x/skuId eq {E3})", USERS) == ["René Müller-O'Brien"]
    assert names("accountEnabled eq false", USERS) == ["René Müller-O'Brien"]
    assert names("usageLocation in ('US', 'GB')", USERS) == ["Adele Vance"]
    assert names("endswith(userPrincipalName,'@CONTOSO.COM')", USERS) == ["Adele Vance", "René Müller-O'Brien"]
    assert names("onPremisesSamAccountName eq 'RMUELLER'", USERS) == ["René Müller-O'Brien"]
    assert names("proxyAddresses/any(p:endswith(p, '@contoso.com'))", USERS) == ["Adele Vance"]


# --- syntax errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("", 0),
        ("displayName eq", 14),
        ("displayName eq 'abc", 15),
        ("displayName eq 'a''", 18),
        ("displayName eq 'a' and", 22),
        ("displayName eq 'a' extra", 19),
        ("displayName eq eq 'a'", 18),
        ("displayName = 'a'", 12),
        ('displayName eq "a"', 15),
        ("(displayName eq 'a'", 19),
        ("displayName eq 'a')", 18),
        ("startswith(displayName 'a')", 23),
        ("startswith(displayName)", 22),
        ("displayName in ()", 16),
        ("displayName in 'a'", 15),
        ("displayName in (displayName)", 16),
        ("groupTypes/any(c c eq 'x')", 17),
        ("groupTypes/ eq 'x'", 15),
        ("groupTypes/$value eq 0", 11),
        ("displayName eq 1x", 15),
        ("displayName eq 1.", 15),
        ("a eq b eq c", 7),
        ("displayName eq 'x' and not", 26),
    ],
)
def test_syntax_error_positions(text: str, position: int) -> None:
    with pytest.raises(ODataError) as caught:
        parse_filter(text)
    assert caught.value.code == "BadRequest"
    assert caught.value.message == SYNTAX_ERROR.format(position=position, text=text)
    assert str(caught.value) == caught.value.message


def test_syntax_error_text() -> None:
    with pytest.raises(ODataError) as caught:
        parse_filter("displayName eq")
    assert caught.value.message == "Invalid filter clause: Syntax error at position 14 in 'displayName eq'."


@pytest.mark.parametrize("text", ["contains(displayName, 'a')", "tolower(displayName) eq 'a'"])
def test_functions_graph_does_not_offer(text: str) -> None:
    with pytest.raises(ODataError) as caught:
        parse_filter(text)
    assert (caught.value.code, caught.value.message) == ("Request_UnsupportedQuery", UNSUPPORTED_QUERY)


# --- needs_advanced -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "advanced"),
    [
        ("displayName eq 'a'", False),
        ("displayName eq 'a' and securityEnabled eq true or startswith(mail, 'x')", False),
        ("displayName in ('a', 'b')", False),
        ("groupTypes/any(c:c eq 'Unified')", False),
        (f"assignedLicenses/any(x:x/skuId eq {E3})", False),
        ("displayName ne 'a'", True),
        ("not(displayName eq 'a')", True),
        ("not displayName eq 'a'", True),
        ("endswith(mail, '@contoso.com')", True),
        ("displayName eq null", True),
        ("displayName ne null", True),
        ("null eq displayName", True),
        ("assignedLicenses/$count eq 0", True),
        ("displayName eq 'a' or (securityEnabled eq true and groupTypes/any(c:c ne 'Unified'))", True),
        ("proxyAddresses/any(p:endswith(p, 'x'))", True),
        ("notes eq 'a' and nullable eq 1 and endswithx eq 2", False),
        ("displayName eq 'not' and mail eq 'endswith(x)'", False),
    ],
)
def test_needs_advanced(text: str, advanced: bool) -> None:
    assert parse_filter(text).needs_advanced is advanced


# --- validate -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "displayName eq 'O365_Licenses_E3_Base'",
        "startswith(displayName, 'O365')",
        "displayName in ('a', 'b')",
        "mailNickname eq 'a' and securityEnabled eq true and mailEnabled eq false",
        "groupTypes/any(c:c eq 'DynamicMembership')",
        f"assignedLicenses/any(x:x/skuId eq {E3})",
        "hasMembersWithLicenseErrors eq true",
        "onPremisesSyncEnabled eq true",
        "onPremisesSecurityIdentifier eq 'S-1-5-21-1-2-3-1105'",
        "onPremisesSamAccountName eq 'GG_Licenses'",
        "membershipRuleProcessingState eq 'On'",
        "startswith(membershipRule, '(user.')",
        "id in ('1132b215-826f-42a9-8cfe-1643d19d17fd')",
        "mail eq 'a@contoso.com' or description eq 'x'",
        "proxyAddresses/any(p:startswith(p, 'smtp:'))",
    ],
)
def test_group_filters_graph_accepts_by_default(text: str) -> None:
    parsed = parse_filter(text)
    assert not parsed.needs_advanced
    parsed.validate("group", advanced=False)
    parsed.validate("group", advanced=True)


@pytest.mark.parametrize(
    "text",
    [
        "userPrincipalName eq 'AdeleV@contoso.com'",
        "startswith(userPrincipalName, 'adele')",
        "mail eq 'a' and givenName eq 'b' and surname eq 'c' and displayName eq 'd'",
        "department eq 'Retail' and jobTitle eq 'x' and country eq 'US' and city eq 'Bellevue'",
        "usageLocation eq 'US' and accountEnabled eq true and employeeId eq '1001'",
        "onPremisesSyncEnabled eq true and onPremisesSecurityIdentifier eq 'S-1-5-21-1-2-3-1105'",
        f"assignedLicenses/any(x:x/skuId eq {E3})",
        "id in ('047dd774-f1c4-40f2-82f0-278de79f9b83')",
        "createdDateTime ge 2024-01-01T00:00:00Z",
    ],
)
def test_user_filters_graph_accepts_by_default(text: str) -> None:
    parse_filter(text).validate("user", advanced=False)


@pytest.mark.parametrize(
    ("text", "resource"),
    [
        ("displayName ne 'a'", "group"),
        ("not(displayName eq 'a')", "group"),
        ("not groupTypes/any(c:c eq 'Unified')", "group"),
        ("endswith(mail, '@contoso.com')", "group"),
        ("displayName eq null", "group"),
        ("mail ne null", "group"),
        ("proxyAddresses/$count eq 0", "group"),
        ("endswith(userPrincipalName, '#EXT#@contoso.com')", "user"),
        ("assignedLicenses/$count eq 0", "user"),
        (f"not assignedLicenses/any(x:x/skuId eq {E3})", "user"),
        ("companyName eq 'Contoso'", "user"),
        ("onPremisesSamAccountName eq 'rmueller'", "user"),
        ("department eq null", "user"),
    ],
)
def test_advanced_queries_pass_with_advanced_parameters(text: str, resource: str) -> None:
    parse_filter(text).validate(resource, advanced=True)


@pytest.mark.parametrize(
    ("text", "resource", "op"),
    [
        ("displayName ne 'a'", "group", "ne"),
        ("not(displayName eq 'a')", "group", "not"),
        ("NOT startswith(displayName, 'Conf')", "user", "not"),
        ("not groupTypes/any(c:c eq 'Unified')", "group", "not"),
        ("endswith(mail,'@outlook.com')", "user", "endsWith"),
        ("endswith(userPrincipalName,'#EXT#@contoso.com')", "user", "endsWith"),
        ("displayName eq null", "group", "eq"),
        ("companyName ne null", "user", "ne"),
        ("assignedLicenses/$count eq 0", "user", "$count"),
        ("companyName eq 'Microsoft'", "user", "eq"),
        ("displayName eq 'a' and (securityEnabled eq true or mail ne 'x')", "group", "ne"),
    ],
)
def test_advanced_operators_without_advanced_parameters(text: str, resource: str, op: str) -> None:
    caught = error(text, resource)
    assert caught.code == "Request_UnsupportedQuery"
    assert caught.message == ADVANCED_REQUIRED.format(op=op)


def test_advanced_error_text_word_for_word() -> None:
    caught = error("endswith(userPrincipalName,'#EXT#@contoso.com')", "user")
    assert caught.message == (
        "Operator 'endsWith' is not supported because the required parameters might be missing. "
        "Try adding $count=true query parameter and ConsistencyLevel:eventual header. "
        "Refer to https://aka.ms/graph-docs/advanced-queries for more information"
    )


@pytest.mark.parametrize(
    ("text", "resource", "prop"),
    [
        ("createdDateTime ge 2021-11-01", "group", "createdDateTime"),
        ("hasMembersWithLicenseErrors ne true", "group", "hasMembersWithLicenseErrors"),
        ("not(hasMembersWithLicenseErrors eq true)", "group", "hasMembersWithLicenseErrors"),
        ("hasMembersWithLicenseErrors in (true)", "group", "hasMembersWithLicenseErrors"),
        ("startswith(id, '1132')", "group", "id"),
        ("displayName gt 'a'", "group", "displayName"),
        ("endswith(displayName, 'Base')", "group", "displayName"),
        ("groupTypes eq 'Unified'", "group", "groupTypes"),
        ("groupTypes/any(c:c ne 'Unified')", "group", "groupTypes"),
        ("groupTypes/all(c:c eq 'Unified')", "group", "groupTypes"),
        ("groupTypes/any()", "group", "groupTypes"),
        ("groupTypes/$count eq 0", "group", "groupTypes"),
        ("assignedLicenses/any(x:x/disabledPlans eq 'a')", "group", "assignedLicenses"),
        ("not assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)", "group", "assignedLicenses"),
        ("securityEnabled", "group", "securityEnabled"),
        ("displayName/any(c:c eq 'a')", "group", "displayName"),
        ("displayName/$count eq 0", "group", "displayName"),
        ("allowExternalSenders eq true", "group", "allowExternalSenders"),
        ("onPremisesExtensionAttributes/extensionAttribute1 eq 'x'", "user", "onPremisesExtensionAttributes"),
        ("licenseAssignmentStates/any(x:x/state eq 'Error')", "user", "licenseAssignmentStates"),
        ("userPrincipalName eq null", "user", "userPrincipalName"),
        ("onPremisesSecurityIdentifier ne 'S-1'", "user", "onPremisesSecurityIdentifier"),
        ("hasMembersWithLicenseErrors eq true", "user", "hasMembersWithLicenseErrors"),
        ("groupTypes/any(c:c eq 'Unified')", "user", "groupTypes"),
    ],
)
def test_unsupported_property_or_operator(text: str, resource: str, prop: str) -> None:
    for advanced in (False, True):
        caught = error(text, resource, advanced)
        assert caught.code == "Request_UnsupportedQuery"
        assert caught.message == UNSUPPORTED_PROPERTY.format(prop=prop, resource=resource.capitalize())


def test_documented_created_date_time_error_word_for_word() -> None:
    caught = error("createdDateTime ge 2021-11-01", "group", advanced=True)
    assert caught.message == (
        "Unsupported or invalid query filter clause specified for property 'createdDateTime' of resource 'Group'."
    )


def test_property_names_in_errors_use_graph_spelling() -> None:
    assert error("HASMEMBERSWITHLICENSEERRORS ne true").message == UNSUPPORTED_PROPERTY.format(
        prop="hasMembersWithLicenseErrors", resource="Group"
    )
    assert error("CostCenter eq 'x'", "user").message == UNSUPPORTED_PROPERTY.format(prop="CostCenter", resource="User")


def test_department_is_a_user_property_not_a_group_property() -> None:
    parse_filter("department eq 'x'").validate("user", advanced=False)
    assert error("department eq 'x'").message == UNSUPPORTED_PROPERTY.format(prop="department", resource="Group")


def test_leftmost_offending_clause_is_reported() -> None:
    text = "createdDateTime ge 2021-11-01 and displayName ne 'a'"
    assert error(text).message == UNSUPPORTED_PROPERTY.format(prop="createdDateTime", resource="Group")
    text = "displayName ne 'a' and createdDateTime ge 2021-11-01"
    assert error(text).message == ADVANCED_REQUIRED.format(op="ne")


@pytest.mark.parametrize("text", ["true", "'a' eq 'a'", "displayName eq mail"])
def test_filters_without_a_property_clause(text: str) -> None:
    caught = error(text)
    assert (caught.code, caught.message) == ("Request_UnsupportedQuery", UNSUPPORTED_QUERY)


def test_literal_on_the_left_is_accepted() -> None:
    parse_filter("'O365_Licenses_E3_Base' eq displayName").validate("group", advanced=False)
    assert names("'O365_Licenses_E3_Base' eq displayName", GROUPS) == ["O365_Licenses_E3_Base"]


def test_validate_resource_is_case_insensitive_and_checked() -> None:
    parse_filter("displayName eq 'a'").validate("Group", advanced=False)
    with pytest.raises(ValueError, match="resource must be one of"):
        parse_filter("displayName eq 'a'").validate("device", advanced=False)


def test_repr_names_the_filter() -> None:
    assert repr(parse_filter("displayName eq 'a'")) == "Filter(\"displayName eq 'a'\")"
