"""Tests for dynamic membership rules: Microsoft's syntax, evaluation over Graph user JSON, and clear refusals."""

from __future__ import annotations

import pytest

from entra_sim.rules import MAX_RULE_LENGTH, RuleError, parse_rule

EXCHANGE_PLAN_2 = "efb87545-963c-4e0d-99df-69c6916d9eb0"

# Graph user objects as the simulator stores them (camelCase, $select-only properties included).
ADELE = {
    "id": "047dd774-f1c4-40f2-82f0-278de79f9b83",
    "displayName": "Adele Vance",
    "userPrincipalName": "AdeleV@contoso.com",
    "mail": "AdeleV@contoso.com",
    "mailNickname": "AdeleV",
    "givenName": "Adele",
    "surname": "Vance",
    "department": "Sales",
    "jobTitle": "SDE II",
    "companyName": "Contoso",
    "country": "US",
    "city": "Bellevue",
    "usageLocation": "US",
    "accountEnabled": True,
    "userType": "Member",
    "employeeId": "50002",
    "mobilePhone": "+1 425 555 0109",
    "businessPhones": ["+1 425 555 0100"],
    "officeLocation": "18/2111",
    "onPremisesSyncEnabled": True,
    "onPremisesExtensionAttributes": {"extensionAttribute1": "E3", "extensionAttribute2": None},
    "proxyAddresses": ["SMTP:AdeleV@contoso.com", "smtp:adele@contoso.onmicrosoft.com"],
    "otherMails": [],
    "assignedPlans": [
        {
            "assignedDateTime": "2024-05-01T10:00:00Z",
            "capabilityStatus": "Enabled",
            "service": "exchange",
            "servicePlanId": EXCHANGE_PLAN_2,
        },
        {
            "assignedDateTime": "2024-05-01T10:00:00Z",
            "capabilityStatus": "Deleted",
            "service": "SCO",
            "servicePlanId": "c1ec4a95-1f05-45b3-a911-aa3fa01094f5",
        },
    ],
}
GRADY = {
    "id": "cbc86211-6ada-4803-b73f-8039cf56d8a2",
    "displayName": 'Grady "The Boss" Archie',
    "userPrincipalName": "GradyA@contoso.com",
    "mail": None,
    "department": "Marketing",
    "jobTitle": "Designer",
    "country": "GB",
    "usageLocation": "GB",
    "accountEnabled": False,
    "userType": "Guest",
    "proxyAddresses": [],
    "assignedPlans": [],
}
ISAIAH = {
    "id": "2bc86211-6ada-4803-b73f-8039cf56d8a2",
    "displayName": "Isaiah Langer",
    "userPrincipalName": "IsaiahL@contoso.com",
    "department": "sales",
    "jobTitle": "Sales Rep",
    "country": "US",
    "accountEnabled": True,
    "onPremisesSyncEnabled": None,
}
USERS = [ADELE, GRADY, ISAIAH]


def members(rule: str) -> list[str]:
    parsed = parse_rule(rule)
    return [user["displayName"] for user in USERS if parsed.matches(user)]


def refused(rule: str) -> RuleError:
    with pytest.raises(RuleError) as caught:
        parse_rule(rule)
    assert caught.value.message == str(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ('user.department -eq "Sales"', ["Adele Vance", "Isaiah Langer"]),
        ('user.department -ne "Sales"', ['Grady "The Boss" Archie']),
        ('user.jobTitle -startsWith "sde"', ["Adele Vance"]),
        ('user.jobTitle -notStartsWith "SDE"', ['Grady "The Boss" Archie', "Isaiah Langer"]),
        (
            'user.userPrincipalName -endsWith "@CONTOSO.COM"',
            ["Adele Vance", 'Grady "The Boss" Archie', "Isaiah Langer"],
        ),
        ('user.displayName -notEndsWith "Vance"', ['Grady "The Boss" Archie', "Isaiah Langer"]),
        ('user.displayName -contains "AN"', ["Adele Vance", "Isaiah Langer"]),
        ('user.displayName -notContains "an"', ['Grady "The Boss" Archie']),
        ('user.displayName -match "^Ad.*"', ["Adele Vance"]),
        ('user.displayName -match ".*er$"', ["Isaiah Langer"]),
        ('user.displayName -notMatch "^ad"', ['Grady "The Boss" Archie', "Isaiah Langer"]),
        ('user.country -in ["GB","FR"]', ['Grady "The Boss" Archie']),
        ('user.country -notIn ["GB", "FR"]', ["Adele Vance", "Isaiah Langer"]),
        ("user.accountEnabled -eq true", ["Adele Vance", "Isaiah Langer"]),
        ("user.accountEnabled -eq false", ['Grady "The Boss" Archie']),
        ('user.accountEnabled -eq "True"', ["Adele Vance", "Isaiah Langer"]),
        ("user.accountEnabled -ne true", ['Grady "The Boss" Archie']),
        ("user.mail -eq null", ['Grady "The Boss" Archie', "Isaiah Langer"]),
        ("user.mail -ne null", ["Adele Vance"]),
        ("user.mail -ne $null", ["Adele Vance"]),
        ('user.mail -eq "null"', []),
        ('user.companyName -eq "contoso"', ["Adele Vance"]),
        ('user.employeeId -in ["50001","50002","50003"]', ["Adele Vance"]),
    ],
)
def test_operators(rule: str, expected: list[str]) -> None:
    assert members(rule) == expected


def test_missing_property_is_null() -> None:
    assert members("user.companyName -eq null") == ['Grady "The Boss" Archie', "Isaiah Langer"]
    assert members('user.companyName -notContains "TOSO"') == ['Grady "The Boss" Archie', "Isaiah Langer"]
    assert members('user.companyName -contains ""') == ["Adele Vance"]
    assert members('user.companyName -notIn ["Contoso"]') == ['Grady "The Boss" Archie', "Isaiah Langer"]


def test_operators_and_property_names_ignore_case() -> None:
    assert members('USER.DEPARTMENT -EQ "SALES"') == ["Adele Vance", "Isaiah Langer"]
    assert members('user.JobTitle -STARTSWITH "sde"') == ["Adele Vance"]
    assert members('user.mailnickname -eq "adelev"') == ["Adele Vance"]


def test_operators_without_hyphen() -> None:
    assert members('user.department eq "Sales" and not (user.jobTitle startsWith "SDE")') == ["Isaiah Langer"]
    assert members('(user.jobTitle -eq "Designer") or (user.displayName -in ["Adele Vance"])') == [
        "Adele Vance",
        'Grady "The Boss" Archie',
    ]


def test_en_dash_pasted_from_microsoft_docs() -> None:
    rule = 'user.country -eq "US" -and (user.department -eq "Marketing" -or user.department -eq "Sales")'.replace(
        "-", "\u2013"
    )
    assert members(rule) == ["Adele Vance", "Isaiah Langer"]


def test_precedence_and_before_or() -> None:
    rule = 'user.department -eq "Marketing" -or user.department -eq "Sales" -and user.jobTitle -eq "Sales Rep"'
    assert members(rule) == ['Grady "The Boss" Archie', "Isaiah Langer"]
    rule = '(user.department -eq "Marketing" -or user.department -eq "Sales") -and user.jobTitle -eq "Sales Rep"'
    assert members(rule) == ["Isaiah Langer"]


def test_not_binds_tighter_than_and() -> None:
    assert members('-not user.department -eq "Sales" -and user.accountEnabled -eq false') == ['Grady "The Boss" Archie']
    assert members('(user.department -eq "Sales") -and -not (user.jobTitle -startsWith "SDE")') == ["Isaiah Langer"]
    assert members('-not (user.department -eq "Sales" -or user.country -eq "GB")') == []
    assert members('not not user.country -eq "GB"') == ['Grady "The Boss" Archie']


def test_nested_parentheses() -> None:
    rule = '((user.country -eq "US") -and ((user.jobTitle -eq "Sales Rep") -or (user.jobTitle -eq "SDE II")))'
    assert members(rule) == ["Adele Vance", "Isaiah Langer"]


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ('user.displayName -eq "Grady \\"The Boss\\" Archie"', 'Grady "The Boss" Archie'),
        ('user.displayName -eq "Grady `"The Boss`" Archie"', 'Grady "The Boss" Archie'),
        ('user.displayName -eq "O\'Brien -and (x) -or user.y"', "O'Brien -and (x) -or user.y"),
        ('user.displayName -eq "Müller ☃ 日本"', "Müller ☃ 日本"),
        ('user.displayName -eq ""', ""),
        ('user.displayName -eq "back\\\\slash"', "back\\\\slash"),
    ],
)
def test_string_values(rule: str, value: str) -> None:
    assert parse_rule(rule).matches({"displayName": value})
    assert not parse_rule(rule).matches({"displayName": value + "x"})


def test_match_keeps_backslashes_for_regular_expressions() -> None:
    rule = parse_rule('user.employeeId -match "^\\d{5}$"')
    assert rule.matches(ADELE)
    assert not rule.matches({"employeeId": "5000A"})
    assert parse_rule('user.mail -match ".*@contoso\\.com$"').matches(ADELE)
    assert not parse_rule('user.mail -match ".*@contoso\\.com$"').matches({"mail": "x@contosoXcom"})


def test_renamed_properties_map_to_graph_json() -> None:
    assert parse_rule("user.dirSyncEnabled -eq true").matches(ADELE)
    assert not parse_rule("user.dirSyncEnabled -eq true").matches(ISAIAH)
    assert parse_rule('user.objectId -eq "047DD774-F1C4-40F2-82F0-278DE79F9B83"').matches(ADELE)
    assert parse_rule('user.mobile -startsWith "+1 425"').matches(ADELE)
    assert parse_rule('user.telephoneNumber -eq "+1 425 555 0100"').matches(ADELE)
    assert parse_rule("user.telephoneNumber -eq null").matches(GRADY)
    assert parse_rule('user.physicalDeliveryOfficeName -eq "18/2111"').matches(ADELE)
    assert parse_rule('user.extensionAttribute1 -eq "e3"').matches(ADELE)
    assert parse_rule("user.extensionAttribute2 -eq null").matches(ADELE)
    assert parse_rule("user.extensionAttribute15 -eq null").matches(GRADY)
    assert parse_rule('user.extension_b7d8e5fa_costCenter -eq "4711"').matches(
        {"extension_b7d8e5fa_costCenter": "4711"}
    )


def test_string_collections() -> None:
    assert members('user.proxyAddresses -startsWith "smtp:adele@"') == ["Adele Vance"]
    assert members('user.proxyAddresses -notEndsWith "@outlook.com"') == [
        "Adele Vance",
        'Grady "The Boss" Archie',
        "Isaiah Langer",
    ]
    assert members('user.proxyAddresses -contains "onmicrosoft"') == ["Adele Vance"]
    assert members("user.otherMails -eq null") == ["Adele Vance", 'Grady "The Boss" Archie', "Isaiah Langer"]
    assert members("user.proxyAddresses -ne null") == ["Adele Vance"]


def test_any_and_all() -> None:
    rule = (
        f'user.assignedPlans -any (assignedPlan.servicePlanId -eq "{EXCHANGE_PLAN_2}"'
        ' -and assignedPlan.capabilityStatus -eq "Enabled")'
    )
    assert members(rule) == ["Adele Vance"]
    assert (
        members(
            'user.assignedPlans -any (assignedPlan.service -eq "SCO" -and assignedPlan.capabilityStatus -eq "Enabled")'
        )
        == []
    )
    assert members('user.proxyAddresses -any (_ -startsWith "SMTP:")') == ["Adele Vance"]
    assert members('user.proxyAddresses -all (_ -contains "contoso")') == [
        "Adele Vance",
        'Grady "The Boss" Archie',
        "Isaiah Langer",
    ]
    assert members('user.proxyAddresses -all (_ -endsWith ".com")') == members("user.displayName -ne null")
    assert members('user.proxyAddresses -all (_ -endsWith "contoso.com")') == [
        'Grady "The Boss" Archie',
        "Isaiah Langer",
    ]
    assert members('user.accountEnabled -eq true -and (user.proxyAddresses -any (_ -contains "adele"))') == [
        "Adele Vance"
    ]


def test_rule_keeps_its_text() -> None:
    rule = parse_rule('user.department -eq "Sales"')
    assert rule.text == 'user.department -eq "Sales"'
    assert repr(rule) == "Rule('user.department -eq \"Sales\"')"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('user.department -equals "Sales"', "Unknown operator '-equals'; use one of -eq, -ne, "),
        ('user.department -like "Sales*"', "Unknown operator '-like'"),
        ('user.department -gt "A"', "Unknown operator '-gt'"),
        ('device.deviceOSType -eq "Windows"', "Device rules are not supported"),
        ('(user.department -eq "Sales") -or (device.displayName -eq "PC")', "Device rules are not supported"),
        ('user.memberOf -any (group.objectId -in ["aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"])', "user.memberof rules"),
        ('user.departmnet -eq "Sales"', "Unsupported user property 'departmnet'"),
        ('department -eq "Sales"', "Expected a user property such as user.department but found 'department'"),
        ('user. -eq "Sales"', "Expected a user property"),
        ('user.department "Sales"', "Expected an operator such as -eq after user.department but found '\"Sales\"'"),
        ("user.department", "Expected an operator such as -eq after user.department but found the end of the rule"),
        ("user.department -eq", "Expected a value in double quotes, true, false or null but found the end of the rule"),
        ("user.department -eq Sales", "Expected a value in double quotes, true, false or null but found 'Sales'"),
        ("user.department -eq 'Sales'", 'Unexpected character "\'"'),
        ('user.department -eq "Sales', 'Unterminated string: a value opened with " has no closing "'),
        ('user.department -eq "Sales\\"', "Unterminated string"),
        ('user.department -eq "Sales" user.country -eq "US"', "Expected -and, -or or the end of the rule"),
        ('user.department -eq "Sales" -and', "Expected a property such as user.department but found the end"),
        ('(user.department -eq "Sales"', "Expected ')' but found the end of the rule"),
        ('user.department -eq "Sales")', "Expected -and, -or or the end of the rule but found ')'"),
        ('user.department -in "Sales"', '-in needs a list such as ["a", "b"]'),
        ('user.department -in ["Sales" "HR"]', "Expected ',' or ']' but found '\"HR\"'"),
        ("user.department -in []", "Expected a value in double quotes but found ']'"),
        ('user.department -eq ["Sales"]', "A list can only follow -in or -notIn, not -eq"),
        ("user.department -startsWith null", "null can only be compared with -eq or -ne"),
        ("user.accountEnabled -in true", "-in needs a list"),
        ("user.accountEnabled -contains true", "true can only be compared with -eq or -ne"),
        ("user.mail -not null", "Expected an operator such as -eq after user.mail but found '-not'"),
        ('user.displayName -match "("', "Invalid regular expression '('"),
        ('user.assignedPlans -eq "x"', "user.assignedPlans is multi-valued: use -any or -all"),
        ('user.department -any (_ -eq "x")', "-any needs a multi-valued property, and user.department is not one"),
        ('user.proxyAddresses -any (user.department -eq "x")', "Inside -any/-all, refer to the item as '_'"),
        ('user.assignedPlans -any (_ -eq "x")', "Inside -any/-all, refer to the item as 'assignedplan'"),
        ('user.proxyAddresses -any (_ -eq "x"', "Expected ')' but found the end of the rule"),
        ('user.proxyAddresses -any _ -eq "x"', "Expected '(' after -any but found '_'"),
        ('user.proxyAddresses -any (user.otherMails -all (_ -eq "x"))', "-any and -all cannot be nested"),
        ("", "The rule is empty"),
        ("   ", "The rule is empty"),
        ('user.department -eq "Sales" ;', "Unexpected character ';'"),
    ],
)
def test_refusals_name_the_problem(rule: str, message: str) -> None:
    assert message in refused(rule).message


@pytest.mark.parametrize(
    ("rule", "position"),
    [
        ('user.department -equals "Sales"', 16),
        ('user.department -eq "Sales" -and device.x -eq "y"', 33),
        ('user.department -eq "Sales', 20),
        ("user.department -eq", 19),
        ("", None),
    ],
)
def test_refusals_carry_the_position(rule: str, position: int | None) -> None:
    caught = refused(rule)
    assert caught.position == position
    if position is not None:
        assert caught.message.endswith(f"(at position {position})")


def test_rule_length_limit() -> None:
    clause = 'user.department -eq "Sales" -or '
    rule = clause * (MAX_RULE_LENGTH // len(clause)) + 'user.country -eq "US"'
    assert "Entra allows at most 3072" in refused(rule).message
    parse_rule(rule[-MAX_RULE_LENGTH:].split(" -or ", 1)[1])
