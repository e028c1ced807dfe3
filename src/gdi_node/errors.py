"""Domain errors raised by services, and the error envelopes each API answers them in.

Services raise :class:`DomainError` subclasses and know nothing of HTTP bodies. The app's error
handlers pick the envelope of the API the request was addressed to (by its base path), so an
htsget client gets the htsget envelope, a DRS client the DRS one, and so on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar


class DomainError(Exception):
    """A failure the caller can act on; ``status`` and ``code`` classify it for every API."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(DomainError):
    status = 400
    code = "InvalidInput"


class UnsupportedFormatError(InvalidInputError):
    code = "UnsupportedFormat"


class InvalidRangeError(InvalidInputError):
    code = "InvalidRange"


class UnauthorizedError(DomainError):
    status = 401
    code = "InvalidAuthentication"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="gdi-node"'}


class ForbiddenError(DomainError):
    status = 403
    code = "PermissionDenied"


class ConsentWithdrawnError(ForbiddenError):
    """Research access to a file ended: it holds the data of a person who opted out of research
    use (decision record 0012). Raised only to callers permitted the file otherwise."""


class NotFoundError(DomainError):
    status = 404
    code = "NotFound"


class NotAcceptableError(DomainError):
    """None of the representations the client accepts is offered (RFC 9110 §15.5.7)."""

    status = 406
    code = "NotAcceptable"


class ConflictError(DomainError):
    status = 409
    code = "Conflict"


class PayloadTooLargeError(DomainError):
    status = 413
    code = "PayloadTooLarge"


class UnavailableError(DomainError):
    status = 503
    code = "Unavailable"


class MemberFailedError(DomainError):
    """A hub's member could not answer for its object (unreachable, failing, an invalid
    answer, or skipped while its circuit is open; decision record 0031)."""

    status = 502
    code = "BadGateway"


class MemberTimeoutError(MemberFailedError):
    """A hub's member did not answer within its deadline."""

    status = 504
    code = "GatewayTimeout"


class DatabaseUnavailableError(UnavailableError):
    """The database cannot be reached now; the caller may retry (RFC 9110 §10.2.3)."""

    RETRY_AFTER_SECONDS: ClassVar[int] = 5
    headers: ClassVar[dict[str, str]] = {"Retry-After": str(RETRY_AFTER_SECONDS)}


# Codes for statuses that reach the handlers without a DomainError (validation, routing, crashes).
_CODE_BY_STATUS = {
    400: "InvalidInput",
    401: "InvalidAuthentication",
    403: "PermissionDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    416: "InvalidRange",
    429: "TooManyRequests",
    502: "BadGateway",
    503: "Unavailable",
    504: "GatewayTimeout",
}


@dataclass(frozen=True)
class ErrorReport:
    """What went wrong, independent of any envelope."""

    status: int
    code: str
    message: str

    @classmethod
    def from_status(cls, status: int, message: str) -> ErrorReport:
        return cls(status, _CODE_BY_STATUS.get(status, "InternalError"), message)


Envelope = Callable[[ErrorReport], dict[str, Any]]


def htsget_envelope(report: ErrorReport) -> dict[str, Any]:
    """The htsget 1.3 error object: ``{"htsget": {"error": ..., "message": ...}}``."""
    return {"htsget": {"error": report.code, "message": report.message}}


def drs_envelope(report: ErrorReport) -> dict[str, Any]:
    """The DRS 1.5 ``Error`` object: ``{"msg": ..., "status_code": ...}``."""
    return {"msg": report.message, "status_code": report.status}


def service_registry_envelope(report: ErrorReport) -> dict[str, Any]:
    """The ``Error`` object of the GA4GH Service Registry 1.0 API (``components.schemas.Error``)."""
    return {
        "code": report.status,
        "message": report.message,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "errors": [{"code": report.code, "message": report.message}],
    }


def catalogue_envelope(report: ErrorReport) -> dict[str, Any]:
    """The FAIR Data Point's errors (the FDP specifications define no error body): an RFC 9457
    problem object, ``{"type", "title", "status", "detail"}``."""
    return {
        "type": "about:blank",
        "title": report.code,
        "status": report.status,
        "detail": report.message,
    }


def browser_envelope(report: ErrorReport) -> dict[str, Any]:
    """The frequency browser's errors outside its pages (search answers, files): an RFC 9457
    problem object, as the FAIR Data Point's."""
    return catalogue_envelope(report)


def beacon_envelope(beacon_id: str, api_version: str) -> Envelope:
    """The Beacon v2 ``beaconErrorResponse``: ``meta`` (a minimal ``beaconResponseMeta``) and
    ``error: {errorCode, errorMessage}``."""

    def envelope(report: ErrorReport) -> dict[str, Any]:
        return {
            "meta": {
                "beaconId": beacon_id,
                "apiVersion": api_version,
                "returnedSchemas": [],
                "returnedGranularity": "boolean",
                "receivedRequestSummary": {
                    "apiVersion": api_version,
                    "requestedSchemas": [],
                    "pagination": {"skip": 0, "limit": 0},
                    "requestedGranularity": "boolean",
                },
            },
            "error": {"errorCode": report.status, "errorMessage": report.message},
        }

    return envelope
