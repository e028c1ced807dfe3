"""Reading metadata files for ``gdi-node ingest metadata``: Beacon Friendly Format (BFF) JSON
(one file per entry type, an array of default-model records or one record) and Phenopackets v2
JSON (one phenopacket or an array; the subject and its biosamples).

A BFF file's entry type comes from ``--entry-type`` or from its name (``individuals.json``,
``ega-biosamples.json``); a phenopacket is recognised by its ``subject`` and ``metaData``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdi_node.beacon.framework.documents import METADATA_TYPES
from gdi_node.beacon.ingest.phenopackets import convert, is_phenopacket
from gdi_node.errors import InvalidInputError, NotFoundError

# file / folder name -> entry type (the default model's folder names, singular entry types)
# BFF folder (and file) name -> entry type, from the one table (gdi_node.beacon.framework)
TYPE_OF_FOLDER = {entry.folder: entry.id for entry in METADATA_TYPES}
FOLDERS = {entry_type: folder for folder, entry_type in TYPE_OF_FOLDER.items()}
VARIANT_FILES = ("genomicVariations", "caseLevelData", "targets")
_WORDS = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class MetadataRecord:
    entry_type: str  # individual, biosample, run, analysis, cohort, dataset
    record: Any  # a Beacon default-model record (checked later)
    where: str  # file name and position, for reports


def entry_type_of(path: Path, given: str | None) -> str | None:
    """The entry type a BFF file holds, from ``given`` (folder or singular name) or its name;
    None when the name says nothing (the file may still hold phenopackets)."""
    if given:
        key = given.strip()
        if key in TYPE_OF_FOLDER.values():
            return key
        if key in TYPE_OF_FOLDER:
            return TYPE_OF_FOLDER[key]
        raise InvalidInputError(
            f"unknown entry type {given!r}; one of {', '.join(sorted(TYPE_OF_FOLDER))}"
        )
    words = [w.lower() for w in _WORDS.findall(path.name.removesuffix(".json"))]
    for word in reversed(words):
        if word in TYPE_OF_FOLDER:
            return TYPE_OF_FOLDER[word]
    return None


def is_variant_file(path: Path) -> bool:
    """BFF genomic variations and their genotypes (``genomicVariations.json``,
    ``caseLevelData.json``, ``targets.json``), loaded into the allele-frequency database."""
    return path.name.removesuffix(".json") in VARIANT_FILES


def load_json(path: Path) -> Any:
    if not path.is_file():
        raise NotFoundError(f"no such file: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path.name} is not JSON: {exc}") from exc


def read_records(path: Path, entry_type: str | None = None) -> list[MetadataRecord]:
    """The records of one BFF or phenopacket file, in file order."""
    document = load_json(path)
    items = document if isinstance(document, list) else [document]
    declared = entry_type_of(path, entry_type)
    records = []
    for position, item in enumerate(items):
        where = f"{path.name}[{position}]"
        if is_phenopacket(item) and declared in (None, "individual"):
            for kind, record in convert(item):
                records.append(MetadataRecord(kind, record, f"{where} (phenopacket)"))
            continue
        if declared is None:
            raise InvalidInputError(
                f"{where}: cannot tell which entry type {path.name} holds; name the file"
                " individuals.json, biosamples.json, … or pass --entry-type"
            )
        records.append(MetadataRecord(declared, item, where))
    return records
