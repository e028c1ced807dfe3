"""Withdrawing genomes from a dataset without reloading the others (issue #18): one genome
by its biosample id, or one loaded file by its name.

The callsets go in one short transaction (retired: their bits leave every answer from the
next query on, decision records 0014 and 0020), then their bits are cleared from the allele
rows in steps. A sample held by a joint (multi-sample) file cannot be taken out of it alone
yet (it has a bit of its own, but its file would then speak for fewer samples than it holds);
that is refused with what to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyroaring import BitMap
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.store.callsets import (
    covering,
    delete_in_steps,
    find_callset,
    retire,
    sample_number,
)
from gdi_node.beacon.store.generation import bump_generation
from gdi_node.errors import ConflictError, NotFoundError


@dataclass(frozen=True)
class Withdrawn:
    dataset_id: str
    files: list[str]  # the names of the callsets withdrawn


def withdraw(
    sessions: sessionmaker[Session],
    dataset_id: str,
    *,
    biosample_id: str | None = None,
    file_name: str | None = None,
) -> Withdrawn:
    """Withdraw every file holding ``biosample_id``, or the file named ``file_name``."""
    if (biosample_id is None) == (file_name is None):
        raise ValueError("withdraw one biosample or one file")
    with sessions() as session, session.begin():
        bump_generation(session)  # first: under the write lock, like a load's steps
        if biosample_id is not None:
            targets = _genome(session, dataset_id, biosample_id)
        else:
            targets = _file(session, dataset_id, str(file_name))
        for callset_id in targets:
            retire(session, callset_id)
    for callset_id in targets:
        delete_in_steps(sessions, callset_id)
    return Withdrawn(dataset_id, sorted(targets.values()))


def _file(session: Session, dataset_id: str, name: str) -> dict[int, str]:
    """The callset loaded under ``name``: {id: name}."""
    found = find_callset(session, dataset_id, name)
    if found is None:
        raise NotFoundError(f"no file {name!r} loaded into {dataset_id}")
    return {found.id: found.name}


def _genome(session: Session, dataset_id: str, biosample_id: str) -> dict[int, str]:
    """Every callset holding the biosample, {id: name}; a joint one is refused."""
    sample_no = sample_number(session, dataset_id, biosample_id)
    targets = covering(session, dataset_id, BitMap([sample_no])) if sample_no else []
    if not targets:
        raise NotFoundError(f"no genotypes of biosample {biosample_id!r} loaded into {dataset_id}")
    joint = [t for t in targets if len(t.samples) > 1]
    if joint:
        raise ConflictError(
            f"{biosample_id} is in {joint[0].name} with {len(joint[0].samples) - 1} other"
            " samples; a sample cannot be taken out of a joint file alone yet: withdraw the"
            " file (--file) and load it again without the sample (bcftools view -s ^ID)"
        )
    return {t.callset_id: t.name for t in targets}
