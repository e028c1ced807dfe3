"""What asking one member came to: the words a partial answer is told in (decision record
0031, "partial answers are marked")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gdi_node.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidInputError,
    MemberFailedError,
    MemberTimeoutError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
)

# what a member refused, refused alike by the hub (with the member named)
_REFUSALS: dict[int, type[DomainError]] = {
    400: InvalidInputError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
}


class Outcome(StrEnum):
    ANSWERED = "answered"
    TIMED_OUT = "timeout"  # no complete answer within the member's deadline
    UNREACHABLE = "unreachable"  # no connection (refused, reset, DNS)
    FAILED = "error"  # an HTTP 5xx (or another status a GA4GH API does not answer with)
    REFUSED = "refused"  # 401/403: the member did not accept the caller's credentials
    NOT_FOUND = "not-found"  # 404: the member holds no such object
    REJECTED = "rejected"  # another 4xx: the member refused the request as asked (400, 409)
    INVALID = "invalid"  # an answer that is not JSON or not a valid document of the API
    CIRCUIT_OPEN = "circuit-open"  # skipped: the member failed repeatedly and is being probed

    @property
    def counts_as_failure(self) -> bool:
        """Whether it speaks against the member's health (opens its circuit when repeated).
        A refusal, a "not found" or a well-formed answer is the member working."""
        return self in {Outcome.TIMED_OUT, Outcome.UNREACHABLE, Outcome.FAILED, Outcome.INVALID}


@dataclass(frozen=True)
class MemberReply:
    """One member's reply to one request: its outcome, the JSON document when it answered
    (or refused with a JSON error), why it is missing otherwise, and how long it took."""

    member_id: str
    outcome: Outcome
    seconds: float
    status: int | None = None
    document: Any = None
    reason: str = ""

    @property
    def answered(self) -> bool:
        return self.outcome is Outcome.ANSWERED

    def missing(self) -> dict[str, Any]:
        """The entry naming this member in a partial answer's list of missing members."""
        return {"memberId": self.member_id, "reason": self.outcome.value, "detail": self.reason}


def answer_or_raise(reply: MemberReply) -> Any:
    """The member's answer to a request the hub passed on for one object (DRS, htsget); else
    the error the hub answers with: what the member refused (400, 401, 403, 404, 409, 413)
    with the member's message, 504 when it missed its deadline, 502 otherwise."""
    if reply.answered:
        return reply.document
    member = reply.member_id
    if reply.outcome is Outcome.TIMED_OUT:
        raise MemberTimeoutError(f"member {member} did not answer in time: {reply.reason}")
    refusal = _REFUSALS.get(reply.status or 0)
    if refusal is not None:
        raise refusal(f"member {member}: {error_message(reply.document) or reply.reason}")
    raise MemberFailedError(
        f"member {member} could not answer ({reply.outcome.value}): {reply.reason}"
    )


def error_message(document: Any) -> str | None:
    """The message of a GA4GH error document: Beacon ``error.errorMessage``, DRS ``msg``,
    htsget ``htsget.message`` (or a problem's ``detail``)."""
    if not isinstance(document, dict):
        return None
    for path in (("error", "errorMessage"), ("msg",), ("htsget", "message"), ("detail",)):
        value: Any = document
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value[:300]
    return None
