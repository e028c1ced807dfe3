"""Writing a frequency release (gdi_node.beacon.queries.frequency_export) as a bgzipped,
tabix-indexed, sites-only VCF 4.3, all or nothing.

The records go to a plain text file first (the header names only the sequences and symbolic
alleles the records hold, known once they are written), then header and records are
compressed with ``pysam.tabix_compress`` and indexed with ``pysam.tabix_index``, all in a
temporary folder beside the output. Only then, after ``before_publish`` (the audit record),
the file and its index are moved into place; an existing index is removed first, so a crash
between the two moves leaves a file without an index, never one with a stale index. A failure
leaves the output as it was.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pysam

from gdi_node import __version__
from gdi_node.beacon.model.assemblies import Assembly
from gdi_node.beacon.queries.frequency_export import COUNTS, ExportStats, FrequencyExport, Site
from gdi_node.errors import InvalidInputError

SUFFIXES = (".vcf.gz", ".vcf.bgz")
_SYMBOLIC = {
    "DEL": "Deletion relative to the reference",
    "INS": "Insertion of novel sequence relative to the reference",
    "DUP": "Region of elevated copy number relative to the reference",
    "INV": "Inversion of reference sequence",
    "CNV": "Copy number variable region",
}
_BOUNDS = (
    "Fields of this record that are bounds, not counts (small counts of 1 to"
    " small_count_threshold - 1 are never shown exactly; see ##gdi_node_dataset): AC, AF,"
    " nhomalt and nhemi are upper bounds (at least 1, at most the value); nhet is a lower bound"
    " (at least the value) when the nhomalt or nhemi of its group is listed and its AC is not,"
    " else an upper bound; nhomalt is a lower bound when nhet is listed next to an exact AC."
    " Unlisted fields are exact"
)
_ROUNDED = "Fields of this record rounded to a multiple of count_rounding (##gdi_node_dataset)"


def check_output(path: Path) -> None:
    """Refuse an output name a bgzipped VCF should not have, or a folder that is missing."""
    if not path.name.endswith(SUFFIXES):
        raise InvalidInputError(f"{path}: the output name must end with .vcf.gz or .vcf.bgz")
    if not path.parent.is_dir():
        raise InvalidInputError(f"{path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise InvalidInputError(f"{path} is a folder")


def write_release(
    export: FrequencyExport,
    path: Path,
    *,
    before_publish: Callable[[ExportStats], None] | None = None,
) -> ExportStats:
    """Write ``export`` to ``path`` (and ``path.tbi``); nothing changes there on failure."""
    check_output(path)
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as exc:
        raise InvalidInputError(f"cannot write in {path.parent}: {exc.strerror}") from None
    try:
        body = work / "records.vcf"
        with body.open("w", encoding="utf-8", newline="\n") as out:
            for site in export.sites():
                out.write(vcf_line(site))
        plain = work / "sites.vcf"
        with plain.open("w", encoding="utf-8", newline="\n") as out:
            out.writelines(line + "\n" for line in header_lines(export))
            with body.open("r", encoding="utf-8") as records:
                shutil.copyfileobj(records, out)
        body.unlink()
        compressed, index = work / "sites.vcf.gz", work / "sites.vcf.gz.tbi"
        pysam.tabix_compress(str(plain), str(compressed))
        plain.unlink()
        pysam.tabix_index(str(compressed), preset="vcf", index=str(index))
        if before_publish is not None:
            before_publish(export.stats)
        published_index = path.with_name(path.name + ".tbi")
        published_index.unlink(missing_ok=True)
        compressed.replace(path)
        index.replace(published_index)
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return export.stats


def vcf_line(site: Site) -> str:
    info = [f"{key}={value}" for key, value in site.info]
    if site.end is not None:
        info.insert(0, f"END={site.end}")
    fields = (site.chrom, str(site.pos), ".", site.ref, site.alt, ".", ".", ";".join(info))
    return "\t".join(fields) + "\n"


def header_lines(export: FrequencyExport) -> list[str]:
    """The header of the records written (``export.stats`` complete)."""
    policy, stats, assembly = export.policy, export.stats, export.assembly
    meta = [
        export.dataset_id,
        f"generation={export.generation}",
        f"samples={export.samples}",
        f"small_count_threshold={policy.threshold}",
        f"count_rounding={policy.rounding}",
        f"precision={'anonymous' if policy.threshold > 1 or policy.rounding > 1 else 'exact'}",
    ]
    if export.region is not None:
        meta.append(f"region={export.region.text}")
    lines = [
        "##fileformat=VCFv4.3",
        f"##fileDate={datetime.now(UTC):%Y%m%d}",
        f"##source=gdi-node {__version__} export frequencies",
        f"##reference={assembly.id}",
        *(_contig_line(assembly, name) for name in stats.sequences),
        "##gdi_node_dataset=" + ";".join(meta),
    ]
    if stats.symbolic:
        lines += [
            f'##ALT=<ID={alt},Description="{_SYMBOLIC.get(alt.split(":")[0], "Symbolic allele")}">'
            for alt in sorted(stats.symbolic)
        ]
        lines.append(
            '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of a symbolic allele">'
        )
    for group in export.groups:
        for key, number, kind, what in COUNTS:
            described = what.format(where=group.described) + _bound_note(key)
            lines.append(
                f"##INFO=<ID={key}{group.suffix},Number={number},Type={kind},"
                f'Description="{described}">'
            )
    lines.append(f'##INFO=<ID=IMPRECISE,Number=.,Type=String,Description="{_BOUNDS}">')
    if policy.rounding > 1:
        lines.append(f'##INFO=<ID=ROUNDED,Number=.,Type=String,Description="{_ROUNDED}">')
    lines.append("\t".join(("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")))
    return lines


def _bound_note(key: str) -> str:
    if key == "AN":
        return ""
    return "; a bound when listed in IMPRECISE"


def _contig_line(assembly: Assembly, name: str) -> str:
    """``##contig`` of a sequence written as ``name``, with its length when the assembly table
    knows it (VCF 4.3 §1.4.7)."""
    canonical = assembly.canonical(name)
    length = assembly.lengths.get(canonical) if canonical is not None else None
    sized = f",length={length}" if length is not None else ""
    return f"##contig=<ID={name}{sized},assembly={assembly.id}>"
