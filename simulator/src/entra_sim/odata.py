"""OData ``$filter`` for Microsoft Graph directory objects (groups and users), as the simulator answers it.

Graph parses ``$filter`` with a general OData parser and then applies directory-specific rules: only some
properties are filterable, each with its own operators, and negation, ``endsWith``, null checks and ``/$count``
need the advanced query parameters (``ConsistencyLevel: eventual`` plus ``$count=true``). This module keeps the
two steps apart on purpose: :func:`parse_filter` only rejects what is not OData at all, and
:meth:`Filter.validate` enforces Graph's per-resource rules, so the simulator can answer each kind of mistake with
the error Graph gives for it.

The parser is hand-written rather than taken from a library because Graph's quirks matter more here than OData
completeness: identifiers that begin with keywords (``allowExternalSenders``, ``nullable``), ``not(`` without a
space, bare GUIDs and ``coll/$count`` all have to work.

Message texts are module constants so that tests and the Graph layer share one spelling. The two
``Request_UnsupportedQuery`` texts are documented by Microsoft; :data:`SYNTAX_ERROR` and :data:`UNSUPPORTED_QUERY`
are unverified ([U]) reconstructions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# [U] Microsoft.OData's syntax error text behind Graph's "Invalid filter clause" prefix; position is 0-based.
SYNTAX_ERROR = "Invalid filter clause: Syntax error at position {position} in '{text}'."
# [P] aad-advanced-queries.md, templated on the operator (ne, not, endsWith, ...).
ADVANCED_REQUIRED = (
    "Operator '{op}' is not supported because the required parameters might be missing. "
    "Try adding $count=true query parameter and ConsistencyLevel:eventual header. "
    "Refer to https://aka.ms/graph-docs/advanced-queries for more information"
)
# [P] aad-advanced-queries.md (createdDateTime on Group).
UNSUPPORTED_PROPERTY = (
    "Unsupported or invalid query filter clause specified for property '{prop}' of resource '{resource}'."
)
# [U] Used for filters that name no property at all, and for OData functions Graph does not offer on directory objects.
UNSUPPORTED_QUERY = "Unsupported Query."

# [P] Graph known issues: without advanced query parameters "in" takes at most 15 expressions (with them, the limit
# is a URL of 2,048 characters).
IN_LIMIT = 15
# [P] Graph known issues: an eq value matches at most 120 characters without advanced query parameters.
EQ_VALUE_LIMIT = 120

SYNTAX_CODE = "BadRequest"
UNSUPPORTED_CODE = "Request_UnsupportedQuery"


class ODataError(Exception):
    """A ``$filter`` that Graph would refuse, carrying the Graph error ``code`` and the exact ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class EqValueTooLong(ODataError):
    """An ``eq`` value longer than Graph matches; the answer's text is a configurable [U] error of the simulator."""

    def __init__(self, prop: str) -> None:
        super().__init__(UNSUPPORTED_CODE, f"the value compared with '{prop}' exceeds {EQ_VALUE_LIMIT} characters")
        self.prop = prop


class InLimitExceeded(ODataError):
    """An ``in`` list longer than Graph takes; the answer's text is a configurable [U] error of the simulator."""

    def __init__(self, count: int) -> None:
        super().__init__(UNSUPPORTED_CODE, f"{count} values in an 'in' list; at most {IN_LIMIT} are allowed")
        self.count = count


def quote(value: str) -> str:
    """Return ``value`` as an OData string literal; a quote inside the value is written twice."""
    return "'" + value.replace("'", "''") + "'"


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------------------------

# Order matters: a GUID can start with letters or digits and a date with digits, so both are tried before names
# and numbers. Names are matched whole, which is what lets `allowExternalSenders` or `notes` be identifiers even
# though they begin with keywords.
_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
    |(?P<guid>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})(?![\w-])
    |(?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)(?![\w-])
    |(?P<number>-?\d+(?:\.\d+)?)(?![\w.])
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<count>\$count)(?!\w)
    |(?P<string>'(?:[^']|'')*')
    |(?P<punct>[(),:/])
    """,
    re.VERBOSE,
)

_COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
_FUNCTIONS = ("startswith", "endswith")


@dataclass(frozen=True)
class _Token:
    kind: str  # guid, datetime, number, name, count, string, end, or the punctuation character itself
    text: str
    pos: int

    def is_word(self, *words: str) -> bool:
        """Keywords are case-insensitive in Graph, so they are compared lower-cased against a whole name token."""
        return self.kind == "name" and self.text.lower() in words


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise _syntax_error(text, pos)
        kind = match.lastgroup or ""
        if kind != "space":
            value = match.group(kind)
            tokens.append(_Token(value if kind == "punct" else kind, value, pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _syntax_error(text: str, position: int) -> ODataError:
    return ODataError(SYNTAX_CODE, SYNTAX_ERROR.format(position=position, text=text))


# ---------------------------------------------------------------------------------------------------------------
# Syntax tree
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    value: Any  # str, bool, None, int, float, datetime; GUIDs are kept as lower-case str
    kind: str  # string, boolean, null, number, guid, datetime


@dataclass(frozen=True)
class _Path:
    segments: tuple[str, ...]  # the first segment is a property or a lambda variable


@dataclass(frozen=True)
class _Count:
    path: _Path


@dataclass(frozen=True)
class _Lambda:
    path: _Path
    quantifier: str  # any, all
    variable: str | None  # None for the bare form coll/any()
    body: _Node | None


@dataclass(frozen=True)
class _Compare:
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _In:
    operand: _Node
    values: tuple[_Literal, ...]


@dataclass(frozen=True)
class _Call:
    name: str  # startswith, endswith
    subject: _Node
    argument: _Node


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _Logical:
    op: str  # and, or
    left: _Node
    right: _Node


_Node = _Literal | _Path | _Count | _Lambda | _Compare | _In | _Call | _Not | _Logical


# ---------------------------------------------------------------------------------------------------------------
# Parser: or < and < not < comparison < primary, the usual OData precedence for the operators Graph supports.
# ---------------------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def expect(self, kind: str) -> _Token:
        token = self.peek()
        if token.kind != kind:
            raise _syntax_error(self.text, token.pos)
        return self.advance()

    def parse(self) -> _Node:
        if self.peek().kind == "end":
            raise _syntax_error(self.text, 0)
        node = self.parse_or()
        self.expect("end")
        return node

    def parse_or(self) -> _Node:
        node = self.parse_and()
        while self.peek().is_word("or"):
            self.advance()
            node = _Logical("or", node, self.parse_and())
        return node

    def parse_and(self) -> _Node:
        node = self.parse_not()
        while self.peek().is_word("and"):
            self.advance()
            node = _Logical("and", node, self.parse_not())
        return node

    def parse_not(self) -> _Node:
        # `not` takes a whole comparison (`not displayName eq 'x'`), as Graph's own examples read it.
        if self.peek().is_word("not"):
            self.advance()
            return _Not(self.parse_not())
        return self.parse_comparison()

    def parse_comparison(self) -> _Node:
        left = self.parse_primary()
        token = self.peek()
        if token.is_word(*_COMPARISONS):
            self.advance()
            return _Compare(token.text.lower(), left, self.parse_primary())
        if token.is_word("in"):
            self.advance()
            return _In(left, self.parse_list())
        return left

    def parse_list(self) -> tuple[_Literal, ...]:
        self.expect("(")
        values = [self.parse_literal()]
        while self.peek().kind == ",":
            self.advance()
            values.append(self.parse_literal())
        self.expect(")")
        return tuple(values)

    def parse_literal(self) -> _Literal:
        node = self.parse_primary()
        if not isinstance(node, _Literal):
            raise _syntax_error(self.text, self.tokens[self.index - 1].pos)
        return node

    def parse_primary(self) -> _Node:
        token = self.peek()
        if token.kind == "(":
            self.advance()
            node = self.parse_or()
            self.expect(")")
            return node
        if token.kind in ("string", "guid", "datetime", "number"):
            self.advance()
            return _literal(token)
        if token.kind != "name":
            raise _syntax_error(self.text, token.pos)
        if token.is_word("true", "false", "null"):
            self.advance()
            return _literal(token)
        if self.tokens[self.index + 1].kind == "(":
            return self.parse_call()
        return self.parse_path()

    def parse_call(self) -> _Call:
        name = self.advance()
        if not name.is_word(*_FUNCTIONS):
            raise ODataError(UNSUPPORTED_CODE, UNSUPPORTED_QUERY)
        self.expect("(")
        subject = self.parse_primary()
        self.expect(",")
        argument = self.parse_primary()
        self.expect(")")
        return _Call(name.text.lower(), subject, argument)

    def parse_path(self) -> _Path | _Count | _Lambda:
        segments = [self.advance().text]
        while self.peek().kind == "/":
            self.advance()
            token = self.peek()
            if token.kind == "count":
                self.advance()
                return _Count(_Path(tuple(segments)))
            if token.is_word("any", "all") and self.tokens[self.index + 1].kind == "(":
                self.advance()
                return self.parse_lambda(_Path(tuple(segments)), token.text.lower())
            segments.append(self.expect("name").text)
        return _Path(tuple(segments))

    def parse_lambda(self, path: _Path, quantifier: str) -> _Lambda:
        self.expect("(")
        if self.peek().kind == ")":
            self.advance()
            return _Lambda(path, quantifier, None, None)
        variable = self.expect("name").text
        self.expect(":")
        body = self.parse_or()
        self.expect(")")
        return _Lambda(path, quantifier, variable, body)


def _literal(token: _Token) -> _Literal:
    if token.kind == "string":
        return _Literal(token.text[1:-1].replace("''", "'"), "string")
    if token.kind == "guid":
        return _Literal(token.text.lower(), "guid")
    if token.kind == "datetime":
        return _Literal(_parse_datetime(token.text), "datetime")
    if token.kind == "number":
        return _Literal(float(token.text) if "." in token.text else int(token.text), "number")
    word = token.text.lower()
    return _Literal(None if word == "null" else word == "true", "null" if word == "null" else "boolean")


def _parse_datetime(text: str) -> datetime | None:
    """Read ISO 8601 as Graph writes it; a date alone is midnight UTC, and a value without offset is UTC."""
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?", text.strip())
    if match is None:
        return None
    day, clock, fraction, offset = match.groups()
    # Python reads at most 6 fractional digits; .NET writes 7.
    zone = "+00:00" if offset in (None, "Z") else offset
    try:
        return datetime.fromisoformat(f"{day}T{clock or '00:00'}{(fraction or '')[:7]}{zone}")
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------------------
# Graph's filter support per resource ([P] group.md, user.md, aad-advanced-queries.md; graph-semantics.md 1.2,
# 1.3, 2.5). Operators: eq ne not ge le in startsWith endsWith null (eq/ne null) count (coll/$count).
# ---------------------------------------------------------------------------------------------------------------

# These need ConsistencyLevel: eventual and $count=true on every property that supports them.
_ADVANCED_OPERATORS = frozenset({"ne", "not", "endsWith", "null", "count"})


@dataclass(frozen=True)
class _Property:
    name: str
    operators: frozenset[str]
    advanced_only: bool = False  # every operator on this property needs advanced query parameters
    collection: bool = False  # filterable only through any(): `coll/any(x:x eq 'v')`
    element: str = ""  # for collections of objects, the one element property Graph filters on


def _prop(name: str, operators: str, *, advanced_only: bool = False, element: str | None = None) -> _Property:
    """Build a table row; passing ``element`` (even "") marks a collection, whose filters go through any()."""
    return _Property(name, frozenset(operators.split()), advanced_only, element is not None, element or "")


_STRING = "eq ne not ge le in startsWith null"

_RESOURCES: dict[str, dict[str, _Property]] = {
    "group": {
        prop.name.lower(): prop
        for prop in (
            _prop("id", "eq ne not in"),
            _prop("displayName", _STRING),
            _prop("description", "eq ne not ge le startsWith null"),
            _prop("mailNickname", _STRING),
            _prop("mail", _STRING + " endsWith"),
            _prop("securityEnabled", "eq ne not in"),
            _prop("mailEnabled", "eq ne not in"),
            _prop("isAssignableToRole", "eq ne not in"),
            _prop("groupTypes", "eq not", element=""),
            _prop("proxyAddresses", "eq not ge le startsWith endsWith count", element=""),
            _prop("onPremisesSyncEnabled", "eq ne not in null"),
            _prop("onPremisesSecurityIdentifier", "eq in null"),
            _prop("onPremisesSamAccountName", "eq ne not ge le in startsWith"),
            _prop("membershipRule", "eq ne not ge le startsWith"),
            _prop("membershipRuleProcessingState", "eq ne not in"),
            _prop("assignedLicenses", "eq", element="skuId"),
            _prop("hasMembersWithLicenseErrors", "eq"),
            # createdDateTime is deliberately absent: Microsoft's documented example shows Graph refusing it on
            # groups, even with the advanced query parameters.
        )
    },
    "user": {
        prop.name.lower(): prop
        for prop in (
            _prop("id", "eq ne not in"),
            _prop("userPrincipalName", "eq ne not ge le in startsWith endsWith"),
            _prop("displayName", _STRING),
            _prop("mail", _STRING + " endsWith"),
            _prop("mailNickname", _STRING),
            _prop("givenName", _STRING),
            _prop("surname", _STRING),
            _prop("department", _STRING),
            _prop("jobTitle", _STRING),
            _prop("country", _STRING),
            _prop("city", _STRING),
            _prop("state", _STRING),
            _prop("usageLocation", _STRING),
            _prop("employeeId", _STRING),
            _prop("preferredLanguage", _STRING),
            _prop("companyName", _STRING, advanced_only=True),
            _prop("userType", "eq ne not in null"),
            _prop("accountEnabled", "eq ne not in"),
            _prop("createdDateTime", "eq ne not ge le in"),
            _prop("onPremisesSyncEnabled", "eq ne not in null"),
            _prop("onPremisesSecurityIdentifier", "eq in null"),
            _prop("onPremisesSamAccountName", "eq ne not ge le in startsWith", advanced_only=True),
            _prop("onPremisesImmutableId", "eq ne not ge le in", advanced_only=True),
            _prop("assignedLicenses", "eq not count", element="skuId"),
            _prop("proxyAddresses", "eq not ge le startsWith endsWith count", element=""),
            _prop("otherMails", "eq not ge le in startsWith endsWith count", element=""),
        )
    },
    "serviceprincipal": {
        prop.name.lower(): prop
        for prop in (
            _prop("id", "eq ne not in"),
            _prop("appId", "eq ne not in"),
            _prop("displayName", "eq ne not ge le in startsWith null"),
            _prop("servicePrincipalType", "eq ne not in"),
        )
    },
}


@dataclass(frozen=True)
class _Scope:
    """The collection a lambda body talks about, so `x/skuId` inside it is checked against that collection."""

    prop: _Property
    variable: str


class _Validator:
    def __init__(self, resource: str, advanced: bool) -> None:
        if resource not in _RESOURCES:
            raise ValueError(f"resource must be one of {sorted(_RESOURCES)}, not {resource!r}")
        self.table = _RESOURCES[resource]
        self.resource = resource.capitalize()
        self.advanced = advanced

    def unsupported(self, prop: str) -> ODataError:
        return ODataError(UNSUPPORTED_CODE, UNSUPPORTED_PROPERTY.format(prop=prop, resource=self.resource))

    def check(self, node: _Node, negated: bool, scope: _Scope | None) -> None:
        """Walk clauses in text order, so the error reported is the one for the leftmost offending clause."""
        if isinstance(node, _Logical):
            self.check(node.left, negated, scope)
            self.check(node.right, negated, scope)
        elif isinstance(node, _Not):
            self.check(node.operand, True, scope)
        elif isinstance(node, _Compare):
            self.check_compare(node, negated, scope)
        elif isinstance(node, _In):
            self.check_clause(node.operand, ["in"], ["in"], negated, scope)
            if not self.advanced and len(node.values) > IN_LIMIT:
                raise InLimitExceeded(len(node.values))
        elif isinstance(node, _Call):
            op = "startsWith" if node.name == "startswith" else "endsWith"
            self.check_clause(node.subject, [op], [op], negated, scope)
        elif isinstance(node, _Lambda):
            self.check_lambda(node, negated, scope)
        elif isinstance(node, _Path):
            raise self.unsupported(self.property_of(node, scope).name)
        else:
            raise ODataError(UNSUPPORTED_CODE, UNSUPPORTED_QUERY)

    def check_compare(self, node: _Compare, negated: bool, scope: _Scope | None) -> None:
        subject, value = (node.right, node.left) if isinstance(node.left, _Literal) else (node.left, node.right)
        if not isinstance(value, _Literal):
            raise ODataError(UNSUPPORTED_CODE, UNSUPPORTED_QUERY)
        if isinstance(subject, _Count):
            self.check_clause(subject, ["count"], ["$count"], negated, scope)
        elif value.kind == "null":
            ops = ["ne", "null"] if node.op == "ne" else ["null"]
            self.check_clause(subject, ops, [node.op] * len(ops), negated, scope)
        else:
            self.check_clause(subject, [node.op], [node.op], negated, scope)
            if node.op == "eq" and not self.advanced and value.kind == "string" and len(value.value) > EQ_VALUE_LIMIT:
                raise EqValueTooLong(self.property_of(subject, scope).name)

    def check_clause(
        self, subject: _Node, ops: list[str], names: list[str], negated: bool, scope: _Scope | None
    ) -> None:
        """Check one property against operators; ``names`` are how each operator is spelt in Graph's message."""
        if negated:
            ops, names = ["not", *ops], ["not", *names]
        if isinstance(subject, _Count):
            prop = self.lookup(subject.path.segments[0])
            if scope is not None or len(subject.path.segments) != 1 or not prop.collection:
                raise self.unsupported(prop.name)
        elif isinstance(subject, _Path):
            prop = self.property_of(subject, scope)
        else:
            raise ODataError(UNSUPPORTED_CODE, UNSUPPORTED_QUERY)
        for op in ops:
            if op not in prop.operators:
                raise self.unsupported(prop.name)
        if self.advanced:
            return
        for op, name in zip(ops, names, strict=True):
            if op in _ADVANCED_OPERATORS or prop.advanced_only:
                raise ODataError(UNSUPPORTED_CODE, ADVANCED_REQUIRED.format(op=name))

    def check_lambda(self, node: _Lambda, negated: bool, scope: _Scope | None) -> None:
        prop = self.lookup(node.path.segments[0])
        if scope is not None or len(node.path.segments) != 1 or not prop.collection:
            raise self.unsupported(prop.name)
        # Graph filters collections with any() and a condition only; all() and a bare any() are not offered.
        if node.quantifier != "any" or node.body is None or node.variable is None:
            raise self.unsupported(prop.name)
        self.check(node.body, negated, _Scope(prop, node.variable))

    def property_of(self, path: _Path, scope: _Scope | None) -> _Property:
        """Resolve a path to its table row: a plain property outside any(), the lambda's collection inside it."""
        first, rest = path.segments[0], path.segments[1:]
        if scope is not None and first == scope.variable:
            if "/".join(rest).lower() != scope.prop.element.lower():
                raise self.unsupported(scope.prop.name)
            return scope.prop
        prop = self.lookup(first)
        if rest or prop.collection:
            raise self.unsupported(prop.name)
        return prop

    def lookup(self, name: str) -> _Property:
        prop = self.table.get(name.lower())
        if prop is None:
            raise self.unsupported(name)
        return prop


# ---------------------------------------------------------------------------------------------------------------
# Evaluation: Entra compares strings and GUIDs case-insensitively, and a missing property is null.
# ---------------------------------------------------------------------------------------------------------------


def _get(obj: Any, name: str) -> Any:
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    folded = name.casefold()
    for key, value in obj.items():
        if key.casefold() == folded:
            return value
    return None


def _evaluate(node: _Node, obj: dict, scope: dict[str, Any]) -> Any:
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Path):
        first, rest = node.segments[0], node.segments[1:]
        value = scope[first] if first in scope else _get(obj, first)
        for segment in rest:
            value = _get(value, segment)
        return value
    if isinstance(node, _Count):
        items = _evaluate(node.path, obj, scope)
        return len(items) if isinstance(items, list) else 0
    if isinstance(node, _Lambda):
        items = _evaluate(node.path, obj, scope)
        items = items if isinstance(items, list) else []
        if node.body is None or node.variable is None:
            return bool(items)
        results = (_evaluate(node.body, obj, {**scope, node.variable: item}) is True for item in items)
        return any(results) if node.quantifier == "any" else all(results)
    if isinstance(node, _Compare):
        return _compare(node.op, _evaluate(node.left, obj, scope), _evaluate(node.right, obj, scope))
    if isinstance(node, _In):
        value = _evaluate(node.operand, obj, scope)
        return any(_compare("eq", value, literal.value) for literal in node.values)
    if isinstance(node, _Call):
        subject, argument = _evaluate(node.subject, obj, scope), _evaluate(node.argument, obj, scope)
        if not isinstance(subject, str) or not isinstance(argument, str):
            return False
        if node.name == "startswith":
            return subject.casefold().startswith(argument.casefold())
        return subject.casefold().endswith(argument.casefold())
    if isinstance(node, _Not):
        return _evaluate(node.operand, obj, scope) is not True
    left = _evaluate(node.left, obj, scope) is True
    if node.op == "and":
        return left and _evaluate(node.right, obj, scope) is True
    return left or _evaluate(node.right, obj, scope) is True


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Bring both sides to one type: JSON holds datetimes as strings, and Entra ignores case in strings and GUIDs."""
    if isinstance(left, datetime) and isinstance(right, str):
        right = _parse_datetime(right)
    elif isinstance(right, datetime) and isinstance(left, str):
        left = _parse_datetime(left)
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold(), right.casefold()
    return left, right


def _compare(op: str, left: Any, right: Any) -> bool:
    left, right = _comparable(left, right)
    # bool is an int in Python, but `securityEnabled eq 1` must not match.
    if isinstance(left, bool) != isinstance(right, bool) and left is not None and right is not None:
        equal = False
    else:
        equal = left == right
    if op == "eq":
        return equal
    if op == "ne":
        return not equal
    if left is None or right is None:
        return False
    try:
        if op == "gt":
            return left > right
        if op == "ge":
            return left >= right
        if op == "lt":
            return left < right
        return left <= right
    except TypeError:
        return False


def _needs_advanced(node: _Node | None) -> bool:
    if isinstance(node, _Not | _Count):
        return True
    if isinstance(node, _Compare):
        null = any(isinstance(side, _Literal) and side.kind == "null" for side in (node.left, node.right))
        return node.op == "ne" or null or _needs_advanced(node.left) or _needs_advanced(node.right)
    if isinstance(node, _Call):
        return node.name == "endswith" or _needs_advanced(node.subject)
    if isinstance(node, _Logical):
        return _needs_advanced(node.left) or _needs_advanced(node.right)
    if isinstance(node, _In):
        return _needs_advanced(node.operand)
    if isinstance(node, _Lambda):
        return _needs_advanced(node.body)
    return False


class Filter:
    """A parsed ``$filter``: checked against Graph's rules with :meth:`validate`, applied with :meth:`matches`."""

    def __init__(self, text: str, root: _Node) -> None:
        self.text = text
        self._root = root
        # ne, not, endswith, eq/ne null and /$count are only offered with ConsistencyLevel: eventual + $count=true.
        self.needs_advanced = _needs_advanced(root)

    def validate(self, resource: str, advanced: bool) -> None:
        """Raise the ``Request_UnsupportedQuery`` Graph gives for this filter on ``resource`` ("group" or "user")."""
        _Validator(resource.lower(), advanced).check(self._root, False, None)

    def matches(self, obj: dict) -> bool:
        """Whether a resource, as Graph JSON with camelCase keys, passes the filter."""
        return _evaluate(self._root, obj, {}) is True

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"


def parse_filter(text: str) -> Filter:
    """Parse a ``$filter`` value (already URL-decoded); raises :class:`ODataError` with Graph's syntax error."""
    return Filter(text, _Parser(text).parse())
