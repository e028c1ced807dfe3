"""``samples.tsv``: which individual, biosample, population and cohorts each VCF sample is.

A tab-separated file with a header row. Columns: ``sample`` (the VCF column name, required),
``individual_id``, ``biosample_id`` (both default to the sample name), ``population``,
``cohorts`` (comma-separated), ``sex`` (M, F, male, female, XY or XX, any case; stored as M or
F) and ``country`` (of birth, ISO 3166-1 alpha-2); sexes, countries, populations and cohorts are
the groups the Beacon reports frequencies for (decision record 0018). Unknown columns, and
other sex or country values, are an error, so a typo is not silently ignored.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from gdi_node.beacon.model.populations import country_code, normalised_sex
from gdi_node.errors import InvalidInputError

COLUMNS = ("sample", "individual_id", "biosample_id", "population", "cohorts", "sex", "country")


@dataclass(frozen=True)
class SampleInfo:
    name: str
    individual_id: str
    biosample_id: str
    population: str | None = None
    cohorts: tuple[str, ...] = ()
    sex: str | None = None  # M or F
    country: str | None = None  # ISO 3166-1 alpha-2

    @classmethod
    def plain(cls, name: str) -> SampleInfo:
        return cls(name, name, name)

    def groups(self) -> list[tuple[str, str]]:
        out = [("cohort", cohort) for cohort in self.cohorts]
        if self.population:
            out.append(("population", self.population))
        if self.sex:
            out.append(("sex", self.sex))
        if self.country:
            out.append(("country", self.country))
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
            sex=_sex(path, line, row.get("sex") or ""),
            country=_country(path, line, row.get("country") or ""),
        )
    return out


def _sex(path: Path, line: int, value: str) -> str | None:
    if not value.strip():
        return None
    sex = normalised_sex(value)
    if sex is None:
        raise InvalidInputError(
            f"{path}, line {line}: sex {value.strip()!r} is none of M, F, male, female, XY, XX"
        )
    return sex


def _country(path: Path, line: int, value: str) -> str | None:
    if not value.strip():
        return None
    code = country_code(value)
    if code is None:
        raise InvalidInputError(
            f"{path}, line {line}: country {value.strip()!r} is not an ISO 3166-1 alpha-2 code"
        )
    return code
