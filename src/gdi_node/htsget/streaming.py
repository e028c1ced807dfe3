"""Serve the data endpoint straight from the ASGI event loop.

connexion has already routed and validated the request (this middleware sits after its
request validation); instead of handing every chunk across the WSGI bridge, file slices are
read with ``os.pread`` on the event loop and sent as they are read, which is what lets a Python
worker stream at close to the speed of nginx (see ``scripts/bench htsget``). The cost: a slow
read (a cold network file system) holds up that worker's other requests for its duration, so
``htsget.data_in_event_loop: false`` sends the data endpoint through the ordinary handler
(threads) instead. Transcoded slices are CPU-bound and always produced in a thread.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gdi_node.errors import DomainError, htsget_envelope
from gdi_node.htsget.data import AUDIT_OPERATION, DataResponse, DataService
from gdi_node.passport.authorizer import RequestFacts
from gdi_node.web.error_envelopes import answerable, report_for
from gdi_node.web.observability import request_id_var
from gdi_node.web.request import Incoming

OPERATION = "getData"


class DataStreamingMiddleware:
    """Answer connexion-validated ``getData`` requests without the WSGI bridge."""

    def __init__(self, app: ASGIApp, data: DataService) -> None:
        self.app = app
        self.data = data

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        if scope["type"] != "http" or routing.get("operation_id") != OPERATION:
            await self.app(scope, receive, send)
            return
        try:
            answer = await anyio.to_thread.run_sync(self._answer, scope)
        except Exception as exc:  # answered in the htsget envelope, like every other error
            await _error(send, exc)
            return
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (b"content-type", answer.media_type.encode()),
                    *((k.lower().encode(), v.encode()) for k, v in answer.headers.items()),
                ],
            }
        )
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
        try:
            if answer.file_slice is not None:
                await self._send_file(answer, send, gone)
            else:
                await _send_stream(answer.chunks(self.data.chunk_bytes), send, gone)
        finally:
            watcher.cancel()

    def _answer(self, scope: Scope) -> DataResponse:
        incoming = Incoming.from_scope(scope)
        params = incoming.args
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        object_id = scope["path_params"]["id"]
        facts = RequestFacts(AUDIT_OPERATION, incoming.client_address, request_id_var.get())
        exp, range_header = int(params["exp"]), headers.get("range")
        return self.data.response(
            object_id, params["part"], exp, params["sig"], range_header, facts=facts
        )

    async def _send_file(self, answer: DataResponse, send: Send, gone: asyncio.Event) -> None:
        piece = answer.file_slice
        assert piece is not None
        descriptor = os.open(piece.path, os.O_RDONLY)
        try:
            os.posix_fadvise(
                descriptor, piece.start, piece.end - piece.start, os.POSIX_FADV_SEQUENTIAL
            )
            offset = piece.start
            while offset < piece.end and not gone.is_set():
                data = os.pread(descriptor, min(self.data.chunk_bytes, piece.end - offset), offset)
                if not data:
                    raise OSError(f"{piece.path} ended early")
                offset += len(data)
                await send(
                    {"type": "http.response.body", "body": data, "more_body": offset < piece.end}
                )
            if piece.start == piece.end:
                await send({"type": "http.response.body", "body": b""})
        finally:
            os.close(descriptor)


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


async def _send_stream(chunks: Iterator[bytes], send: Send, gone: asyncio.Event) -> None:
    while not gone.is_set():
        data = await anyio.to_thread.run_sync(next, chunks, None)
        if data is None:
            break
        await send({"type": "http.response.body", "body": data, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def error_answer(exc: Exception) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """Status, htsget-envelope body and headers (with Content-Type/-Length) for ``exc``."""
    exc = answerable(exc)
    report = report_for(exc)
    body = json.dumps(htsget_envelope(report)).encode()
    extra: dict[str, Any] = (
        dict(getattr(exc, "headers", None) or {}) if isinstance(exc, DomainError) else {}
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((str(k).lower().encode(), str(v).encode()) for k, v in extra.items()),
    ]
    return report.status, body, headers


async def _error(send: Send, exc: Exception) -> None:
    status, body, headers = error_answer(exc)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
