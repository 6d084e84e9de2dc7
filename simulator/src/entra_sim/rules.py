"""Entra ID dynamic membership rules for users, as the simulator evaluates them for dynamic groups.

The language is Microsoft's (groups-dynamic-membership.md): ``user.<property> -<operator> <value>`` expressions
joined with ``-and``, ``-or`` and ``-not``, plus ``-any`` / ``-all`` over multi-valued properties. Operators may be
written with or without the hyphen, and the en dash (U+2013) that Microsoft's own pages sometimes print is read as
a hyphen, because rules are often pasted from those pages. Precedence, from highest: comparison operators,
``-not``, ``-and``, ``-or``.

Rule property names are Entra's, some of which differ from Graph's JSON names (``mobile`` is ``mobilePhone``,
``dirSyncEnabled`` is ``onPremisesSyncEnabled``, ``extensionAttribute1`` sits under
``onPremisesExtensionAttributes``); the table below maps them so that rules run against the Graph user objects
the simulator stores. An unknown property is an error rather than a silent null, since Entra refuses such rules
and a typo in a playbook should fail in tests as it would in a tenant.

Device rules and ``memberOf`` / direct-reports rules are refused: the simulator only evaluates rules over users.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_RULE_LENGTH = 3072  # Microsoft's limit for the body of a membership rule.


class RuleError(Exception):
    """A rule Entra would reject; ``message`` names the problem and the 0-based position where it was found."""

    def __init__(self, message: str, position: int | None = None) -> None:
        if position is not None:
            message = f"{message} (at position {position})"
        super().__init__(message)
        self.message = message
        self.position = position


# Rule property (lower case) -> path into the Graph user JSON. Properties not listed have the same name in both.
_RENAMED: dict[str, tuple[str | int, ...]] = {
    "dirsyncenabled": ("onPremisesSyncEnabled",),
    "facsimiletelephonenumber": ("faxNumber",),
    "mobile": ("mobilePhone",),
    "objectid": ("id",),
    "physicaldeliveryofficename": ("officeLocation",),
    "telephonenumber": ("businessPhones", 0),
    **{f"extensionattribute{n}": ("onPremisesExtensionAttributes", f"extensionAttribute{n}") for n in range(1, 16)},
}
_SAME_NAME = (
    "accountEnabled",
    "city",
    "country",
    "companyName",
    "department",
    "displayName",
    "employeeHireDate",
    "employeeId",
    "employeeType",
    "givenName",
    "jobTitle",
    "mail",
    "mailNickname",
    "onPremisesDistinguishedName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "passwordPolicies",
    "postalCode",
    "preferredLanguage",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
)
_PROPERTIES: dict[str, tuple[str | int, ...]] = {**{name.lower(): (name,) for name in _SAME_NAME}, **_RENAMED}
# Multi-valued properties; string collections compare element by element, assignedPlans only through -any/-all.
_STRING_COLLECTIONS = {"othermails": "otherMails", "proxyaddresses": "proxyAddresses"}
_OBJECT_COLLECTIONS = {"assignedplans": ("assignedPlans", "assignedPlan")}  # property, element variable

# Canonical operator names; the negated ones evaluate as `not <positive>`.
_OPERATORS = (
    "eq",
    "ne",
    "startsWith",
    "notStartsWith",
    "endsWith",
    "notEndsWith",
    "contains",
    "notContains",
    "match",
    "notMatch",
    "in",
    "notIn",
)
_COMPARISONS = {op.lower(): op for op in _OPERATORS}
_NEGATIONS = {
    "ne": "eq",
    "notStartsWith": "startsWith",
    "notEndsWith": "endsWith",
    "notContains": "contains",
    "notMatch": "match",
    "notIn": "in",
}
_QUANTIFIERS = ("any", "all")
_LOGICAL = ("and", "or", "not")

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
    |(?P<string>"(?:\\"|`"|[^"])*+")
    |(?P<operator>[-\u2013\u2014][A-Za-z]+)
    |(?P<word>\$?[A-Za-z_][\w.]*)
    |(?P<punct>[()\[\],])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # string, operator (hyphen form), word, end, or the punctuation character itself
    text: str
    pos: int

    @property
    def word(self) -> str:
        """The lower-case name of an operator or keyword, however it was written (``-EQ``, ``eq``, en dash)."""
        return self.text.lstrip("-\u2013\u2014").lower() if self.kind in ("operator", "word") else ""


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            if text[pos] == '"':
                raise RuleError('Unterminated string: a value opened with " has no closing "', pos)
            raise RuleError(f"Unexpected character {text[pos]!r}", pos)
        kind = match.lastgroup or ""
        if kind != "space":
            value = match.group(kind)
            tokens.append(_Token(value if kind == "punct" else kind, value, pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _unescape(literal: str) -> str:
    """Drop the quotes; ``\\"`` and Microsoft's ```"`` stand for a quote, every other character stays as written.

    Other backslashes are kept on purpose: they belong to ``-match`` patterns such as ``"^\\d+$"``.
    """
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        if body[i] in "\\`" and body[i + 1 : i + 2] == '"':
            out.append('"')
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------------
# Syntax tree
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Subject:
    """What a comparison reads: a user property (``path``) or, inside -any/-all, the current element."""

    path: tuple[str | int, ...]
    collection: bool = False  # a string collection compared element by element
    element: bool = False  # the element of the enclosing -any/-all


@dataclass(frozen=True)
class _Comparison:
    subject: _Subject
    op: str  # a positive operator: eq startsWith endsWith contains match in
    negated: bool
    value: Any  # str, bool, None, list[str], or re.Pattern for match


@dataclass(frozen=True)
class _Quantified:
    path: tuple[str | int, ...]
    quantifier: str  # any, all
    body: _Node


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _Logical:
    op: str  # and, or
    left: _Node
    right: _Node


_Node = _Comparison | _Quantified | _Not | _Logical


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.element: str | None = None  # the element name usable inside -any/-all: "_" or e.g. "assignedplan"

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def expect(self, kind: str, what: str) -> _Token:
        token = self.peek()
        if token.kind != kind:
            raise RuleError(f"Expected {what} but found {_describe(token)}", token.pos)
        return self.advance()

    def is_logical(self, word: str) -> bool:
        token = self.peek()
        return token.kind in ("operator", "word") and token.word == word

    def parse(self) -> _Node:
        if not self.text.strip():
            raise RuleError("The rule is empty")
        node = self.parse_or()
        token = self.peek()
        if token.kind != "end":
            raise RuleError(f"Expected -and, -or or the end of the rule but found {_describe(token)}", token.pos)
        return node

    def parse_or(self) -> _Node:
        node = self.parse_and()
        while self.is_logical("or"):
            self.advance()
            node = _Logical("or", node, self.parse_and())
        return node

    def parse_and(self) -> _Node:
        node = self.parse_not()
        while self.is_logical("and"):
            self.advance()
            node = _Logical("and", node, self.parse_not())
        return node

    def parse_not(self) -> _Node:
        if self.is_logical("not"):
            self.advance()
            return _Not(self.parse_not())
        if self.peek().kind == "(":
            self.advance()
            node = self.parse_or()
            self.expect(")", "')'")
            return node
        return self.parse_expression()

    def parse_expression(self) -> _Node:
        token = self.expect("word", "a property such as user.department")
        op_token = self.peek()
        if op_token.kind not in ("operator", "word") or op_token.word in _LOGICAL:
            raise RuleError(
                f"Expected an operator such as -eq after {token.text} but found {_describe(op_token)}", op_token.pos
            )
        if op_token.word in _QUANTIFIERS:
            self.advance()
            return self.parse_quantified(token, op_token.word)
        subject = self.parse_subject(token)
        self.advance()
        op = _COMPARISONS.get(op_token.word)
        if op is None:
            raise RuleError(
                f"Unknown operator {op_token.text!r}; use one of -{', -'.join(_COMPARISONS.values())}", op_token.pos
            )
        positive = _NEGATIONS.get(op, op)
        return _Comparison(subject, positive, op != positive, self.parse_value(positive, op_token))

    def parse_subject(self, token: _Token) -> _Subject:
        name = token.text.lower()
        if self.element is not None:
            if name == self.element == "_":
                return _Subject((), element=True)
            prefix, _, prop = name.partition(".")
            if prefix == self.element and prop:
                return _Subject((prop,), element=True)
            raise RuleError(f"Inside -any/-all, refer to the item as {self.element!r}, not {token.text!r}", token.pos)
        prop = self.user_property(token)
        if prop in _STRING_COLLECTIONS:
            return _Subject((_STRING_COLLECTIONS[prop],), collection=True)
        if prop in _OBJECT_COLLECTIONS:
            raise RuleError(f"{token.text} is multi-valued: use -any or -all, e.g. {token.text} -any (...)", token.pos)
        if prop in _PROPERTIES:
            return _Subject(_PROPERTIES[prop])
        if prop.startswith("extension_"):  # directory extension attributes keep their name in Graph JSON
            return _Subject((token.text.partition(".")[2],))
        raise RuleError(f"Unsupported user property {token.text.partition('.')[2]!r}", token.pos)

    def user_property(self, token: _Token) -> str:
        """Return the lower-case property name of ``user.<property>``, refusing what the simulator cannot evaluate."""
        obj, _, prop = token.text.lower().partition(".")
        if obj == "device":
            raise RuleError("Device rules are not supported: the simulator evaluates rules over users only", token.pos)
        if obj != "user" or not prop:
            raise RuleError(f"Expected a user property such as user.department but found {token.text!r}", token.pos)
        if prop in ("memberof", "directreports"):
            raise RuleError(f"user.{prop} rules are not supported by the simulator", token.pos)
        return prop

    def parse_quantified(self, token: _Token, quantifier: str) -> _Quantified:
        if self.element is not None:
            raise RuleError("-any and -all cannot be nested", token.pos)
        prop = self.user_property(token)
        if prop in _STRING_COLLECTIONS:
            path, element = _STRING_COLLECTIONS[prop], "_"
        elif prop in _OBJECT_COLLECTIONS:
            path, element = _OBJECT_COLLECTIONS[prop][0], _OBJECT_COLLECTIONS[prop][1].lower()
        else:
            raise RuleError(f"-{quantifier} needs a multi-valued property, and {token.text} is not one", token.pos)
        self.expect("(", f"'(' after -{quantifier}")
        self.element = element
        body = self.parse_or()
        self.element = None
        self.expect(")", "')'")
        return _Quantified((path,), quantifier, body)

    def parse_value(self, op: str, op_token: _Token) -> Any:
        token = self.advance()
        if op == "in":
            if token.kind != "[":
                raise RuleError(f'{op_token.text} needs a list such as ["a", "b"]', token.pos)
            return self.parse_list()
        if token.kind == "[":
            raise RuleError(f"A list can only follow -in or -notIn, not {op_token.text}", token.pos)
        if token.kind == "string":
            value = _unescape(token.text)
            if op != "match":
                return value
            try:
                return re.compile(value, re.IGNORECASE)
            except re.error as exc:
                raise RuleError(f"Invalid regular expression {value!r}: {exc}", token.pos) from None
        if token.kind == "word" and token.word in ("true", "false", "null", "$null"):
            if op != "eq":
                raise RuleError(f"{token.text} can only be compared with -eq or -ne", token.pos)
            return None if token.word in ("null", "$null") else token.word == "true"
        raise RuleError(
            f"Expected a value in double quotes, true, false or null but found {_describe(token)}", token.pos
        )

    def parse_list(self) -> list[str]:
        values = []
        while True:
            token = self.expect("string", "a value in double quotes")
            values.append(_unescape(token.text))
            if self.peek().kind == "]":
                self.advance()
                return values
            self.expect(",", "',' or ']'")


def _describe(token: _Token) -> str:
    return "the end of the rule" if token.kind == "end" else repr(token.text)


# ---------------------------------------------------------------------------------------------------------------
# Evaluation: string comparisons and -match ignore case; a missing property is null.
# ---------------------------------------------------------------------------------------------------------------


def _get(obj: Any, key: str | int) -> Any:
    if isinstance(key, int):
        return obj[key] if isinstance(obj, list) and len(obj) > key else None
    if not isinstance(obj, dict):
        return None
    if key in obj:
        return obj[key]
    folded = key.casefold()
    return next((value for name, value in obj.items() if name.casefold() == folded), None)


def _text(value: Any) -> str:
    """Compare everything as case-folded text, so `-eq true` and `-eq "True"` agree on a boolean property."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


def _test(op: str, actual: Any, expected: Any) -> bool:
    if op == "eq" and expected is None:
        return actual is None
    if actual is None:
        return False
    if op == "match":
        return expected.search(str(actual)) is not None
    text = _text(actual)
    if op == "eq":
        return text == _text(expected)
    if op == "in":
        return text in {_text(item) for item in expected}
    if op == "startsWith":
        return text.startswith(_text(expected))
    if op == "endsWith":
        return text.endswith(_text(expected))
    return _text(expected) in text


def _lookup(user: Any, path: tuple[str | int, ...]) -> Any:
    value = user
    for key in path:
        value = _get(value, key)
    return value


def _evaluate(node: _Node, user: dict, element: Any) -> bool:
    if isinstance(node, _Logical):
        if node.op == "and":
            return _evaluate(node.left, user, element) and _evaluate(node.right, user, element)
        return _evaluate(node.left, user, element) or _evaluate(node.right, user, element)
    if isinstance(node, _Not):
        return not _evaluate(node.operand, user, element)
    if isinstance(node, _Quantified):
        items = _lookup(user, node.path)
        items = items if isinstance(items, list) else []
        results = (_evaluate(node.body, user, item) for item in items)
        return any(results) if node.quantifier == "any" else all(results)
    subject = node.subject
    actual = _lookup(element, subject.path) if subject.element else _lookup(user, subject.path)
    if subject.collection:
        items = actual if isinstance(actual, list) else []
        # `-eq null` on a collection asks whether it is empty; otherwise one matching item is enough.
        result = not items if node.value is None else any(_test(node.op, item, node.value) for item in items)
    else:
        result = _test(node.op, actual, node.value)
    return not result if node.negated else result


class Rule:
    """A parsed membership rule; :meth:`matches` tells whether a user (Graph JSON) belongs to the group."""

    def __init__(self, text: str, root: _Node) -> None:
        self.text = text
        self._root = root

    def matches(self, user: dict) -> bool:
        return _evaluate(self._root, user, None)

    def __repr__(self) -> str:
        return f"Rule({self.text!r})"


def parse_rule(text: str) -> Rule:
    """Parse a rule as Entra stores it in ``membershipRule``; raises :class:`RuleError` for what Entra refuses."""
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(f"The rule is {len(text)} characters long; Entra allows at most {MAX_RULE_LENGTH}")
    return Rule(text, _Parser(text).parse())
