"""Documents a hub keeps of its members: fetched anonymously, refreshed in the background, and
kept through a member's outage, marked stale (decision record 0031).

The documents describe members rather than their data: a Beacon's filtering terms and datasets,
as any anonymous caller sees them. A hub lists them next to its own without asking every
member on every request. Each refresh asks every member for every document in parallel, each
within the member's deadline and behind its circuit (gdi_node.federation.fanout). A document
that fails to refresh keeps its last good copy with ``stale`` set; a member never fetched has
no copy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from gdi_node.config.federation import FederatedApi, MemberSettings
from gdi_node.federation.fanout import Federation, MemberRequest, Validator
from gdi_node.federation.outcomes import MemberReply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wanted:
    """One document to keep of every member using ``api`` (None: of every member): its URL
    from the member's settings and how to check it."""

    api: FederatedApi | None
    url: Callable[[MemberSettings], str]
    validate: Validator


@dataclass(frozen=True)
class Kept:
    """A member's copy of one document: when it was fetched and whether the last refresh
    failed (then ``problem`` says why)."""

    document: object
    fetched_at: datetime
    stale: bool = False
    problem: str = ""

    def status(self, member_id: str) -> dict[str, object]:
        out: dict[str, object] = {
            "memberId": member_id,
            "fetchedAt": self.fetched_at.isoformat(timespec="seconds"),
            "stale": self.stale,
        }
        if self.problem:
            out["problem"] = self.problem
        return out


class MemberDocuments:
    """The kept documents of a hub's members; a background job of the app (start, stop)."""

    def __init__(
        self, federation: Federation, wanted: Mapping[str, Wanted], every_seconds: float
    ) -> None:
        self._federation = federation
        self._wanted = dict(wanted)
        self._every = every_seconds
        self._kept: dict[tuple[str, str], Kept] = {}
        self._failed: dict[tuple[str, str], str] = {}  # never fetched: why
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="gdi-node-member-documents", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def kept(self, name: str) -> dict[str, Kept]:
        """Each member's copy of document ``name`` (members never fetched are absent)."""
        with self._lock:
            return {m: k for (m, n), k in self._kept.items() if n == name}

    def missing(self, name: str) -> dict[str, str]:
        """Members of which document ``name`` was never fetched, and why."""
        with self._lock:
            return {m: why for (m, n), why in self._failed.items() if n == name}

    def refresh(self) -> None:
        """Fetch every wanted document of every member once (in parallel)."""
        for name, wanted in self._wanted.items():
            requests = [
                MemberRequest(member, "GET", wanted.url(member))
                for member in self._federation.members
                if wanted.api is None or wanted.api in member.apis
            ]
            if requests:
                self._store(name, self._federation.ask(requests, wanted.validate))

    def _store(self, name: str, replies: list[MemberReply]) -> None:
        now = datetime.now(UTC)
        with self._lock:
            for reply in replies:
                key = (reply.member_id, name)
                if reply.answered:
                    self._kept[key] = Kept(reply.document, now)
                    self._failed.pop(key, None)
                    continue
                problem = f"{reply.outcome.value}: {reply.reason}".strip(": ")
                previous = self._kept.get(key)
                if previous is not None:
                    self._kept[key] = replace(previous, stale=True, problem=problem)
                else:
                    self._failed[key] = problem

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.refresh()
            except Exception:  # the next round tries again; the kept copies stay
                log.exception("refreshing the members' documents failed")
            self._stopping.wait(self._every)
