"""OData query options on directory lists ($select, $filter, $search, $orderby, $top, $count, $skiptoken) and
paging, with Graph's rules: $count and $search only with ``ConsistencyLevel: eventual``, negation and friends only
with the advanced query parameters, at most 999 per page, an opaque ``$skiptoken`` in a full ``@odata.nextLink``.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, request

from entra_sim import odata
from entra_sim.graph.common import graph_json, sim
from entra_sim.model import errors
from entra_sim.model.schema import canonical_property

MAX_TOP = 999
DEFAULT_TOP = 100
SEARCHABLE = {"group": ("displayName", "description"),
              "user": ("displayName", "givenName", "surname", "mail", "userPrincipalName", "mailNickname")}
SORTABLE = {"group": ("displayName",), "user": ("displayName", "userPrincipalName")}
_SEARCH_TERM = re.compile(r'\s*"([A-Za-z]+):([^"]*)"\s*')
_WORD = re.compile(r"[^\W_]+")


@dataclass
class ListQuery:
    """The query options of one list request, validated."""

    kind: str
    select: list[str] | None
    top: int
    filter: odata.Filter | None
    search: list[list[tuple[str, str]]] | None  # OR of ANDs of (property, term)
    orderby: tuple[str, bool] | None  # (property, descending)
    count: bool  # $count=true with ConsistencyLevel: eventual (without the header $count=true is ignored)
    start: dict[str, int] | None  # decoded $skiptoken

    def matches(self, obj: dict[str, Any]) -> bool:
        if self.filter is not None and not self.filter.matches(obj):
            return False
        return self.search is None or any(all(_found(obj, p, t) for p, t in group) for group in self.search)


def eventual() -> bool:
    return request.headers.get("ConsistencyLevel", "").lower() == "eventual"


def parse_select(kind: str) -> list[str] | None:
    text = request.args.get("$select")
    if text is None:
        return None
    names = []
    for name in filter(None, (n.strip() for n in text.split(","))):
        canonical = canonical_property(kind, name)
        if canonical is None:
            raise sim().config.error("unknown_property", name=name, type=kind)
        names.append(canonical)
    return names


def parse_list_query(kind: str) -> ListQuery:
    """Read and check the request's query options for a list of ``kind`` ("user" or "group")."""
    args = request.args
    config = sim().config
    if "$skip" in args:
        raise config.error("skip_not_supported")
    if "$expand" in args:
        raise config.error("expand_not_supported")
    count_requested = args.get("$count", "").lower() == "true"
    advanced = eventual() and count_requested
    top = DEFAULT_TOP
    if "$top" in args:
        raw = args["$top"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
            raise config.error("invalid_page_size", top=raw)
        top = int(raw)
    query_filter = None
    if args.get("$filter"):
        try:
            query_filter = odata.parse_filter(args["$filter"])
            query_filter.validate(kind, advanced)
        except odata.InLimitExceeded as exc:
            raise config.error("too_many_in_values", count=exc.count) from exc
        except odata.EqValueTooLong as exc:
            raise config.error("eq_value_too_long", property=exc.prop) from exc
        except odata.ODataError as exc:
            raise errors.GraphError(400, exc.code, exc.message) from exc
    search = _parse_search(kind, args["$search"]) if "$search" in args else None
    orderby = None
    if args.get("$orderby"):
        name, _, direction = args["$orderby"].strip().partition(" ")
        prop = canonical_property(kind, name)
        if prop not in SORTABLE[kind] or direction.strip().lower() not in ("", "asc", "desc"):
            raise config.error("orderby_not_supported")
        if query_filter is not None and not advanced:
            raise config.error("orderby_not_supported")
        orderby = (prop, direction.strip().lower() == "desc")
    return ListQuery(kind, parse_select(kind), top, query_filter, search, orderby, count_requested and eventual(),
                     _decode_token(args["$skiptoken"]) if "$skiptoken" in args else None)


def _parse_search(kind: str, text: str) -> list[list[tuple[str, str]]]:
    if not eventual():
        raise errors.GraphError(400, "Request_UnsupportedQuery", errors.SEARCH_NEEDS_EVENTUAL)
    groups: list[list[tuple[str, str]]] = [[]]
    rest = text.strip()
    while True:
        match = _SEARCH_TERM.match(rest)
        if match is None:
            raise sim().config.error("invalid_search", text=text)
        prop = canonical_property(kind, match.group(1))
        if prop not in SEARCHABLE[kind]:
            raise errors.GraphError(400, odata.UNSUPPORTED_CODE, odata.UNSUPPORTED_PROPERTY.format(
                prop=match.group(1), resource=kind.capitalize()))
        groups[-1].append((prop, match.group(2).casefold()))
        rest = rest[match.end():]
        if not rest:
            return groups
        operator, _, rest = rest.partition(" ")
        if operator == "OR":
            groups.append([])
        elif operator != "AND":
            raise sim().config.error("invalid_search", text=text)


def _found(obj: dict[str, Any], prop: str, term: str) -> bool:
    """Graph tokenises searchable text into words and matches a term against the start of any word."""
    value = (obj.get(prop) or "").casefold()
    return value.startswith(term) or any(word.startswith(term) for word in _WORD.findall(value))


def _encode_token(position: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, int]:
    try:
        position = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if isinstance(position, dict) and set(position) <= {"k", "i"} and all(
                isinstance(v, int) for v in position.values()):
            return position
    except ValueError:
        pass
    raise sim().config.error("invalid_skiptoken")


def count_response(objects: list[dict[str, Any]], query: ListQuery) -> Response:
    """``GET .../$count``: a plain-text number, and only with ``ConsistencyLevel: eventual``."""
    if not eventual():
        raise errors.bad_request(errors.COUNT_NOT_SUPPORTED)
    body = str(sum(1 for obj in objects if query.matches(obj)))
    return Response(body, content_type="text/plain")


def page(objects: list[dict[str, Any]], key: Callable[[dict[str, Any]], int], query: ListQuery,
         render: Callable[[dict[str, Any]], dict[str, Any]], context: str) -> Response:
    """One page of ``objects`` (already in ``key`` order), with @odata.count on the first page when asked and an
    @odata.nextLink when another match follows. The token names the next match, so no page is ever empty and
    the scan for it is not repeated by the next request."""
    if query.orderby is not None:
        prop, descending = query.orderby
        objects = sorted(objects, key=lambda o: ((o.get(prop) or "").casefold(), key(o)), reverse=descending)
        start = (query.start or {}).get("i", 0)
    else:
        start = bisect.bisect_left(objects, (query.start or {}).get("k", 0), key=key)
    items: list[dict[str, Any]] = []
    token = None
    for index in range(start, len(objects)):
        obj = objects[index]
        if not query.matches(obj):
            continue
        if len(items) == query.top:
            token = {"i": index} if query.orderby is not None else {"k": key(obj)}
            break
        items.append(obj)
    body: dict[str, Any] = {"@odata.context": context}
    if query.count and query.start is None:
        body["@odata.count"] = sum(1 for obj in objects if query.matches(obj))
    if token is not None:
        body["@odata.nextLink"] = _next_link(_encode_token(token))
    body["value"] = [render(obj) for obj in items]
    return graph_json(body)


def _next_link(token: str) -> str:
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "$skiptoken"] + [("$skiptoken", token)]
    query = urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote, safe="$,()':/@")
    return f"{sim().base_url}{request.path}?{query}"


def select_fragment(name: str, select: list[str] | None) -> str:
    """``groups`` or ``groups(id,displayName)``, for @odata.context."""
    return name if select is None else f"{name}({','.join(select)})"
