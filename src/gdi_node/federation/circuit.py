"""One member's circuit breaker (decision record 0031): a member that keeps failing costs a
query nothing once it is known to fail.

Closed: every request goes to the member. ``failures`` consecutive failures (timeouts,
unreachable, 5xx, invalid answers: ``Outcome.counts_as_failure``) open it: requests skip the
member (``Outcome.CIRCUIT_OPEN``) and a background probe asks it every ``probe_seconds``; the
first probe it answers closes the circuit again (gdi_node.federation.fanout runs the probes).
Touched only from the federation's event loop thread; ``state`` may be read from any thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"


class Circuit:
    def __init__(self, failures: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = failures
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self.openings = 0

    @property
    def state(self) -> CircuitState:
        return CircuitState.CLOSED if self._opened_at is None else CircuitState.OPEN

    @property
    def allows(self) -> bool:
        """Whether a request may go to the member now."""
        return self._opened_at is None

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None

    def failed(self) -> bool:
        """Count a failure; True when this one opened the circuit."""
        self._failures += 1
        if self._opened_at is None and self._failures >= self._limit:
            self._opened_at = self._clock()
            self.openings += 1
            return True
        return False

    @property
    def open_seconds(self) -> float:
        """How long the circuit has been open (0 when closed)."""
        return 0.0 if self._opened_at is None else self._clock() - self._opened_at
