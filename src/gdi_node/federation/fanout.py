"""Asking members: one asyncio event loop thread per app, one pooled httpx client, each member
within its own deadline (decision record 0031).

The API handlers run in worker threads; :meth:`Federation.ask` hands the requests to the loop
and waits for all of them, so a query costs the slowest member's answer or its deadline,
whichever comes first, never the sum. A member whose circuit is open
(gdi_node.federation.circuit) is not asked; a background task probes it every
``circuit.probe_seconds`` and closes the circuit when it answers.

Credentials pass through, trust does not: the caller's ``Authorization`` header (or passports
in a POST body) goes to each member, which decides for itself; the caller's address is added
to ``X-Forwarded-For`` so a member that lists the hub among its trusted proxies applies its
residency rules to the caller, not to the hub.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from gdi_node.config.federation import FederatedApi, FederationSettings, MemberSettings
from gdi_node.federation.circuit import Circuit, CircuitState
from gdi_node.federation.member_metrics import MemberMetrics
from gdi_node.federation.outcomes import MemberReply, Outcome, error_message
from gdi_node.passport.authorizer import RequestFacts
from gdi_node.passport.principal import Principal

MAX_ANSWER_BYTES = 32 * 1024 * 1024
# checks a member's JSON answer: None when acceptable, else why not
Validator = Callable[[Any], str | None]


@dataclass(frozen=True)
class PassedOn:
    """What of the caller's request a hub passes on to every member: the ``Authorization``
    header as sent, the request id, and the caller's address for ``X-Forwarded-For``."""

    authorization: str | None
    request_id: str | None
    client_address: str | None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.authorization:
            headers["Authorization"] = self.authorization
        if self.request_id:
            headers["X-Request-ID"] = self.request_id
        if self.client_address:
            headers["X-Forwarded-For"] = self.client_address
        return headers


@dataclass(frozen=True)
class Forwarding:
    """A caller's request for one member's object as the hub passes it on: what is passed on,
    the JSON body (passports, or an htsget request; None: a GET), the query parameters, and
    whom the hub's audit trail names (the member judges the credential, not the hub)."""

    passed: PassedOn
    principal: Principal
    facts: RequestFacts
    body: Any = None
    params: Sequence[tuple[str, str]] = ()

    def request(self, member: MemberSettings, url: str) -> MemberRequest:
        method = "GET" if self.body is None else "POST"
        return MemberRequest(member, method, url, self.params, self.body, self.passed.headers())


@dataclass(frozen=True)
class MemberRequest:
    """One HTTP request to one member: ``url`` absolute, ``params`` the query string pairs,
    ``body`` JSON (POST) or None."""

    member: MemberSettings
    method: str
    url: str
    params: Sequence[tuple[str, str]] = ()
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MemberHealth:
    """What the hub knows of one member's health, for ``/ready``."""

    member_id: str
    circuit: CircuitState
    last_outcome: str | None


class Federation:
    """The members' client of one app; :meth:`close` stops its thread."""

    def __init__(
        self,
        settings: FederationSettings,
        *,
        user_agent: str,
        registry: CollectorRegistry | None = None,
    ) -> None:
        """``registry``: the app's Prometheus registry, which gets the members' metrics."""
        self.settings = settings
        self._members = {m.id: m for m in settings.members}
        self._circuits = {m.id: Circuit(settings.circuit.failures) for m in settings.members}
        self._probing: set[str] = set()
        self._last: dict[str, str] = {}
        self._metrics = MemberMetrics(registry or CollectorRegistry(), self._circuits)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="gdi-node-federation", daemon=True
        )
        self._thread.start()
        limits = httpx.Limits(
            max_connections=settings.max_connections_per_member * len(settings.members),
            max_keepalive_connections=settings.max_connections_per_member,
        )

        async def client() -> httpx.AsyncClient:
            return httpx.AsyncClient(
                limits=limits, headers={"User-Agent": user_agent}, follow_redirects=False
            )

        self._client = asyncio.run_coroutine_threadsafe(client(), self._loop).result()

    @property
    def members(self) -> tuple[MemberSettings, ...]:
        return self.settings.members

    def ask(self, requests: Sequence[MemberRequest], validate: Validator) -> list[MemberReply]:
        """Every request's reply, in order; returns when the last one is in or past its
        member's deadline."""
        return self.start(requests, validate).result()

    def start(
        self, requests: Sequence[MemberRequest], validate: Validator
    ) -> Future[list[MemberReply]]:
        """Send the requests now; the future holds every reply, in order (the calling thread
        may answer its own part meanwhile)."""

        async def all_replies() -> list[MemberReply]:
            return list(await asyncio.gather(*(self._ask_one(r, validate) for r in requests)))

        return asyncio.run_coroutine_threadsafe(all_replies(), self._loop)

    def health(self) -> list[MemberHealth]:
        return [
            MemberHealth(member_id, self._circuits[member_id].state, self._last.get(member_id))
            for member_id in self._members
        ]

    def close(self) -> None:
        """Close the pooled connections, then stop the loop and its thread."""
        if not self._loop.is_running():
            return

        async def shut() -> None:
            await self._client.aclose()
            current = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not current:
                    task.cancel()

        try:
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()

    # -- on the loop ------------------------------------------------------------------------

    async def _ask_one(self, request: MemberRequest, validate: Validator) -> MemberReply:
        member = request.member
        circuit = self._circuits[member.id]
        if not circuit.allows:
            reply = MemberReply(
                member.id,
                Outcome.CIRCUIT_OPEN,
                0.0,
                reason=f"not asked: failing for {circuit.open_seconds:.0f} s, probed every"
                f" {self.settings.circuit.probe_seconds:g} s",
            )
            self._count(reply)
            return reply
        started = time.monotonic()
        outcome, status, raw, reason = await self._attempt(request)
        document = None
        if status is not None:
            try:
                document = json.loads(raw) if raw else None
            except ValueError:
                if outcome is Outcome.ANSWERED:
                    outcome, reason = Outcome.INVALID, "the answer is not JSON"
        if outcome is Outcome.ANSWERED:
            problem = validate(document)
            if problem is not None:
                outcome, reason, document = Outcome.INVALID, problem[:300], None
        reply = MemberReply(
            member.id, outcome, time.monotonic() - started, status, document, reason
        )
        self._settle(member, reply)
        return reply

    async def _attempt(self, request: MemberRequest) -> tuple[Outcome, int | None, bytes, str]:
        """Ask within the member's deadline: the outcome, HTTP status, body and reason."""
        deadline = request.member.deadline_seconds
        try:
            async with asyncio.timeout(deadline):
                status, raw = await self._fetch(request)
        except TimeoutError:
            return Outcome.TIMED_OUT, None, b"", f"no answer within {deadline:g} s"
        except _TooLarge as error:
            return Outcome.INVALID, None, b"", str(error)
        except httpx.TransportError as error:
            return Outcome.UNREACHABLE, None, b"", f"{type(error).__name__}: {error}"[:300]
        outcome, reason = _classified(status, raw)
        return outcome, status, raw, reason

    async def _fetch(self, request: MemberRequest) -> tuple[int, bytes]:
        content = None
        headers = dict(request.headers)
        if request.body is not None:
            content = json.dumps(request.body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        async with self._client.stream(
            request.method,
            request.url,
            params=list(request.params),
            content=content,
            headers=headers,
        ) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise _TooLarge()
                chunks.append(chunk)
            return response.status_code, b"".join(chunks)

    def _settle(self, member: MemberSettings, reply: MemberReply) -> None:
        circuit = self._circuits[member.id]
        if reply.outcome.counts_as_failure:
            if circuit.failed() and member.id not in self._probing:
                self._probing.add(member.id)
                self._loop.create_task(self._probe_until_closed(member))
        else:
            circuit.succeeded()
        self._count(reply)

    def _count(self, reply: MemberReply) -> None:
        self._last[reply.member_id] = reply.outcome.value
        self._metrics.observe(reply)

    async def _probe_until_closed(self, member: MemberSettings) -> None:
        """Ask an open member's Beacon ``/info`` every ``probe_seconds`` until it answers."""
        circuit = self._circuits[member.id]
        try:
            while not circuit.allows:
                await asyncio.sleep(self.settings.circuit.probe_seconds)
                try:
                    async with asyncio.timeout(member.deadline_seconds):
                        response = await self._client.get(_probe_url(member))
                except (TimeoutError, httpx.TransportError):
                    continue
                if response.status_code == 200:
                    circuit.succeeded()
        finally:
            self._probing.discard(member.id)


def _probe_url(member: MemberSettings) -> str:
    """A cheap document every member of its kind serves: its Beacon ``/info``, else its DRS or
    htsget service-info."""
    if FederatedApi.BEACON in member.apis:
        return f"{member.beacon_url}/info"
    if FederatedApi.DRS in member.apis:
        return f"{member.drs_url}/service-info"
    return f"{member.base_url}/htsget/reads/service-info"


class _TooLarge(httpx.TransportError):
    def __init__(self) -> None:
        super().__init__(f"the answer is larger than {MAX_ANSWER_BYTES} bytes")


def _classified(status: int, raw: bytes) -> tuple[Outcome, str]:
    if status == 200:
        return Outcome.ANSWERED, ""
    detail = _error_message(raw)
    if status in (401, 403):
        return Outcome.REFUSED, f"HTTP {status}: {detail}"
    if status == 404:
        return Outcome.NOT_FOUND, f"HTTP 404: {detail}"
    if 400 <= status < 500:
        return Outcome.REJECTED, f"HTTP {status}: {detail}"
    return Outcome.FAILED, f"HTTP {status}: {detail}"


def _error_message(raw: bytes) -> str:
    """The message of a member's error answer, or the start of its text."""
    try:
        document = json.loads(raw)
    except ValueError:
        return raw[:200].decode("utf-8", "replace").strip() or "(no body)"
    return error_message(document) or json.dumps(document)[:200]
