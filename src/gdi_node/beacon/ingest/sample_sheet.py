"""``samples.tsv``: which individual, biosample, population and cohorts each VCF sample is.

A tab-separated file with a header row. Columns: ``sample`` (the VCF column name, required),
``individual_id``, ``biosample_id`` (both default to the sample name), ``population``,
``cohorts`` (comma-separated) and ``sex``; populations, cohorts and sexes are the groups the
Beacon reports frequencies for. Unknown columns are an error, so a typo is not silently ignored.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from gdi_node.errors import InvalidInputError

COLUMNS = ("sample", "individual_id", "biosample_id", "population", "cohorts", "sex")


@dataclass(frozen=True)
class SampleInfo:
    name: str
    individual_id: str
    biosample_id: str
    population: str | None = None
    cohorts: tuple[str, ...] = ()
    sex: str | None = None

    @classmethod
    def plain(cls, name: str) -> SampleInfo:
        return cls(name, name, name)

    def groups(self) -> list[tuple[str, str]]:
        out = [("cohort", cohort) for cohort in self.cohorts]
        if self.population:
            out.append(("population", self.population))
        if self.sex:
            out.append(("sex", self.sex))
        return out


def read_sample_sheet(path: Path) -> dict[str, SampleInfo]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read the sample sheet {path}: {exc}") from exc
    reader = csv.DictReader(text.splitlines(), delimiter="\t")
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in COLUMNS]
    if "sample" not in header or unknown:
        raise InvalidInputError(
            f"{path}: the header must name a 'sample' column and only {', '.join(COLUMNS)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    out: dict[str, SampleInfo] = {}
    for line, row in enumerate(reader, start=2):
        name = (row.get("sample") or "").strip()
        if not name:
            raise InvalidInputError(f"{path}, line {line}: empty sample name")
        if name in out:
            raise InvalidInputError(f"{path}, line {line}: sample {name!r} listed twice")
        cohorts = tuple(c.strip() for c in (row.get("cohorts") or "").split(",") if c.strip())
        out[name] = SampleInfo(
            name=name,
            individual_id=(row.get("individual_id") or "").strip() or name,
            biosample_id=(row.get("biosample_id") or "").strip() or name,
            population=(row.get("population") or "").strip() or None,
            cohorts=cohorts,
            sex=(row.get("sex") or "").strip() or None,
        )
    return out
