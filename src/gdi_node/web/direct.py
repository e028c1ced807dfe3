"""Answer the operations of one API straight from the ASGI stack, without the WSGI bridge.

connexion has routed, authenticated and validated the request before this middleware (it sits
at ``MiddlewarePosition.BEFORE_CONTEXT``), and validates the response after it when response
validation is on. The operation's own handler, the one its OpenAPI document resolves to, runs
in a worker thread with the request read from the ASGI scope (gdi_node.web.request); its
answer is sent as compact JSON. Errors propagate to connexion's exception middleware and are
answered in the API's envelope, as on the Flask path. What this saves, per request: the
a2wsgi/Flask hand-offs (about a third of a worker's GIL time on a Beacon count query; decision
record 0007, ``scripts/bench beacon``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from gdi_node.web.mounts import Handler
from gdi_node.web.request import Incoming, answering


class DirectAnswerMiddleware:
    """Answer requests routed to ``operations`` of the API mounted at ``base_path``."""

    def __init__(self, app: ASGIApp, base_path: str, operations: Mapping[str, Handler]) -> None:
        self.app = app
        self.base_path = base_path
        self.operations = operations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        handler = self.operations.get(routing.get("operation_id", ""))
        if (
            scope["type"] != "http"
            or handler is None
            or routing.get("api_base_path") != self.base_path
        ):
            await self.app(scope, receive, send)
            return
        body = await _json_body(receive) if scope["method"] in {"POST", "PUT"} else None
        request = Incoming.from_scope(scope)
        params = dict(scope.get("path_params", {}))
        answer = await anyio.to_thread.run_sync(_call, handler, request, body, params)
        payload = json.dumps(answer, separators=(",", ":")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _call(handler: Handler, request: Incoming, body: Any, params: dict[str, Any]) -> Any:
    token = answering.set(request)
    try:
        return handler(body=body, **params)
    finally:
        answering.reset(token)


async def _json_body(receive: Receive) -> Any:
    """The request body as JSON (connexion validated it already); None when empty."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    raw = b"".join(chunks)
    return json.loads(raw) if raw.strip() else None
