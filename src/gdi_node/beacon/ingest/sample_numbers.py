"""Node-wide sample numbers of a load's samples, and what its sample sheet says about them.

Every genotyped sample (a biosample within a dataset) gets a number; each file's samples then
get bits of their own, which the carrier bitmaps hold (gdi_node.beacon.store.genotype_sets,
decision record 0020). A load takes its numbers before it writes any variant row; what
the sample sheet changes for samples already known (individual, biosample, populations and
cohorts) is written when the load is shown, in the same transaction (decision record 0014).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from gdi_node.beacon.ingest.sample_sheet import SampleInfo
from gdi_node.db.models import BeaconSample, BeaconSampleGroup
from gdi_node.errors import ConflictError, InvalidInputError

_SAMPLES = cast(Table, BeaconSample.__table__)
_GROUPS = cast(Table, BeaconSampleGroup.__table__)
_CHUNK = 400  # samples per lookup


@dataclass(frozen=True)
class Numbered:
    """The numbers of a load's samples (in VCF column order) and the sheet's changes."""

    numbers: npt.NDArray[np.uint32]
    changed: list[tuple[int, SampleInfo]]  # known samples whose sheet entry is applied
    grouped: list[tuple[int, SampleInfo]]  # samples whose groups are (re)set


def number_samples(
    session: Session, dataset_id: str, infos: list[SampleInfo], from_sheet: bool
) -> Numbered:
    """Keep the numbers of known samples, assign new ones (one INSERT for all new samples);
    the sheet's changes are returned, not written (:func:`apply_sheet`).

    A sample is its biosample id (the sheet's, else the VCF column name): the same biosample
    in another file of the dataset keeps its number, whatever the column is called there."""
    known: dict[str, int] = {}
    names: dict[str, str] = {}  # column name -> the biosample it names in the dataset
    columns = (_SAMPLES.c.name, _SAMPLES.c.biosample_id, _SAMPLES.c.sample_no)
    for start in range(0, len(infos), _CHUNK):  # only this file's samples: its own cost
        chunk = infos[start : start + _CHUNK]
        for row in session.execute(
            select(*columns).where(
                _SAMPLES.c.dataset_id == dataset_id,
                _SAMPLES.c.biosample_id.in_([i.biosample_id for i in chunk])
                | _SAMPLES.c.name.in_([i.name for i in chunk]),
            )
        ):
            known[row.biosample_id] = row.sample_no
            names[row.name] = row.biosample_id
    new = [info for info in infos if info.biosample_id not in known]
    _check_columns(infos, new, names)
    assigned: dict[str, int] = {}
    if new:
        numbers_of_new = session.execute(
            insert(_SAMPLES).returning(_SAMPLES.c.sample_no, sort_by_parameter_order=True),
            [
                {
                    "dataset_id": dataset_id,
                    "name": info.name,
                    "individual_id": info.individual_id,
                    "biosample_id": info.biosample_id,
                }
                for info in new
            ],
        ).scalars()
        assigned = dict(zip((info.biosample_id for info in new), numbers_of_new, strict=True))
    grouped = [(assigned[info.biosample_id], info) for info in new]
    changed = [(known[i.biosample_id], i) for i in infos if from_sheet and i.biosample_id in known]
    numbers = [
        assigned[i.biosample_id] if i.biosample_id in assigned else known[i.biosample_id]
        for i in infos
    ]
    return Numbered(np.asarray(numbers, dtype=np.uint32), changed, grouped + changed)


def _check_columns(infos: list[SampleInfo], new: list[SampleInfo], names: dict[str, str]) -> None:
    """A file holds each biosample once, and a new biosample may not arrive in a column that
    already names another biosample of the dataset (the column name identifies its genotypes
    in the dataset's files)."""
    for info in new:
        other = names.get(info.name)
        if other is not None:
            raise ConflictError(
                f"column {info.name!r} holds biosample {info.biosample_id!r}, but {info.name!r}"
                f" already names biosample {other!r} in this dataset; rename the column"
                " (bcftools reheader -s) or give the sample sheet's biosample_id"
            )
    seen: dict[str, str] = {}
    for info in infos:
        if info.biosample_id in seen:
            raise InvalidInputError(
                f"columns {seen[info.biosample_id]!r} and {info.name!r} are both biosample"
                f" {info.biosample_id!r}: a file holds each sample once"
            )
        seen[info.biosample_id] = info.name


def apply_sheet(session: Session, numbered: Numbered) -> None:
    """Write the sheet's changes: known samples' individual and biosample, everyone's groups
    (deleted in chunks of 500 sample numbers, inserted at once)."""
    if numbered.changed:
        session.execute(
            update(_SAMPLES)
            .where(_SAMPLES.c.sample_no == bindparam("no"))
            .values(individual_id=bindparam("individual"), biosample_id=bindparam("biosample")),
            [
                {"no": no, "individual": info.individual_id, "biosample": info.biosample_id}
                for no, info in numbered.changed
            ],
        )
    numbers = [sample_no for sample_no, _ in numbered.grouped]
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        session.execute(delete(_GROUPS).where(_GROUPS.c.sample_no.in_(chunk)))
    rows = [
        {"sample_no": sample_no, "kind": kind, "name": name}
        for sample_no, info in numbered.grouped
        for kind, name in info.groups()
    ]
    if rows:
        session.execute(insert(_GROUPS), rows)


def sample_numbers(
    session: Session, dataset_id: str, infos: list[SampleInfo], from_sheet: bool
) -> npt.NDArray[np.uint32]:
    """Numbers assigned and the sheet applied at once, in the caller's transaction."""
    numbered = number_samples(session, dataset_id, infos, from_sheet)
    apply_sheet(session, numbered)
    return numbered.numbers
