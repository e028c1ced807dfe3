"""Research opt-out for the file APIs (DRS, htsget): which catalogue files hold the data of
people who withdrew consent for research use (decision record 0012).

A file is an opted-out person's when

- one of its aliases (``gdi-node ingest files --alias``) names them or one of their records:
  their individual id; the ids of their biosamples (records with their ``individualId``, and
  the biosample ids of their genotyped samples); of their runs and analyses (records with their
  ``individualId``, or one of their ``biosampleId``/``runId``, so a run naming only its
  biosample is theirs too); the VCF column names of their genotyped samples; or
- its content (SHA-256) is a genotype file loaded into the Beacon (a callset) holding one of
  their samples, whoever else it holds: a joint-called VCF is withheld whole.

Ids are matched node-wide, as consent is (an individual id is one person in every dataset).
Every change to consent or to Beacon data bumps the Beacon data generation
(``beacon_generation``) in its own transaction; :class:`ConsentGate` keeps these sets per
generation and reads the generation in the same statement as the file's aliases and checksum:
one indexed statement per request, and an opt-out applies at the next request in every worker.
This module reads the tables only; it is shared by Beacon's handovers, DRS and htsget.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from threading import Lock
from typing import Any, cast

from pyroaring import BitMap
from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.db.models import (
    BeaconCallset,
    BeaconEntry,
    BeaconGeneration,
    BeaconSample,
    ConsentOptOut,
    DataObject,
    ObjectAlias,
)

_CHUNK = 500  # values per IN list
_GENERATION = cast(Table, BeaconGeneration.__table__)
_DATA = cast(Table, DataObject.__table__)
_ALIAS = cast(Table, ObjectAlias.__table__)
_ENTRY = cast(Table, BeaconEntry.__table__)
_SAMPLE = cast(Table, BeaconSample.__table__)
_CALLSET = cast(Table, BeaconCallset.__table__)
_OPTED = cast(Table, ConsentOptOut.__table__)
_LINKS = (_ENTRY.c.entry_id, _ENTRY.c.biosample_id, _ENTRY.c.run_id)

# The generation, and each named object's checksum and aliases: one statement per request.
_STATE = (
    select(_GENERATION.c.value, _DATA.c.id, _DATA.c.sha256, _ALIAS.c.alias)
    .select_from(
        _GENERATION.outerjoin(
            _DATA, _DATA.c.id.in_(bindparam("object_ids", expanding=True))
        ).outerjoin(_ALIAS, _ALIAS.c.object_id == _DATA.c.id)
    )
    .where(_GENERATION.c.id == 1)
)


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


@dataclass(frozen=True)
class Withheld:
    """What marks a file as an opted-out person's: an alias in ``names``, or content in
    ``checksums`` (SHA-256 of genotype files holding one of their samples)."""

    names: frozenset[str]
    checksums: frozenset[str]

    def covers(self, aliases: Iterable[str], sha256: str | None) -> bool:
        return sha256 in self.checksums or not self.names.isdisjoint(aliases)


NOTHING = Withheld(frozenset(), frozenset())


def opted_out_individuals(session: Session) -> list[str]:
    return list(session.scalars(select(_OPTED.c.individual_id)))


def withheld_for(session: Session, individuals: Collection[str]) -> Withheld:
    """The names and checksums that mark the files of ``individuals`` (module docstring): the
    ids of their records (:func:`records_of`) and the VCF column names of their samples."""
    if not individuals:
        return NOTHING
    names = set(records_of(session, individuals))
    samples = BitMap()
    for chunk in _chunks(individuals):
        for sample_no, name in session.execute(
            select(_SAMPLE.c.sample_no, _SAMPLE.c.name).where(_SAMPLE.c.individual_id.in_(chunk))
        ):
            samples.add(sample_no)
            names.add(name)
    return Withheld(frozenset(names), frozenset(_genotype_checksums(session, samples)))


def records_of(session: Session, individuals: Collection[str]) -> frozenset[str]:
    """Ids of the Beacon records of ``individuals``: their own, and those linked to them only
    through one of their biosamples or runs (a run naming only its biosample, an analysis
    naming only its run), plus the biosample ids of their genotyped samples."""
    if not individuals:
        return frozenset()
    names = set(individuals)
    biosamples: set[str] = set()
    runs: set[str] = set()
    for chunk in _chunks(individuals):
        for entry_id, biosample, run in session.execute(
            select(*_LINKS).where(_ENTRY.c.individual_id.in_(chunk))
        ):
            names.add(entry_id)
            biosamples.update([biosample] if biosample else [])
            runs.update([run] if run else [])
        for (biosample,) in session.execute(
            select(_SAMPLE.c.biosample_id).where(_SAMPLE.c.individual_id.in_(chunk))
        ):
            biosamples.update([biosample] if biosample else [])
    return frozenset(names | _linked_records(session, biosamples, runs))


def _linked_records(session: Session, biosamples: set[str], runs: set[str]) -> set[str]:
    """Ids of the records linked to ``biosamples`` or ``runs`` (runs naming only a biosample,
    analyses naming only a run), followed until nothing new is linked."""
    names = biosamples | runs
    pending_biosamples, pending_runs = set(biosamples), set(runs)
    while pending_biosamples or pending_runs:
        found: list[Any] = []
        for chunk in _chunks(pending_biosamples):
            found += session.execute(select(*_LINKS).where(_ENTRY.c.biosample_id.in_(chunk)))
        for chunk in _chunks(pending_runs):
            found += session.execute(select(*_LINKS).where(_ENTRY.c.run_id.in_(chunk)))
        pending_biosamples, pending_runs = set(), set()
        for entry_id, biosample, run in found:
            names.add(entry_id)
            if biosample and biosample not in biosamples:
                biosamples.add(biosample)
                pending_biosamples.add(biosample)
            if run and run not in runs:
                runs.add(run)
                pending_runs.add(run)
        names |= biosamples | runs
    return names


def _genotype_checksums(session: Session, samples: BitMap) -> set[str]:
    if not samples:
        return set()
    rows = session.execute(select(_CALLSET.c.sha256, _CALLSET.c.samples))
    return {
        sha256
        for sha256, members in rows
        if BitMap.deserialize(members).intersection_cardinality(samples)
    }


@dataclass(frozen=True)
class _Known:
    generation: int
    withheld: Withheld


class ConsentGate:
    """Whether catalogue files are withheld from research use, per worker.

    The sets of :func:`withheld_for` are rebuilt when the Beacon data generation read with the
    objects differs from the one they were built at; the objects' aliases and checksums are
    read on every call, so a file registered or re-aliased since is judged as it is now.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._known: _Known | None = None
        self._lock = Lock()

    def withheld(self, object_id: str) -> bool:
        """Whether the data object ``object_id`` is withheld (an unknown id is not)."""
        return object_id in self.withheld_among([object_id])

    def withheld_among(self, object_ids: Collection[str]) -> set[str]:
        """The data objects among ``object_ids`` that are withheld: one statement per 500."""
        if not object_ids:
            return set()
        generation = 0
        aliases: dict[str, set[str]] = {}
        checksums: dict[str, str] = {}
        with self._sessions() as session:
            for chunk in _chunks(object_ids):
                for value, object_id, sha256, alias in session.execute(
                    _STATE, {"object_ids": chunk}
                ):
                    generation = max(generation, int(value or 0))
                    if object_id is not None:
                        checksums[object_id] = sha256
                        aliases.setdefault(object_id, set()).update([alias] if alias else [])
            known = self._known
            if known is None or known.generation != generation:
                known = self._rebuild(session)
        return {
            object_id
            for object_id, sha256 in checksums.items()
            if known.withheld.covers(aliases[object_id], sha256)
        }

    def _rebuild(self, session: Session) -> _Known:
        """The sets as of now: the generation is read first, so they are at least as new as
        it (a change committed in between only makes the next call rebuild again)."""
        generation = int(
            session.execute(select(_GENERATION.c.value).where(_GENERATION.c.id == 1)).scalar() or 0
        )
        known = _Known(generation, withheld_for(session, opted_out_individuals(session)))
        with self._lock:
            self._known = known
        return known
