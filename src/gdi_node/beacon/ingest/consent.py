"""Research opt-out: an individual who withdrew consent is left out of every Beacon answer
(counts, frequencies, records) from the next query on, in every worker, without reloading
anything; opting back in restores them. Each change bumps the Beacon data generation
(gdi_node.beacon.store.generation) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.store.generation import bump_generation
from gdi_node.db.models import BeaconEntry, BeaconSample, ConsentOptOut
from gdi_node.errors import InvalidInputError


@dataclass(frozen=True)
class ConsentChange:
    changed: list[str]  # individuals whose state changed
    unchanged: list[str]  # already in the requested state
    not_loaded: list[str]  # no genotyped sample or record of theirs loaded (yet): recorded anyway


def read_id_file(path: Path) -> list[str]:
    """One individual id per line; blank lines and ``#`` comments are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def _check(ids: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(i.strip() for i in ids))
    if not wanted or any(not i or len(i) > 128 for i in wanted):
        raise InvalidInputError("give one or more individual ids (1 to 128 characters each)")
    return wanted


def _opted_out_among(session: Session, ids: list[str]) -> set[str]:
    query = select(ConsentOptOut.individual_id).where(ConsentOptOut.individual_id.in_(ids))
    return set(session.scalars(query))


class ConsentRegistry:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def opt_out(self, ids: Sequence[str], reason: str = "") -> ConsentChange:
        wanted = _check(ids)
        with self._sessions() as session, session.begin():
            already = _opted_out_among(session, wanted)
            changed = [i for i in wanted if i not in already]
            for individual_id in changed:
                session.add(ConsentOptOut(individual_id=individual_id, reason=reason))
            loaded = self._loaded(session, wanted)
            if changed:
                bump_generation(session)
        return ConsentChange(
            changed, [i for i in wanted if i in already], [i for i in wanted if i not in loaded]
        )

    def opt_in(self, ids: Sequence[str]) -> ConsentChange:
        wanted = _check(ids)
        with self._sessions() as session, session.begin():
            present = _opted_out_among(session, wanted)
            changed = [i for i in wanted if i in present]
            if changed:
                session.execute(
                    delete(ConsentOptOut).where(ConsentOptOut.individual_id.in_(changed))
                )
                bump_generation(session)
            loaded = self._loaded(session, wanted)
        return ConsentChange(
            changed, [i for i in wanted if i not in present], [i for i in wanted if i not in loaded]
        )

    def opted_out(self) -> list[tuple[str, str, str]]:
        with self._sessions() as session:
            rows = session.execute(
                select(
                    ConsentOptOut.individual_id, ConsentOptOut.opted_out_time, ConsentOptOut.reason
                ).order_by(ConsentOptOut.individual_id)
            )
            return [(r[0], r[1].isoformat(), r[2]) for r in rows]

    @staticmethod
    def _loaded(session: Session, ids: list[str]) -> set[str]:
        """Ids that name a genotyped sample's individual or an individual record."""
        genotyped = select(BeaconSample.individual_id).where(BeaconSample.individual_id.in_(ids))
        recorded = select(BeaconEntry.entry_id).where(
            BeaconEntry.entry_type == "individual", BeaconEntry.entry_id.in_(ids)
        )
        return set(session.scalars(genotyped)) | set(session.scalars(recorded))
