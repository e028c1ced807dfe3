"""CORS (Fetch standard §3.2) under the base paths of the APIs whose mount asks for it: htsget
(htsget 1.3 §CORS: igv.js on another origin asks for tickets with an ``Authorization`` header and
reads the data URLs), DRS and Beacon; the node API at the root is not labelled.

The request's ``Origin`` is echoed; preflights answer ``Authorization`` (and any other requested
headers) with a long ``Access-Control-Max-Age``; responses expose ``Content-Length``,
``Content-Range`` and ``X-Request-ID``. Errors carry the headers too, so browsers can read them.
htsget's data listener, which answers outside this stack, sends the same headers.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALLOWED_METHODS = b"GET, POST, OPTIONS"
_EXPOSED = b"Content-Length, Content-Range, Content-Type, Accept-Ranges, X-Request-ID"


def preflight_headers(origin: bytes, requested: bytes, max_age: bytes) -> list[tuple[bytes, bytes]]:
    """The answer to a CORS preflight from ``origin`` asking for ``requested`` headers."""
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-allow-methods", _ALLOWED_METHODS),
        (b"access-control-allow-headers", requested),
        (b"access-control-max-age", max_age),
        (b"vary", b"Origin"),
    ]


def response_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    """What an actual response to ``origin`` carries so the browser may read it."""
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-expose-headers", _EXPOSED),
        (b"vary", b"Origin"),
    ]


class CorsMiddleware:
    """Applies to request paths under any of ``prefixes``."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...], max_age: int) -> None:
        self.app = app
        self.prefixes = prefixes
        self.max_age = str(max_age).encode()

    def _applies(self, scope: Scope) -> bool:
        path: str = scope.get("path", "")
        return scope["type"] == "http" and any(
            path == p or path.startswith(p + "/") for p in self.prefixes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if self._applies(scope) else {}
        origin = headers.get(b"origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            requested = headers.get(b"access-control-request-headers", b"authorization")
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": preflight_headers(origin, requested, self.max_age),
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *response_headers(origin)]
            await send(message)

        await self.app(scope, receive, with_cors)
