"""Request guards that run before routing, so every API refuses the same malformed input alike.

A path with ASCII control characters (e.g. a percent-encoded line feed) is never a valid object
id in any of the node's APIs, and connexion's router and Flask's router disagree on whether such
a path matches a route; refusing it up front keeps both layers consistent (RFC 3986 §2: control
characters are not allowed in a URI, even percent-encoded ones carry no meaning here).
"""

from __future__ import annotations

import re

from connexion.exceptions import BadRequestProblem
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gdi_node.errors import PayloadTooLargeError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
