"""The zero-copy data listener: the htsget data endpoint (htsget 1.3 §Ticket URLs) on a port of
its own, sending file slices with ``sendfile`` so their bytes never pass through Python.

ASGI has no way to hand a file to the kernel, and uvloop (uvicorn's loop) does not implement
``loop.sendfile``; so each worker runs this small HTTP/1.1 server (h11 parses requests) on a
standard asyncio loop in a thread of its own, bound with ``SO_REUSEPORT`` so the workers share
the port. It answers exactly what ``/htsget/data/{id}`` answers on the main port — the same
signed URLs, ``Range``, CORS, the htsget error envelope — through the same :class:`DataService`.
Decision record 0004 explains the choice and its limits.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import ClassVar
from urllib.parse import parse_qs, unquote

import h11
from starlette.exceptions import HTTPException

from gdi_node.config.settings import DataListenerSettings
from gdi_node.errors import DomainError, InvalidInputError, NotFoundError
from gdi_node.htsget.data import AUDIT_OPERATION, DataResponse, DataService
from gdi_node.htsget.streaming import error_answer
from gdi_node.passport.authorizer import RequestFacts
from gdi_node.storage.signing import DATA_PATH
from gdi_node.web.cors import preflight_headers, response_headers
from gdi_node.web.observability import (
    REQUEST_ID_HEADER,
    RequestMetrics,
    record_access,
    valid_request_id,
)

log = logging.getLogger(__name__)

PREFIX = f"{DATA_PATH}/"
OPERATION = "getData"
_MAX_HEAD_BYTES = 16 * 1024
_MAX_BODY_BYTES = 64 * 1024  # the data endpoint takes no body; a small one is read and dropped
_LIMITS = {"part": 8192, "sig": 128, "range": 256}  # as openapi/htsget.yaml declares them
Headers = list[tuple[bytes, bytes]]


class _BodyTooLarge(Exception):
    pass


class _MethodNotAllowed(DomainError):
    status = 405
    code = "MethodNotAllowed"
    headers: ClassVar[dict[str, str]] = {"Allow": "GET, HEAD, OPTIONS"}


@dataclass
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    keep_alive: bool


class DataListener:
    """Serve ``/htsget/data/{id}`` on ``config.host:config.port`` from a thread of this worker."""

    def __init__(
        self,
        data: DataService,
        config: DataListenerSettings,
        *,
        cors_max_age: int,
        metrics: RequestMetrics,
        grace_seconds: float = 5.0,
    ) -> None:
        self.data = data
        self.config = config
        self.metrics = metrics
        self.grace_seconds = grace_seconds
        self._max_age = str(cors_max_age).encode()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._busy: set[asyncio.Task[None]] = set()
        self._idle: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Bind and start serving; raises the bind error (e.g. port in use) to the caller."""
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="gdi-node-data-listener", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        log.info("data listener on %s:%d", self.config.host, self.config.port)

    def stop(self) -> None:
        """Stop accepting, let in-flight responses finish for ``grace_seconds``, then close."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(self.grace_seconds + 5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(self.grace_seconds + 5)
        self._loop = None

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.SelectorEventLoop()  # the standard loop: it implements sendfile
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(
                    self._connection,
                    self.config.host,
                    self.config.port,
                    reuse_port=True,
                    limit=_MAX_HEAD_BYTES,
                )
            )
        except BaseException as exc:  # reported to start() in the caller's thread
            failure.append(exc)
            loop.close()
            ready.set()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        connections = {*self._idle, *self._busy}
        for task in self._idle:
            task.cancel()
        if self._busy:
            await asyncio.wait(self._busy, timeout=self.grace_seconds)
        connections |= {*self._busy, *self._idle}  # a busy one may have gone idle meanwhile
        for task in connections:
            task.cancel()
        if connections:  # let each run its ``finally`` (closing its socket) before the loop stops
            await asyncio.wait(connections, timeout=5)
        await self._server.wait_closed()

    # -- connections ------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        pending = b""
        try:
            while True:
                self._idle.add(task)
                parser = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD_BYTES)
                if pending:  # pipelined bytes after the previous request (b"" would mean EOF)
                    parser.receive_data(pending)
                try:
                    request = await self._read_request(parser, reader)
                except (h11.RemoteProtocolError, _BodyTooLarge) as exc:
                    await self._refuse(writer, exc)
                    return
                if request is None:
                    return
                self._idle.discard(task)
                self._busy.add(task)
                keep_alive = await self._respond(request, writer)
                self._busy.discard(task)
                pending, closed = parser.trailing_data
                if not keep_alive or closed:
                    return
        except (ConnectionError, TimeoutError, asyncio.CancelledError):
            return
        except Exception:  # after the head was sent: the client sees a cut-off body
            log.exception("data listener: response failed midway")
        finally:
            self._idle.discard(task)
            self._busy.discard(task)
            writer.close()

    async def _read_request(
        self, parser: h11.Connection, reader: asyncio.StreamReader
    ) -> _Request | None:
        """The next request and its (dropped) body; ``None`` once the client has gone or idled."""
        request: _Request | None = None
        body = 0
        while True:
            event = parser.next_event()
            if event is h11.NEED_DATA:
                try:
                    chunk = await asyncio.wait_for(
                        reader.read(65536), self.config.idle_timeout_seconds
                    )
                except TimeoutError:
                    return None
                parser.receive_data(chunk)
            elif isinstance(event, h11.Request):
                headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers}
                closing = "close" in headers.get("connection", "").lower()
                request = _Request(
                    event.method.decode("ascii"),
                    event.target.decode("ascii"),
                    headers,
                    keep_alive=event.http_version == b"1.1" and not closing,
                )
            elif isinstance(event, h11.Data):
                body += len(event.data)
                if body > _MAX_BODY_BYTES:
                    raise _BodyTooLarge()
            elif isinstance(event, h11.EndOfMessage):
                return request
            else:  # ConnectionClosed before a request began
                return None

    async def _refuse(self, writer: asyncio.StreamWriter, exc: Exception) -> None:
        too_large = isinstance(exc, _BodyTooLarge)
        status = 413 if too_large else 400
        message = "the data endpoint takes no request body" if too_large else str(exc)
        code, body, headers = error_answer(HTTPException(status, message or "malformed request"))
        writer.write(_head(code, [*headers, (b"connection", b"close")]) + body)
        await writer.drain()

    # -- one request ------------------------------------------------------------------------

    async def _respond(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Answer ``request``; whether the connection may carry another one."""
        started = time.perf_counter()
        request_id = valid_request_id(request.headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
        origin = request.headers.get("origin")
        common: Headers = [(REQUEST_ID_HEADER.encode(), request_id.encode())]
        keep_alive = request.keep_alive
        common.append((b"connection", b"keep-alive" if keep_alive else b"close"))
        path = request.target.partition("?")[0]
        status = 500
        try:
            if origin is not None and _is_preflight(request):
                requested = request.headers.get("access-control-request-headers", "authorization")
                status = 204
                cors = preflight_headers(origin.encode(), requested.encode(), self._max_age)
                writer.write(_head(204, [*common, *cors, (b"content-length", b"0")]))
                await writer.drain()
                return keep_alive
            if origin is not None:
                common.extend(response_headers(origin.encode()))
            try:
                peer = writer.get_extra_info("peername")
                facts = RequestFacts(AUDIT_OPERATION, peer[0] if peer else None, request_id)
                answer = await self._answer(request, facts)
            except Exception as exc:
                status, body, headers = error_answer(exc)
                writer.write(_head(status, [*headers, *common]) + body)
                await writer.drain()
                return keep_alive
            status = answer.status
            streamed = answer.file_slice is None
            if streamed and keep_alive:  # otherwise the end of the body is the connection's
                common.append((b"transfer-encoding", b"chunked"))
            headers = [
                (b"content-type", answer.media_type.encode()),
                *((k.lower().encode(), v.encode()) for k, v in answer.headers.items()),
                *common,
            ]
            writer.write(_head(status, headers))
            if request.method == "HEAD":
                await writer.drain()
                return keep_alive
            if not streamed:
                await self._send_file(answer, writer)
            else:
                await self._send_stream(answer.chunks(self.data.chunk_bytes), writer, keep_alive)
            return keep_alive
        finally:
            self._record(request, path, status, request_id, started)

    async def _answer(self, request: _Request, facts: RequestFacts) -> DataResponse:
        path, _, query = request.target.partition("?")
        if not path.startswith(PREFIX) or len(path) == len(PREFIX):
            raise NotFoundError(f"nothing is served at {path!r} on the data listener")
        if request.method not in ("GET", "HEAD"):
            raise _MethodNotAllowed(f"{request.method} is not allowed on the data endpoint")
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        missing = [name for name in ("part", "exp", "sig") if name not in params]
        if missing:
            raise InvalidInputError(f"the data URL lacks {', '.join(missing)}")
        range_header = request.headers.get("range")
        for name, value in (*params.items(), ("range", range_header or "")):
            if name in _LIMITS and len(value) > _LIMITS[name]:
                raise InvalidInputError(f"{name} is longer than {_LIMITS[name]} characters")
        try:
            exp = int(params["exp"])
        except ValueError:
            raise InvalidInputError("exp must be an integer") from None
        object_id = unquote(path[len(PREFIX) :])
        return await asyncio.to_thread(
            self.data.response,
            object_id,
            params["part"],
            exp,
            params["sig"],
            range_header,
            facts=facts,
        )

    async def _send_file(self, answer: DataResponse, writer: asyncio.StreamWriter) -> None:
        piece = answer.file_slice
        assert piece is not None
        if piece.end == piece.start:
            await writer.drain()
            return
        loop = asyncio.get_running_loop()
        with open(piece.path, "rb", buffering=0) as handle:
            sent = await loop.sendfile(
                writer.transport, handle, piece.start, piece.end - piece.start
            )
        if sent != piece.end - piece.start:
            raise ConnectionError(f"{piece.path} ended early")

    async def _send_stream(
        self, chunks: Iterator[bytes], writer: asyncio.StreamWriter, chunked: bool
    ) -> None:
        while (data := await asyncio.to_thread(next, chunks, None)) is not None:
            if data:
                writer.write(b"%x\r\n%b\r\n" % (len(data), data) if chunked else data)
                await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()

    def _record(
        self, request: _Request, path: str, status: int, request_id: str, started: float
    ) -> None:
        record_access(
            self.metrics,
            method=request.method,
            path=path,
            status=status,
            operation=OPERATION,
            seconds=time.perf_counter() - started,
            request_id=request_id,
            listener="data",
        )


def _is_preflight(request: _Request) -> bool:
    return request.method == "OPTIONS" and "access-control-request-method" in request.headers


def _head(status: int, headers: Headers) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
    lines.extend(name + b": " + value for name, value in headers)
    return b"\r\n".join(lines) + b"\r\n\r\n"
