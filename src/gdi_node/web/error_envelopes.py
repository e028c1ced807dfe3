"""Turn any exception into the error envelope of the API a request was addressed to.

:func:`answerable` and :func:`report_for` classify an exception (a :class:`DomainError`, a
connexion problem, a router's HTTP error, an unreachable database, a crash); the envelope is
the mount's whose base path is the longest prefix of the request path. A crash is logged with
its traceback and answered as a 500 without one. The htsget data path, which answers outside
connexion, classifies its errors here too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from gdi_node.db.engine import database_unavailable
from gdi_node.errors import DatabaseUnavailableError, DomainError, Envelope, ErrorReport
from gdi_node.web.documents import MethodIndex
from gdi_node.web.mounts import ApiMount

log = logging.getLogger("gdi_node.app")


def answerable(exc: Exception) -> Exception:
    """``exc``, or the DomainError a caller should get for it: an unreachable database is a 503
    with ``Retry-After`` (logged in one line; the node recovers when the database is back)."""
    if database_unavailable(exc):
        log.warning("database unavailable: %s", str(exc).partition("\n")[0])
        return DatabaseUnavailableError("the database is unavailable; retry later")
    return exc


def report_for(exc: Exception) -> ErrorReport:
    """Classify ``exc`` (after :func:`answerable`); unexpected ones are logged with their
    traceback and reported as 500."""
    if isinstance(exc, DomainError):
        return ErrorReport(exc.status, exc.code, exc.message)
    if isinstance(exc, ProblemException):
        detail = exc.detail or exc.title or "request failed"
        return ErrorReport.from_status(exc.status, str(detail))
    if isinstance(exc, HTTPException):
        return ErrorReport.from_status(exc.status_code, str(exc.detail))
    if isinstance(exc, UnicodeDecodeError):  # connexion decodes request bodies as UTF-8
        return ErrorReport.from_status(400, "the request body is not valid UTF-8")
    log.error("unhandled error: %r", exc, exc_info=exc)
    return ErrorReport.from_status(500, "internal server error")


def envelope_for(path: str, mounts: Sequence[ApiMount]) -> Envelope:
    """The envelope of the mount serving ``path`` (the node API's, base path ``""``, at last)."""
    matching = [
        m
        for m in mounts
        if not m.base_path or path == m.base_path or path.startswith(m.base_path + "/")
    ]
    return max(matching, key=lambda m: len(m.base_path)).envelope


def error_handler(mounts: Sequence[ApiMount], methods: MethodIndex) -> Any:
    """connexion's error handler for every exception type: the mount's envelope, the
    exception's headers, and ``Allow`` on 405 from ``methods``."""

    def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        exc = answerable(exc)
        report = report_for(exc)
        body = envelope_for(request.url.path, mounts)(report)
        headers = {
            k: v
            for k, v in (getattr(exc, "headers", None) or {}).items()
            if k.lower() not in ("content-type", "allow")
        }
        if report.status == 405:
            headers["Allow"] = ", ".join(methods.allowed(request.url.path))
        return ConnexionResponse(
            status_code=report.status,
            body=json.dumps(body),
            content_type="application/json",
            headers=headers,
        )

    return handle
