"""Genomes with sex chromosomes, and the field's reference counts for them (decision record
0023's proof).

- :data:`GRC_PARS`: the Genome Reference Consortium's pseudo-autosomal regions, written here
  from the GRC's table (design 18 §3.4), not read from ``assemblies.yaml``, so the comparison
  checks that table too.
- :func:`joint_genomes`: a joint-called VCF of XY and XX samples with records on both sides of
  every PAR boundary of an assembly, inside X outside the PARs, on Y and on an autosome. Half
  of the XY samples' files write their calls outside the PARs haploid (``1``), half diploid
  (``1/1``, and now and then a heterozygous-looking ``0/1``), as GATK does; XX samples are
  diploid on X and ``./.``, ``0/0`` or a stray ``0/1`` on Y.
- :func:`per_genome_files`: one variant-only file per sample from it (``--absent ref``). Every
  sample carries the first record of chr22 and X (and XY samples of Y), so its file speaks for
  those contigs (a file speaks for the contigs it has records on: decision record 0020), as a
  whole genome's file does.
- :func:`reference_counts`: ``bcftools merge -0`` (several files), ``+fixploidy`` with a sex
  file and a ploidy table of the GRC PARs, then ``+fill-tags -t AN,AC,AC_Hom,AC_Het,AC_Hemi``:
  per allele (AC, AN, homozygous, heterozygous, hemizygous individuals).
- :func:`node_counts`: the same five numbers as the node serves them.

Calls whose meaning ``+fixploidy`` takes from the order of the alleles written (an XY ``1/2``
or ``./1`` outside the PARs) or that it doubles (an XX individual's haploid call) are left out
of the genomes: decision record 0023 states where the node differs there.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.ingest.sample_sheet import SampleInfo
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.queries.alleles import Counter, group_alleles
from gdi_node.beacon.queries.scopes import ScopeCache
from gdi_node.beacon.store.variant_rows import VariantRepository
from tests.support.beacon_data import write_vcf
from tests.support.per_genome import bcftools

# 1-based, inclusive (GRC; design 18 §3.4)
GRC_PARS = {
    "GRCh38": {"X": ((10_001, 2_781_479), (155_701_383, 156_030_895)),
               "Y": ((10_001, 2_781_479), (56_887_903, 57_217_415))},
    "GRCh37": {"X": ((60_001, 2_699_520), (154_931_044, 155_260_560)),
               "Y": ((10_001, 2_649_520), (59_034_050, 59_363_566))},
}  # fmt: skip
LENGTHS = {"GRCh38": {"X": 156_040_895, "Y": 57_227_415, "22": 50_818_468},
           "GRCh37": {"X": 155_270_560, "Y": 59_373_566, "22": 51_304_566}}  # fmt: skip
HAPLOID_WRITERS = ("XYh1", "XYh2", "XYh3")  # XY samples whose files write haploid calls
DIPLOID_WRITERS = ("XYd1", "XYd2", "XYd3")  # XY samples written diploid (GATK's default)
FEMALES = ("XXa1", "XXa2", "XXa3", "XXa4", "XXa5", "XXa6")
SAMPLES = (*HAPLOID_WRITERS, *DIPLOID_WRITERS, *FEMALES)
SEXES = dict.fromkeys((*HAPLOID_WRITERS, *DIPLOID_WRITERS), "M") | dict.fromkeys(FEMALES, "F")
# (chrom without "chr", POS, REF, ALT) -> (AC, AN, homozygous, heterozygous, hemizygous)
Counts = dict[tuple[str, int, str, str], tuple[int, int, int, int, int]]


def in_par(assembly: str, chrom: str, position: int) -> bool:
    return any(a <= position <= b for a, b in GRC_PARS[assembly].get(chrom, ()))


def one_copy_in_males(assembly: str, chrom: str, position: int) -> bool:
    return chrom == "Y" or (chrom == "X" and not in_par(assembly, chrom, position))


def positions(assembly: str) -> list[tuple[str, int]]:
    """Both sides of every X PAR boundary, the middle of each PAR, X outside them, Y (its
    PARs too: XY individuals are haploid on all of Y) and a chr22 control."""
    out = [("22", 20_000_000)]
    for first, last in GRC_PARS[assembly]["X"]:
        out += [("X", p) for p in (first - 1, first, (first + last) // 2, last, last + 1)]
    out += [("X", p) for p in range(30_000_000, 40_000_000, 1_000_000)]
    out += [("Y", (a + b) // 2) for a, b in GRC_PARS[assembly]["Y"]]
    out += [("Y", p) for p in range(10_000_000, 15_000_000, 1_000_000)]
    return sorted(set(out), key=lambda cp: (("22", "X", "Y").index(cp[0]), cp[1]))


def _call(rng: random.Random, sample: str, assembly: str, chrom: str, pos: int, k: int) -> str:
    """One sample's call written by its pipeline (``k`` alternate alleles)."""
    male = SEXES[sample] == "M"
    if male and one_copy_in_males(assembly, chrom, pos):
        if sample in HAPLOID_WRITERS:
            return rng.choice(["0", "1", "1", "."] + (["2"] if k > 1 else []))
        return rng.choice(["0/0", "1/1", "1/1", "./.", "0/1"] + (["2/2", "0/2"] if k > 1 else []))
    if not male and chrom == "Y":
        return rng.choice(["./.", "./.", "0/0", "0/1"])
    return rng.choice(["0/0", "0/1", "0/1", "1/1", "./."] + (["1/2", "0/2"] if k > 1 else []))


def _carrying(call: str) -> str:
    """A call with a copy of the first ALT, of the ploidy ``call`` was written with."""
    return {"0": "1", ".": "1", "0/0": "0/1", "./.": "0/1"}.get(call, call)


def joint_genomes(assembly: str, folder: Path, seed: int = 23) -> Path:
    """The joint-called VCF (see the module doc), with one multi-allelic record outside the
    PARs."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}-{assembly}")
    records = []
    seen: set[str] = set()
    for chrom, pos in positions(assembly):
        alts = ["G", "T"] if (chrom, pos) == ("X", 33_000_000) else ["G"]
        calls = [_call(rng, s, assembly, chrom, pos, len(alts)) for s in SAMPLES]
        if chrom not in seen:  # everyone carries the contig's first record
            seen.add(chrom)
            calls = [_carrying(call) for call in calls]
        if not any(c.strip("0/.") for c in calls):
            calls[rng.randrange(len(FEMALES)) + len(SAMPLES) - len(FEMALES)] = "0/1"
        fields = [f"chr{chrom}", str(pos), ".", "A", ",".join(alts), ".", "PASS", ".", "GT"]
        records.append("\t".join(fields + calls))
    contigs = [f"chr{c}" for c in ("22", "X", "Y")]
    path = write_vcf(folder / f"joint.{assembly}.vcf.gz", SAMPLES, records, contigs=contigs)
    bcftools("index", "-t", path)
    return path


def per_genome_files(joint: Path, folder: Path) -> list[Path]:
    """One file per sample: only the records where it carries an ALT, multi-allelic records
    split first (``bcftools norm -m-``), indexed."""
    folder.mkdir(parents=True, exist_ok=True)
    split = folder / "split.vcf.gz"
    bcftools("norm", "-m-", "-Oz", "-o", split, joint)
    files = []
    for sample in SAMPLES:
        path = folder / f"{sample}.vcf.gz"
        bcftools("view", "-s", sample, "-c1", "-Oz", "-o", path, split)
        bcftools("index", "-t", path)
        files.append(path)
    return files


def sheet(samples: Sequence[str] = SAMPLES) -> Mapping[str, SampleInfo]:
    """The sample sheet's rows: each sample's sex."""
    return {s: SampleInfo(s, s, s, sex=SEXES[s]) for s in samples}


def ploidy_table(assembly: str, path: Path) -> Path:
    """``+fixploidy -p``: XY haploid on X outside the GRC PARs and on all of Y, XX absent
    on Y (what ``bcftools call --ploidy`` states, on the GRC's coordinates)."""
    length = LENGTHS[assembly]
    (first1, last1), (first2, last2) = GRC_PARS[assembly]["X"]
    lines = [
        f"chrX 1 {first1 - 1} M 1",
        f"chrX {last1 + 1} {first2 - 1} M 1",
        f"chrX {last2 + 1} {length['X']} M 1",
        f"chrY 1 {length['Y']} M 1",
        f"chrY 1 {length['Y']} F 0",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(args: Sequence[str], given: str) -> str:
    return subprocess.run(
        list(args), input=given, capture_output=True, text=True, check=True
    ).stdout


def reference_counts(files: Sequence[Path], assembly: str, *, fixploidy: bool = True) -> Counts:
    """Per allele with a carrier as written: AC, AN and homozygous, heterozygous and
    hemizygous individuals, from ``merge -0`` (several files), ``+fixploidy`` (unless
    ``fixploidy`` is False: calls as written) and ``+fill-tags``."""
    work = files[0].parent
    merged = (
        bcftools("view", files[0])
        if len(files) == 1
        else bcftools("merge", "-0", "-m", "none", *files)
    )
    written = _tags(merged)
    if fixploidy:
        sexes = work / "sexes.txt"
        sexes.write_text("".join(f"{s} {x}\n" for s, x in SEXES.items()), encoding="utf-8")
        table = ploidy_table(assembly, work / "ploidy.txt")
        merged = _run(
            ["bcftools", "+fixploidy", "-", "--", "-s", str(sexes), "-p", str(table)], merged
        )
    counted = _tags(merged)
    return {key: counted[key] for key, values in written.items() if values[0] > 0}


def _tags(vcf_text: str) -> Counts:
    filled = _run(
        ["bcftools", "+fill-tags", "-", "--", "-t", "AN,AC,AC_Hom,AC_Het,AC_Hemi"], vcf_text
    )
    table = _run(
        ["bcftools", "query", "-f",
         r"%CHROM\t%POS\t%REF\t%ALT\t%AN\t%AC\t%AC_Hom\t%AC_Het\t%AC_Hemi\n", "-"],
        filled,
    )  # fmt: skip
    out: Counts = {}
    for line in table.splitlines():
        chrom, pos, ref, alts, an, *per_alt = line.split("\t")
        ac, hom, het, hemi = (v.split(",") for v in per_alt)
        for k, alt in enumerate(alts.split(",")):
            key = (chrom.removeprefix("chr"), int(pos), ref, alt)
            out[key] = (int(ac[k]), int(an), int(hom[k]) // 2, int(het[k]), int(hemi[k]))
    return out


def node_counts(
    sessions: sessionmaker[Session], dataset: str, alleles: Counts, assembly: str
) -> Counts:
    """The node's counts of the same alleles in the whole dataset, as served (exact)."""
    out: Counts = {}
    with sessions() as session:
        scopes = ScopeCache().get(session)
        repo = VariantRepository(session, scopes.max_span)
        counter = Counter(scopes, repo.carrier_bits, repo.uncalled_at)
        for chrom, pos, ref, alt in alleles:
            key = AlleleKey(assembly, chrom, pos - 1, ref, alt)
            found = group_alleles(repo.by_allele(key, [dataset]))
            if not found:
                continue
            c = counter.counts(found[0], scopes.datasets[dataset])
            out[(chrom, pos, ref, alt)] = (
                c.allele_count, c.allele_number, c.homozygous, c.heterozygous, c.hemizygous,
            )  # fmt: skip
    return out
