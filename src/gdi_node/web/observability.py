"""Request ids, JSON logs and Prometheus metrics for every request the node answers.

One ASGI middleware sits outside connexion's exception handling, so it sees the final status of
every response (errors included) and, after routing, the OpenAPI ``operationId`` that served it.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("gdi_node_request_id", default=None)
access_log = logging.getLogger("gdi_node.access")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, always carrying the current request id (or null)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Route the node's, uvicorn's and connexion's loggers to one stderr handler."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonLogFormatter())
        handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Our middleware writes the access line (with the request id and operation).
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every outgoing request at INFO: a hub asks its members on every query and
    # exports their outcomes as metrics instead (gdi_node.federation.member_metrics)
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # Python warnings become log records too, so stderr stays one JSON object per line.
    logging.captureWarnings(True)
    # connexion 3.3 imports starlette's test client at start-up; that warning is not ours to act on.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


class RequestMetrics:
    """Prometheus collectors of one app instance (its own registry, so apps never collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gdi_node_requests_total",
            "HTTP requests answered, by API operation, method and status",
            ["operation", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gdi_node_request_duration_seconds",
            "Time to answer a request, by API operation and status",
            ["operation", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def observe(self, operation: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(operation, method, str(status)).inc()
        self.latency.labels(operation, str(status)).observe(seconds)

    def watch_audit(self, health: Callable[[], Any]) -> None:
        """Export the audit writer's state (``AuditTrail.health``) at every scrape."""
        self.registry.register(_AuditCollector(health))

    def exposition(self) -> str:
        return generate_latest(self.registry).decode("utf-8")


class _AuditCollector(Collector):
    """``gdi_node_audit_*``: a stuck or failing audit writer is visible before it fills up."""

    def __init__(self, health: Callable[[], Any]) -> None:
        self._health = health

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        state = self._health()
        gauges = (
            ("pending_events", "Audit events recorded but not yet written", state.pending),
            ("oldest_pending_seconds", "Age of the oldest unwritten audit event",
             state.oldest_pending_seconds),
            ("failing_seconds", "How long audit writes have been failing in a row",
             state.failing_seconds),
            ("stuck", "1 when the audit writer is stuck (the node is not ready)",
             int(state.stuck)),
        )  # fmt: skip
        for name, text, value in gauges:
            yield GaugeMetricFamily(f"gdi_node_audit_{name}", text, value=value)
        counters = (
            ("write_failures", "Failed audit write attempts", state.write_failures),
            ("escaped_events", "Audit events written escaped after the database refused them",
             state.escaped),
            ("dropped_events", "Audit events the database refused in every form", state.dropped),
        )  # fmt: skip
        for name, text, value in counters:
            yield CounterMetricFamily(f"gdi_node_audit_{name}", text, value=value)


def valid_request_id(candidate: str | None) -> str | None:
    """A client's ``X-Request-ID`` if it is safe to log and echo, else ``None``."""
    return candidate if candidate and _VALID_REQUEST_ID.match(candidate) else None


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            return valid_request_id(value.decode("latin-1"))
    return None


def record_access(
    metrics: RequestMetrics,
    *,
    method: str,
    path: str,
    status: int,
    operation: str,
    seconds: float,
    request_id: str | None = None,
    **extra: object,
) -> None:
    """Count one answered request and write its access line (the current request id unless
    ``request_id`` is given)."""
    metrics.observe(operation, method, status, seconds)
    fields = {
        "method": method,
        "path": path,
        "status": status,
        "operation": operation,
        "duration_ms": round(seconds * 1000, 3),
        **extra,
    }
    access_log.info(
        "%s %s %d", method, path, status, extra={"request_id": request_id, "fields": fields}
    )


class ObservabilityMiddleware:
    """Assign a request id, echo it in ``X-Request-ID``, log one access line, count the request."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        headers = [(k, v) for k, v in scope.get("headers", []) if k != REQUEST_ID_HEADER.encode()]
        scope["headers"] = [*headers, (REQUEST_ID_HEADER.encode(), request_id.encode())]
        # connexion's router records the operationId in scope["extensions"] of a *copy* of the
        # scope; a shared extensions dict created here makes it visible to this middleware.
        scope.setdefault("extensions", {})
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            routing = scope.get("extensions", {}).get("connexion_routing", {})
            record_access(
                self.metrics,
                method=scope["method"],
                path=scope["path"],
                status=status,
                operation=routing.get("operation_id") or "unrouted",
                seconds=time.perf_counter() - started,
                client=(scope.get("client") or ("-",))[0],
            )
            request_id_var.reset(token)
