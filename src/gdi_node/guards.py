"""Request guards that run before routing, so every API refuses the same malformed input alike.

A path with ASCII control characters (e.g. a percent-encoded line feed) is never a valid object
id in any of the node's APIs, and connexion's router and Flask's router disagree on whether such
a path matches a route; refusing it up front keeps both layers consistent (RFC 3986 §2: control
characters are not allowed in a URI, even percent-encoded ones carry no meaning here).
"""

from __future__ import annotations

import re

from connexion.exceptions import BadRequestProblem
from starlette.types import ASGIApp, Receive, Scope, Send

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ControlCharacterGuard:
    """Answer 400 (in the API's own envelope) for paths containing control characters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _CONTROL.search(scope.get("path", "")):
            raise BadRequestProblem(detail="the request path contains control characters")
        await self.app(scope, receive, send)
