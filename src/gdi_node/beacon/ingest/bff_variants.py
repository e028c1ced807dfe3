"""Beacon Friendly Format genomic variations into the allele-frequency database: a
``genomicVariations.json`` (default-model ``genomicVariations`` records with a VRS
``SequenceLocation``), with ``caseLevelData.json`` (per variant, the genotype of each target:
``"01"`` one copy, ``"11"`` two copies, keyed by the target's position) and ``targets.json``
(the biosample ids those positions stand for) beside it, as written by the Beacon v2
reference implementation's tools.

The variants become one callset of the dataset, stored like a VCF's (gdi_node.beacon.ingest.vcf)
through gdi_node.beacon.store.variant_writes: its targets' bits ORed into the dataset's allele
rows, annotations (genes, molecular effects, amino-acid changes) and search terms.
A target absent from a variant's case-level data is taken as carrying no copy and called on
both alleles: that is how the format leaves out homozygous-reference genotypes (mode
``joint``: absent = reference on the contigs the file has variants on).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gdi_node.beacon.ingest.metadata_files import load_json
from gdi_node.beacon.ingest.sample_numbers import sample_numbers
from gdi_node.beacon.ingest.sample_sheet import SampleInfo
from gdi_node.beacon.model import carriers
from gdi_node.beacon.model.annotations import molecular_effect_ids, short_protein_change
from gdi_node.beacon.model.assemblies import Assembly, known_assemblies
from gdi_node.beacon.model.spans import Spans
from gdi_node.beacon.model.variants import genomic_hgvs, variant_type
from gdi_node.beacon.store.callsets import delete_callset, find_callset
from gdi_node.beacon.store.genotype_sets import allocate_bits
from gdi_node.beacon.store.variant_writes import NewAllele, write_alleles
from gdi_node.db.models import BeaconCallset
from gdi_node.errors import InvalidInputError

_GENOTYPES = {"01": 1, "10": 1, "1": 1, "11": 2}


@dataclass(frozen=True)
class BffVariantsResult:
    name: str
    status: str  # loaded, unchanged, replaced
    variants: int
    samples: int


def _assembly_of(accession: str) -> tuple[Assembly, str]:
    assemblies = known_assemblies()
    for assembly_id in assemblies.ids:
        assembly = assemblies.get(assembly_id)
        chrom = assembly.canonical(accession) if assembly is not None else None
        if assembly is not None and chrom is not None:
            return assembly, chrom
    raise InvalidInputError(f"sequence {accession!r} belongs to no known assembly")


def _targets(folder: Path) -> list[str]:
    path = folder / "targets.json"
    if not path.is_file():
        return []
    document = load_json(path)
    items = document if isinstance(document, list) else [document]
    names: list[str] = []
    for item in items:
        names += [str(b) for b in (item or {}).get("biosampleIds") or ()]
    return names


def _case_level(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / "caseLevelData.json"
    if not path.is_file():
        return {}
    document = load_json(path)
    return {
        str(d["id"]): {k: str(v) for k, v in d.items() if k.isdigit()}
        for d in (document if isinstance(document, list) else [document])
        if isinstance(d, dict) and "id" in d
    }


def _row(record: dict[str, Any], index: int) -> tuple[str, int, str, str, str]:
    """(HGVS id, 0-based start, reference, alternate, sequence accession) of one record."""
    where = f"genomicVariations.json[{index}]"
    try:
        hgvs = str(record["identifiers"]["genomicHGVSId"])
        variation = record["variation"]
        start = int(variation["location"]["interval"]["start"]["value"])
        ref = str(variation["referenceBases"]).upper()
        alt = str(variation["alternateBases"]).upper()
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{where}: needs identifiers.genomicHGVSId, variation.referenceBases,"
            f" alternateBases and location.interval.start ({exc!r} missing or malformed)"
        ) from None
    if not ref:  # every stored allele covers a base (gdi_node.beacon.store.variant_bins)
        raise InvalidInputError(
            f"{where}: variation.referenceBases is empty; give the VCF-style anchored reference"
        )
    return hgvs, start, ref, alt, hgvs.split(":", 1)[0]


def _annotation(record: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    attributes = record.get("molecularAttributes") or {}
    genes = sorted({str(g) for g in attributes.get("geneIds") or ()})
    known_effects = molecular_effect_ids()
    effects = sorted(
        str(e.get("label", "")).replace(" ", "_")
        for e in attributes.get("molecularEffects") or ()
        if isinstance(e, dict) and str(e.get("label", "")).replace(" ", "_") in known_effects
    )
    changes = sorted(
        {
            short
            for change in attributes.get("aminoacidChanges") or ()
            if (short := short_protein_change(f"p.{change}")) is not None
        }
    )
    note = {"genes": genes, "effects": effects, "hgvs": [], "aminoacidChanges": changes}
    terms = [("gene", g) for g in genes] + [("aachange", a) for a in changes]
    return note, terms


def load_bff_variants(
    session: Session,
    dataset_id: str,
    path: Path,
    individuals_of: dict[str, str],
) -> BffVariantsResult:
    """Load ``path`` (genomicVariations.json) and its siblings into ``dataset_id`` within the
    caller's transaction; ``individuals_of`` maps biosample ids to individual ids."""
    folder = path.parent
    records = load_json(path)
    if not isinstance(records, list):
        raise InvalidInputError(f"{path.name} must be an array of genomicVariations records")
    targets = _targets(folder)
    case_level = _case_level(folder)
    digest = hashlib.sha256(path.read_bytes())
    for sibling in ("caseLevelData.json", "targets.json"):
        if (folder / sibling).is_file():
            digest.update((folder / sibling).read_bytes())
    sha256 = digest.hexdigest()
    existing = find_callset(session, dataset_id, path.name)
    status = "loaded"
    if existing is not None:
        if existing.sha256 == sha256:
            return BffVariantsResult(path.name, "unchanged", existing.allele_count, len(targets))
        delete_callset(session, existing.id)
        status = "replaced"
    infos = [SampleInfo(b, individuals_of.get(b, b), b) for b in targets]
    numbers = sample_numbers(session, dataset_id, infos, True)
    rows = [_row(r, i) for i, r in enumerate(records) if isinstance(r, dict)]
    assembly, _ = _assembly_of(rows[0][4]) if rows else (known_assemblies().default, "")
    callset = BeaconCallset(
        dataset_id=dataset_id, name=path.name, sha256=sha256, assembly=assembly.id,
        sample_count=len(targets), samples=carriers.to_bytes(carriers.bitmap_of(numbers)),
        record_count=len(rows), allele_count=len(rows), max_span=0, mode="joint",
    )  # fmt: skip
    session.add(callset)
    session.flush()
    bits = allocate_bits(session, callset.id, [int(n) for n in numbers])
    spans = Spans()
    batch = []
    for record, (hgvs, start, ref, alt, accession) in zip(records, rows, strict=True):
        row_assembly, chrom = _assembly_of(accession)
        if row_assembly.id != assembly.id:
            raise InvalidInputError(f"{path.name} mixes {assembly.id} and {row_assembly.id}")
        held = carriers.AlleleBits()
        for position, code in case_level.get(hgvs, {}).items():
            copies = _GENOTYPES.get(code)
            if copies is None or int(position) >= len(targets):
                raise InvalidInputError(f"caseLevelData {hgvs}: bad genotype {position}={code}")
            (held.one_copy if copies == 1 else held.two_copies).add(int(bits[int(position)]))
        note, terms = _annotation(record)
        computed = genomic_hgvs(accession, start + 1, ref, alt)
        terms += [("hgvs", h) for h in dict.fromkeys((hgvs, computed)) if h]
        note["genomicHgvs"] = [hgvs]
        end = start + len(ref)
        spans.add(chrom, start, end)
        callset.max_span = max(callset.max_span, end - start)
        row = {
            "dataset_id": dataset_id, "assembly": assembly.id, "chrom": chrom, "start": start,
            "end": end, "ref": ref, "alt": alt, "variant_type": variant_type(ref, alt),
            "annotation": json.dumps(note, separators=(",", ":")),
        }  # fmt: skip
        batch.append(NewAllele(row, held, terms))
    callset.spans = spans.to_json()
    if batch:
        write_alleles(session, batch)
    return BffVariantsResult(path.name, status, len(rows), len(targets))
