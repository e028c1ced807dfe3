"""Request guards that run before routing, so every API refuses the same malformed input alike.

A path with ASCII control characters (e.g. a percent-encoded line feed) is never a valid object
id in any of the node's APIs, and connexion's router and Flask's router disagree on whether such
a path matches a route; refusing it up front keeps both layers consistent (RFC 3986 §2: control
characters are not allowed in a URI, even percent-encoded ones carry no meaning here).

Text a caller sends must be text every later layer can store: percent-encoded octets in the path
and query decode as UTF-8 (RFC 3986 §2.5), and a JSON body is UTF-8 (RFC 8259 §8.1) whose
strings hold no lone UTF-16 surrogate (``"\\ud800"`` parses in Python but cannot be encoded,
so it would fail wherever the value is logged, stored or audited), whose nesting stays within
``MAX_JSON_DEPTH`` and whose integers stay within Python's conversion limit. Such a request is
refused with 400 in its API's envelope before any handler, or the audit trail, sees it.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any
from urllib.parse import unquote_to_bytes

from connexion.exceptions import BadRequestProblem
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gdi_node.errors import PayloadTooLargeError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Deeper than any request of the node's APIs (a Beacon filter sits at depth 4); far from the
# interpreter's recursion limit, which json.loads and the validators would otherwise hit.
MAX_JSON_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON text can only carry a lone surrogate as an escape (raw surrogate bytes are not UTF-8):
# bodies without one skip the walk over their strings.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


class ControlCharacterGuard:
    """Answer 400 (in the API's own envelope) for paths containing control characters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _CONTROL.search(scope.get("path", "")):
            raise BadRequestProblem(detail="the request path contains control characters")
        await self.app(scope, receive, send)


class BodySizeGuard:
    """Refuse request bodies over ``max_bytes`` with 413, by header or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                raise PayloadTooLargeError(f"the request body is over {self.max_bytes} bytes")
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise PayloadTooLargeError(f"the request body is over {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)


class TextGuard:
    """Answer 400 for a path, query string or JSON body that is not storable text.

    Sits inside :class:`BodySizeGuard`, so the body it reads is already bounded. A JSON body
    (``Content-Type`` JSON or absent, as connexion treats it) is read whole, checked and
    replayed to the next layer unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
        if not _is_utf8(unquote_to_bytes(raw_path)):
            raise BadRequestProblem(detail="the request path is not UTF-8 (RFC 3986 §2.5)")
        query = scope.get("query_string", b"").replace(b"+", b" ")
        if not _is_utf8(unquote_to_bytes(query)):
            raise BadRequestProblem(detail="the query string is not UTF-8 (RFC 3986 §2.5)")
        if not _may_carry_json(scope):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client left before sending its body
            return
        if body.strip():
            check_json_text(body)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def check_json_text(raw: bytes) -> Any:
    """The parsed body, or :class:`BadRequestProblem` naming what makes it unusable."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestProblem(detail="the request body is not UTF-8 (RFC 8259 §8.1)") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise BadRequestProblem(detail=_too_deep()) from None
    except json.JSONDecodeError as exc:
        raise BadRequestProblem(detail=f"the request body is not JSON: {exc}") from None
    except ValueError:  # int(): more digits than sys.get_int_max_str_digits()
        limit = sys.get_int_max_str_digits()
        raise BadRequestProblem(
            detail=f"a number in the request body has more than {limit} digits"
        ) from None
    deep = raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH
    surrogates = _SURROGATE_ESCAPE.search(raw) is not None
    if deep or surrogates:
        _walk(value)
    return value


def _walk(value: Any) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise BadRequestProblem(detail=_surrogate())
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise BadRequestProblem(detail=_too_deep())
            children = item.values() if isinstance(item, dict) else item
            if isinstance(item, dict) and any(_SURROGATE.search(key) for key in item):
                raise BadRequestProblem(detail=_surrogate())
            stack.extend((child, depth + 1) for child in children)


def _too_deep() -> str:
    return f"the request body is nested deeper than {MAX_JSON_DEPTH} levels"


def _surrogate() -> str:
    return "the request body has a lone UTF-16 surrogate in a string (not Unicode text)"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _may_carry_json(scope: Scope) -> bool:
    if scope.get("method") not in ("POST", "PUT", "PATCH"):
        return False
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return bool(media == b"application/json" or media.endswith(b"+json"))
    return True


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body; None when the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
