"""What Beacon v2 filters match in a metadata record (framework ``filteringTerms``: ontology,
alphanumeric and custom filters).

- **Ontology terms**: the ``id`` of every ontology-term object (``{"id": "HP:0000002", ...}``)
  in the record, except the features a record states are absent (``excluded: true``) and
  ``info`` (free-form). Descendant terms are expanded at query time, not stored.
- **Custom terms**: categorical fields the default model keeps as plain strings, as
  ``field:value`` (``libraryStrategy:WGS``, ``karyotypicSex:XXY``); which fields, per entry
  type, is the ``custom_fields`` of gdi_node.beacon.framework.documents.ENTRY_TYPES.
- **Alphanumeric values**: ages as days under ``PATO:0000011`` (age: every ISO 8601 duration in
  the record) and ``EFO:0004847`` (age at onset of diseases and phenotypic features), each
  measurement's number under its assay code (``LOINC:26515-7``), and every other scalar under
  its dotted path (``notes``, ``diseases.notes``, ``cohortSize``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gdi_node.beacon.framework.documents import METADATA_TYPES

AGE = "PATO:0000011"
AGE_OF_ONSET = "EFO:0004847"
FIELD_ALIASES = {"age": AGE, "ageofonset": AGE_OF_ONSET, "age_of_onset": AGE_OF_ONSET}
FIELD_LABELS = {AGE: "age", AGE_OF_ONSET: "age at onset"}
# entry type -> its custom filter fields, from the one table
CUSTOM_FIELDS = {entry.id: entry.custom_fields for entry in METADATA_TYPES}
_CURIE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*:\S+$")
_DURATION = re.compile(
    r"^P(?!$)(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$"
)
_DAYS = (365.25, 30.4375, 7.0, 1.0)
_SKIPPED = {"info", "_id"}
MAX_TEXT = 255


def duration_days(text: str) -> float | None:
    """An ISO 8601 duration (``P32Y6M1D``) in days (years of 365.25 days, months of 30.4375);
    None when ``text`` is not one. Hours and smaller are ignored."""
    match = _DURATION.match(text.strip().upper())
    if match is None:
        return None
    return sum(float(part) * days for part, days in zip(match.groups(), _DAYS, strict=True) if part)


@dataclass
class EntryIndex:
    terms: set[str] = field(default_factory=set)
    values: list[tuple[str, float | None, str | None]] = field(default_factory=list)


def index_record(entry_type: str, record: dict[str, Any]) -> EntryIndex:
    """Terms and values of one record (see the module docstring)."""
    index = EntryIndex()
    for name in CUSTOM_FIELDS.get(entry_type, ()):
        value = record.get(name)
        if isinstance(value, str) and value.strip():
            index.terms.add(f"{name}:{value.strip()}"[:MAX_TEXT])
    _walk(record, "", index)
    for onset in _onsets(record):
        days = _age_of(onset)
        if days is not None:
            index.values.append((AGE_OF_ONSET, days, None))
    for assay, number in _measurements(record):
        index.values.append((assay, number, None))
    return index


def _excluded(node: dict[str, Any]) -> bool:
    flag = node.get("excluded")
    return flag is True or (isinstance(flag, str) and flag.strip().lower() == "true")


def _walk(node: Any, path: str, index: EntryIndex) -> None:
    if isinstance(node, dict):
        if _excluded(node):
            return
        term = node.get("id")
        if isinstance(term, str) and _CURIE.match(term) and path:
            index.terms.add(term[:MAX_TEXT])
            return  # an ontology term's id and label are the term itself
        for key, value in node.items():
            if key in _SKIPPED:
                continue
            _walk(value, f"{path}.{key}" if path else key, index)
    elif isinstance(node, list):
        for item in node:
            _walk(item, path, index)
    elif isinstance(node, bool):
        index.values.append((path, None, str(node).lower()))
    elif isinstance(node, int | float):
        index.values.append((path, float(node), None))
    elif isinstance(node, str) and node.strip():
        text = node.strip()
        days = duration_days(text) if text[:1] in "Pp" else None
        if days is not None:
            index.values.append((AGE, days, None))
        index.values.append((path, None, text[:MAX_TEXT]))


def _age_of(value: Any) -> float | None:
    """Days of a TimeElement that is an age (``{"age": {"iso8601duration": ...}}``, an
    ``{"iso8601duration": ...}`` or a bare duration string)."""
    if isinstance(value, str):
        return duration_days(value)
    if isinstance(value, dict):
        if "iso8601duration" in value:
            return _age_of(value["iso8601duration"])
        if "age" in value:
            return _age_of(value["age"])
    return None


def _onsets(record: dict[str, Any]) -> Iterator[Any]:
    for disease in record.get("diseases") or ():
        if isinstance(disease, dict) and not _excluded(disease):
            yield disease.get("ageOfOnset")
    for feature in record.get("phenotypicFeatures") or ():
        if isinstance(feature, dict) and not _excluded(feature):
            yield feature.get("onset")


def _measurements(record: dict[str, Any]) -> Iterator[tuple[str, float]]:
    for key in ("measures", "measurements"):
        for item in record.get(key) or ():
            if not isinstance(item, dict):
                continue
            assay = (item.get("assayCode") or {}).get("id")
            value = item.get("measurementValue")
            if isinstance(value, dict) and isinstance(value.get("quantity"), dict):
                value = value["quantity"]
            number = value.get("value") if isinstance(value, dict) else value
            if isinstance(assay, str) and isinstance(number, int | float) and number is not True:
                yield assay[:MAX_TEXT], float(number)
