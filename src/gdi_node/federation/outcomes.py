"""What asking one member came to: the words a partial answer is told in (decision record
0031, "partial answers are marked")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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
