"""``gdi-node ingest vcf``: load a VCF/BCF into the allele-frequency database.

One transaction per file: an interrupted or failed load leaves nothing behind. Loading the
same file (by content) into the same dataset again changes nothing; a file of the same name
with other content needs ``update=True`` and replaces the earlier load. Memory stays bounded:
records are read one at a time (htslib through cyvcf2) and written in batches.

Multi-allelic records are split: every alternate allele becomes one stored variant with its own
carrier sets (gdi_node.beacon.carriers), annotations (gdi_node.beacon.annotations) and terms.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from cyvcf2 import VCF
from pyroaring import BitMap
from sqlalchemy import Table, delete, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon import carriers
from gdi_node.beacon.annotations import AlleleAnnotation, AnnotationFormat
from gdi_node.beacon.assemblies import Assembly, known_assemblies
from gdi_node.beacon.callsets import alleles_stored_twice, delete_callset, find_callset
from gdi_node.beacon.generation import bump_generation
from gdi_node.beacon.sample_sheet import SampleInfo, read_sample_sheet
from gdi_node.beacon.variant_bins import write_bins
from gdi_node.beacon.variants import genomic_hgvs, variant_type
from gdi_node.db.models import (
    BeaconCallset,
    BeaconSample,
    BeaconSampleGroup,
    BeaconVariant,
    BeaconVariantTerm,
    Dataset,
)
from gdi_node.errors import ConflictError, InvalidInputError, NotFoundError
from gdi_node.storage.checksums import digest_file

Progress = Callable[[int, int], None]  # (records read, alleles written)
Term = tuple[str, str]  # (kind, term) of beacon_variant_terms
_VARIANTS = cast(Table, BeaconVariant.__table__)
_TERMS = cast(Table, BeaconVariantTerm.__table__)
_SAMPLES = cast(Table, BeaconSample.__table__)
_GROUPS = cast(Table, BeaconSampleGroup.__table__)


@dataclass(frozen=True)
class VcfIngestResult:
    callset_id: int
    name: str
    status: str  # loaded, unchanged, replaced
    samples: int
    records: int
    alleles: int
    seconds: float

    @property
    def genotypes(self) -> int:
        return self.samples * self.records


def _open(path: Path) -> VCF:
    if not path.is_file():
        raise NotFoundError(f"no such file: {path}")
    try:
        return VCF(str(path), lazy=True, threads=1)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path} is not a readable VCF/BCF file: {exc}") from exc


def _annotation_formats(vcf: VCF) -> list[AnnotationFormat]:
    formats = []
    for info_id in ("ANN", "CSQ"):
        try:
            header = vcf.get_header_type(info_id)
        except KeyError:
            continue
        found = AnnotationFormat.from_header(info_id, str(header.get("Description", "")))
        if found is not None:
            formats.append(found)
    return formats


class VcfIngestor:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        batch_size: int = 2000,
        progress: Progress | None = None,
    ) -> None:
        self._sessions = sessions
        self._batch_size = batch_size
        self._progress = progress or (lambda _records, _alleles: None)

    def ingest(
        self,
        path: Path,
        dataset_id: str,
        *,
        assembly_id: str = "GRCh38",
        sample_sheet: Path | None = None,
        update: bool = False,
    ) -> VcfIngestResult:
        began = time.perf_counter()
        assembly = known_assemblies().get(assembly_id)
        if assembly is None:
            raise InvalidInputError(
                f"unknown assembly {assembly_id!r}; known: {', '.join(known_assemblies().ids)}"
            )
        vcf = _open(path)
        names: list[str] = list(vcf.samples)
        sheet = read_sample_sheet(sample_sheet) if sample_sheet else {}
        missing = sorted(set(sheet) - set(names))
        if missing:
            raise InvalidInputError(
                f"the sample sheet names samples not in {path.name}: {', '.join(missing[:10])}"
            )
        sha256 = digest_file(path).sha256
        with self._sessions() as session, session.begin():
            if session.get(Dataset, dataset_id) is None:
                raise NotFoundError(
                    f"dataset {dataset_id!r} is not declared; add it under 'datasets:' in the"
                    " configuration"
                )
            existing = find_callset(session, dataset_id, path.name)
            status = "loaded"
            if existing is not None:
                if existing.sha256 == sha256 and not sample_sheet:
                    return VcfIngestResult(
                        existing.id, path.name, "unchanged", existing.sample_count,
                        existing.record_count, existing.allele_count, 0.0,
                    )  # fmt: skip
                if existing.sha256 != sha256 and not update:
                    raise ConflictError(
                        f"{path.name} is already loaded into {dataset_id} with other content;"
                        " pass --update to replace it"
                    )
                delete_callset(session, existing.id)
                status = "replaced"
            infos = [sheet.get(name) or SampleInfo.plain(name) for name in names]
            numbers = sample_numbers(session, dataset_id, infos, bool(sheet))
            callset = BeaconCallset(
                dataset_id=dataset_id,
                name=path.name,
                sha256=sha256,
                assembly=assembly.id,
                sample_count=len(names),
                samples=carriers.to_bytes(carriers.bitmap_of(numbers)),
                record_count=0,
                allele_count=0,
                max_span=0,
            )
            session.add(callset)
            session.flush()
            records, alleles, span, chroms = self._load_records(
                session, vcf, callset, assembly, numbers
            )
            callset.record_count, callset.allele_count, callset.max_span = records, alleles, span
            callset.shares_alleles = alleles_stored_twice(session, dataset_id, assembly.id, chroms)
            write_bins(session, callset.id)
            bump_generation(session)
        _refresh_statistics(self._sessions)
        return VcfIngestResult(
            callset.id, path.name, status, len(names), records, alleles,
            time.perf_counter() - began,
        )  # fmt: skip

    def _load_records(
        self,
        session: Session,
        vcf: VCF,
        callset: BeaconCallset,
        assembly: Assembly,
        numbers: npt.NDArray[np.uint32],
    ) -> tuple[int, int, int, set[str]]:
        formats = _annotation_formats(vcf)
        records = alleles = span = 0
        chroms: set[str] = set()
        batch: list[tuple[dict[str, Any], list[Term]]] = []
        for record in _records(vcf):
            records += 1
            for row, terms in _alleles(record, callset, assembly, numbers, formats):
                batch.append((row, terms))
                span = max(span, row["end"] - row["start"])
                chroms.add(row["chrom"])
            if len(batch) >= self._batch_size:
                alleles += write_alleles(session, batch)
                batch = []
                self._progress(records, alleles)
        if batch:
            alleles += write_alleles(session, batch)
        self._progress(records, alleles)
        return records, alleles, span, chroms


def _records(vcf: VCF) -> Iterator[Any]:
    try:
        yield from vcf
    except Exception as exc:  # htslib reports a malformed record as a generic error
        raise InvalidInputError(f"the VCF cannot be read to the end: {exc}") from exc


def _alleles(
    record: Any,
    callset: BeaconCallset,
    assembly: Assembly,
    numbers: npt.NDArray[np.uint32],
    formats: Sequence[AnnotationFormat],
) -> Iterator[tuple[dict[str, Any], list[Term]]]:
    alts: list[str] = list(record.ALT)
    if not alts or alts == ["."]:
        return  # a reference-only (gVCF-style) record: nothing to count
    chrom = assembly.canonical(record.CHROM) or record.CHROM
    start = record.POS - 1
    ref: str = record.REF
    genotypes = record.genotype
    if genotypes is not None and len(numbers):
        calls = genotypes.array()[:, :-1]
        try:
            site = carriers.site_calls(calls, numbers)
        except carriers.PloidyError as exc:
            raise InvalidInputError(f"{record.CHROM}:{record.POS}: {exc}") from exc
    else:
        calls, site = None, carriers.SiteCalls(BitMap(), BitMap())
    annotations = _annotations(record, alts, formats)
    end_info = record.INFO.get("END")
    accession = assembly.accession(chrom)
    for k, alt in enumerate(alts, start=1):
        if alt in {"*", "<*>", "<NON_REF>"}:
            continue  # spanning deletions and gVCF placeholders are not alleles of this site
        held = (
            carriers.allele_carriers(calls, k, numbers)
            if calls is not None
            else carriers.AlleleCarriers(BitMap(), BitMap())
        )
        end = int(end_info) if alt.startswith("<") and end_info else start + len(ref)
        note = annotations[k - 1]
        hgvs = genomic_hgvs(accession, record.POS, ref, alt) if accession else None
        terms = [("gene", g) for g in note.genes]
        terms += [("aachange", a) for a in note.aminoacid_changes]
        terms += [("hgvs", hgvs)] if hgvs else []
        document = note.document()
        if hgvs:
            document["genomicHgvs"] = [hgvs]
        yield (
            {
                "callset_id": callset.id,
                "dataset_id": callset.dataset_id,
                "assembly": assembly.id,
                "chrom": chrom,
                "start": start,
                "end": end,
                "ref": ref,
                "alt": alt,
                "variant_type": variant_type(ref, alt),
                "carriers": held.carriers,
                "one_copy": carriers.to_bytes(held.one_copy),
                "two_copies": carriers.to_bytes(held.two_copies),
                "one_called": carriers.to_bytes(site.one_called),
                "none_called": carriers.to_bytes(site.none_called),
                "annotation": json.dumps(document, separators=(",", ":")),
            },
            terms,
        )


def _annotations(
    record: Any, alts: list[str], formats: Sequence[AnnotationFormat]
) -> list[AlleleAnnotation]:
    merged = [AlleleAnnotation() for _ in alts]
    for layout in formats:
        value = record.INFO.get(layout.info_id)
        if not value:
            continue
        for into, found in zip(merged, layout.parse(str(value), alts), strict=True):
            into.genes |= found.genes
            into.effects |= found.effects
            into.hgvs |= found.hgvs
            into.aminoacid_changes |= found.aminoacid_changes
    return merged


def write_alleles(session: Session, batch: list[tuple[dict[str, Any], list[Term]]]) -> int:
    ids = session.execute(
        insert(_VARIANTS).returning(_VARIANTS.c.id, sort_by_parameter_order=True),
        [row for row, _ in batch],
    ).scalars()
    terms = []
    for variant_id, (_, found) in zip(ids, batch, strict=True):
        for kind, value in dict.fromkeys((kind, value[:255]) for kind, value in found):
            terms.append({"variant_id": variant_id, "kind": kind, "term": value})
    if terms:
        session.execute(insert(_TERMS), terms)
    return len(batch)


def sample_numbers(
    session: Session, dataset_id: str, infos: list[SampleInfo], from_sheet: bool
) -> npt.NDArray[np.uint32]:
    """Node-wide numbers of the VCF's samples: existing ones kept, new ones assigned (one
    INSERT for all new samples, one for their groups)."""
    known = {
        row.name: row
        for row in session.scalars(
            select(BeaconSample).where(BeaconSample.dataset_id == dataset_id)
        )
    }
    new = [info for info in infos if info.name not in known]
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
    else:
        assigned = {}
    regroup: list[tuple[int, SampleInfo]] = [(assigned[i.name], i) for i in new]
    if from_sheet:
        for info in infos:
            row = known.get(info.name)
            if row is not None:
                row.individual_id, row.biosample_id = info.individual_id, info.biosample_id
                regroup.append((row.sample_no, info))
    _set_groups(session, regroup)
    numbers = [assigned[i.name] if i.name in assigned else known[i.name].sample_no for i in infos]
    return np.asarray(numbers, dtype=np.uint32)


def _set_groups(session: Session, samples: list[tuple[int, SampleInfo]]) -> None:
    numbers = [sample_no for sample_no, _ in samples]
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        session.execute(delete(BeaconSampleGroup).where(BeaconSampleGroup.sample_no.in_(chunk)))
    rows = [
        {"sample_no": sample_no, "kind": kind, "name": name}
        for sample_no, info in samples
        for kind, name in info.groups()
    ]
    if rows:
        session.execute(insert(_GROUPS), rows)


_ANALYSED = ("beacon_variants", "beacon_variant_bins", "beacon_variant_terms", "beacon_samples")


def _refresh_statistics(sessions: sessionmaker[Session]) -> None:
    """Let the query planner see the new rows (otherwise PostgreSQL waits for autovacuum and
    may scan instead of using the term and position indexes)."""
    with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"ANALYZE {', '.join(_ANALYSED)}"))
        else:  # sampled statistics: bounded time however large the tables are
            session.execute(text("PRAGMA analysis_limit=2000"))
            for table in _ANALYSED:
                session.execute(text(f"ANALYZE {table}"))
