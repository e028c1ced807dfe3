"""Node-wide sample numbers of a load's samples, and what its sample sheet says about them.

Every genotyped sample (a VCF column within a dataset) gets a number the carrier bitmaps hold
(gdi_node.beacon.model.carriers). A load takes its numbers before it writes any variant row; what
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

_SAMPLES = cast(Table, BeaconSample.__table__)
_GROUPS = cast(Table, BeaconSampleGroup.__table__)


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
    the sheet's changes are returned, not written (:func:`apply_sheet`)."""
    known = {
        row.name: row.sample_no
        for row in session.execute(
            select(_SAMPLES.c.name, _SAMPLES.c.sample_no).where(_SAMPLES.c.dataset_id == dataset_id)
        )
    }
    new = [info for info in infos if info.name not in known]
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
        assigned = dict(zip((info.name for info in new), numbers_of_new, strict=True))
    grouped = [(assigned[info.name], info) for info in new]
    changed = [(known[i.name], i) for i in infos if from_sheet and i.name in known]
    numbers = [assigned[i.name] if i.name in assigned else known[i.name] for i in infos]
    return Numbered(np.asarray(numbers, dtype=np.uint32), changed, grouped + changed)


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
