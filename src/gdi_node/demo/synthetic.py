"""A small, fully deterministic synthetic genomics data set for ``gdi-node demo``.

Two joint-called (multi-sample) VCFs over the same sites: ``demo.vcf.gz`` (and ``demo.bcf``) of
8 public reference samples, and ``patients.vcf.gz`` of 20 patients, the controlled cohort,
whose first three also have reads (``demo.bam``, ``demo.cram``). The files are large enough for
an index to narrow a region: many BGZF blocks per contig in the BAM, CRAM containers of 1,000
reads, several blocks per contig in the VCFs (htsget 1.3 §Query parameters lets a server answer
whole blocks, so a region's answer is a superset of it, but far less than the file).

Everything is derived from one ``random.Random(seed)`` and written with pysam, only into the
output folder: no network, no global random state, no timestamps, no ``@PG`` lines and no
absolute paths in any data file, so two runs into two different folders give identical bytes.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import zlib
from dataclasses import dataclass
from pathlib import Path

import pysam

from gdi_node.demo.synthetic_genes import CSQ_HEADER, csq, dbsnp_id, write_gene_table

CONTIGS: tuple[tuple[str, int], ...] = (("chr1", 60_000), ("chr2", 40_000))
SAMPLE_IDS: tuple[str, ...] = tuple(f"DEMO-S{i}" for i in range(1, 9))
PATIENT_IDS: tuple[str, ...] = tuple(f"DEMO-P{i:02d}" for i in range(1, 21))
READ_SAMPLES = 3  # the first three patients also have reads
READ_LENGTH = 100
PAIRS = 30_000  # mapped read pairs over both contigs
UNMAPPED_READS = 50
SNVS = 3_000
CRAM_SEQS_PER_SLICE = 1_000  # one slice per container: many containers per contig
_POPULATIONS = ("EUR", "AFR")
_COUNTRIES = ("DK", "SE")
_BASES = "ACGT"

Genotype = tuple[int | None, int | None]


@dataclass(frozen=True)
class DemoFiles:
    """Paths of the generated demo files (each with its index next to it)."""

    reference: Path
    chrom_sizes: Path
    bam: Path
    cram: Path
    vcf: Path
    bcf: Path
    samples: Path
    sample_ids: tuple[str, ...]
    patients_vcf: Path
    patients: Path
    patient_ids: tuple[str, ...]
    genes: Path  # the synthetic gene reference (gdi_node.demo.synthetic_genes)


@dataclass(frozen=True)
class _Variant:
    contig: str
    pos: int  # 0-based
    alleles: tuple[str, ...]
    genotypes: tuple[Genotype, ...]  # one per SAMPLE_IDS entry, then one per PATIENT_IDS entry

    @property
    def public(self) -> tuple[Genotype, ...]:
        return self.genotypes[: len(SAMPLE_IDS)]

    @property
    def patients(self) -> tuple[Genotype, ...]:
        return self.genotypes[len(SAMPLE_IDS) :]


def _samples_tsv() -> str:
    rows = ["sample\tindividual_id\tbiosample_id\tpopulation\tcohorts\tsex"]
    for i, sid in enumerate(SAMPLE_IDS):
        cohort, sex = ("cohort-a", "cohort-b")[i // 4], ("female", "male")[i % 2]
        individual = f"DEMO-I{i + 1}"
        rows.append(f"{sid}\t{individual}\t{individual}-B\t{_POPULATIONS[i % 2]}\t{cohort}\t{sex}")
    return "".join(f"{row}\n" for row in rows)


def _patients_tsv() -> str:
    """The patients' sample sheet: sex and country of birth too (the groups a grant shows)."""
    rows = ["sample\tindividual_id\tbiosample_id\tpopulation\tcohorts\tsex\tcountry"]
    for i, pid in enumerate(PATIENT_IDS):
        cohort, sex = ("epilepsy", "controls")[i // 12], ("female", "male")[i % 2]
        country, population = _COUNTRIES[i // 2 % 2], _POPULATIONS[i % 2]
        rows.append(f"{pid}\t{pid}\t{pid}-B\t{population}\t{cohort}\t{sex}\t{country}")
    return "".join(f"{row}\n" for row in rows)


def _genotypes(rng: random.Random, n_alleles: int) -> tuple[Genotype, ...]:
    """Unphased genotypes of every sample and patient, population-specific ALT frequencies
    (mostly rare), ~3 % missing; every ALT seen among the samples and among the patients."""
    people = len(SAMPLE_IDS) + len(PATIENT_IDS)
    while True:
        top = rng.choice((0.08, 0.15, 0.5))
        freq = {pop: rng.uniform(0.02, top) for pop in _POPULATIONS}
        gts: list[Genotype] = []
        for sample in range(people):
            p = freq[_POPULATIONS[sample % 2]]
            a, b = sorted(rng.randrange(1, n_alleles) if rng.random() < p else 0 for _ in "ab")
            gts.append((None, None) if rng.random() < 0.03 else (a, b))
        groups = (gts[: len(SAMPLE_IDS)], gts[len(SAMPLE_IDS) :])
        if all(any(alt in gt for gt in g) for g in groups for alt in range(1, n_alleles)):
            return tuple(gts)


def _make_variants(rng: random.Random, seqs: dict[str, str]) -> list[_Variant]:
    """~3,000 SNVs, three insertions, three deletions and two multi-allelic SNVs, sorted."""
    total = sum(len(s) for s in seqs.values())
    variants: list[_Variant] = []
    for contig, seq in seqs.items():
        kinds = ["snv"] * (SNVS * len(seq) // total) + ["ins", "del", "multi"]
        kinds.append("del" if contig == CONTIGS[0][0] else "ins")
        rng.shuffle(kinds)
        # sites 10 bp apart (deletions are at most 8 bp) so that no two records overlap
        sites = sorted(rng.sample(range(200, len(seq) - 200, 10), len(kinds)))
        for site, kind in zip(sites, kinds, strict=True):
            ref, alts = seq[site], [b for b in _BASES if b != seq[site]]
            alleles: tuple[str, ...] = (ref, rng.choice(alts))
            if kind == "del":
                # left-aligned: the last deleted base differs from the base before the deletion
                end = next((e for e in range(rng.randint(2, 5), 10) if seq[site + e - 1] != ref), 2)
                alleles = (seq[site : site + end], ref)
            elif kind == "ins":  # left-aligned likewise
                inserted = "".join(rng.choices(_BASES, k=rng.randint(0, 3))) + rng.choice(alts)
                alleles = (ref, ref + inserted)
            elif kind == "multi":
                alleles = (ref, *rng.sample(alts, 2))
            variants.append(_Variant(contig, site, alleles, _genotypes(rng, len(alleles))))
    return variants


def _variant_header(seqs: dict[str, str], samples: tuple[str, ...]) -> pysam.VariantHeader:
    header = pysam.VariantHeader()
    for name, seq in seqs.items():
        header.add_line(f"##contig=<ID={name},length={len(seq)}>")
    header.add_line("##reference=reference.fa")
    header.add_line('##INFO=<ID=AC,Number=A,Type=Integer,Description="ALT allele count in GT">')
    header.add_line('##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number in GT">')
    header.add_line('##INFO=<ID=AF,Number=A,Type=Float,Description="ALT allele frequency, AC/AN">')
    header.add_line(CSQ_HEADER)
    header.add_line('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    header.add_samples(samples)
    return header


def _record(
    header: pysam.VariantHeader, v: _Variant, samples: tuple[str, ...], gts: tuple[Genotype, ...]
) -> pysam.VariantRecord:
    called = [a for gt in gts for a in gt if a is not None]
    ac = [called.count(alt) for alt in range(1, len(v.alleles))]
    af = [round(c / len(called), 4) if called else 0.0 for c in ac]
    info: dict[str, object] = {"AC": ac, "AN": len(called), "AF": af}
    annotation = csq(v.contig, v.pos + 1, v.alleles[0], v.alleles[1:])
    if annotation is not None:
        info["CSQ"] = annotation
    rec = header.new_record(
        contig=v.contig, start=v.pos, alleles=v.alleles, id=dbsnp_id(v.contig, v.pos + 1), info=info
    )
    for sid, gt in zip(samples, gts, strict=True):
        rec.samples[sid]["GT"] = gt
    return rec


def _write_variants(files: DemoFiles, seqs: dict[str, str], variants: list[_Variant]) -> None:
    """The public samples' records as bgzipped VCF (+ .tbi) and BCF (+ .csi), the patients'
    as bgzipped VCF (+ .tbi)."""
    header = _variant_header(seqs, SAMPLE_IDS)
    with (
        pysam.VariantFile(str(files.vcf), "wz", header=header) as vcf_out,
        pysam.VariantFile(str(files.bcf), "wb", header=header) as bcf_out,
    ):
        for v in variants:
            rec = _record(header, v, SAMPLE_IDS, v.public)
            vcf_out.write(rec)
            bcf_out.write(rec)
    header = _variant_header(seqs, PATIENT_IDS)
    with pysam.VariantFile(str(files.patients_vcf), "wz", header=header) as out:
        for v in variants:
            out.write(_record(header, v, PATIENT_IDS, v.patients))
    for path in (files.vcf, files.patients_vcf):
        pysam.tabix_index(str(path), preset="vcf", force=True)
    pysam.tabix_index(str(files.bcf), preset="vcf", csi=True, force=True)


def _sam_header(seqs: dict[str, str]) -> str:
    """``SO:coordinate``, @SQ with M5 and a relative UR, one @RG per sample with reads."""
    lines = ["@HD\tVN:1.6\tSO:coordinate"]
    for name, seq in seqs.items():
        md5 = hashlib.md5(seq.encode(), usedforsecurity=False).hexdigest()
        lines.append(f"@SQ\tSN:{name}\tLN:{len(seq)}\tM5:{md5}\tUR:reference.fa")
    for sid in PATIENT_IDS[:READ_SAMPLES]:
        lines.append(f"@RG\tID:rg-{sid}\tSM:{sid}\tLB:lib-{sid}\tPL:ILLUMINA")
    return "".join(f"{line}\n" for line in lines)


def _make_reads(rng: random.Random, seqs: dict[str, str], variants: list[_Variant]) -> list[str]:
    """SAM lines, coordinate-sorted: read pairs carrying each sample's SNV alleles and a few
    sequencing errors, then the unplaced unmapped reads."""
    snvs = [v for v in variants if all(len(a) == 1 for a in v.alleles)]
    keys = [(list(seqs).index(v.contig), v.pos) for v in snvs]  # sorted like the records
    total = sum(len(s) for s in seqs.values())
    mapped: list[tuple[int, int, str, int, str]] = []
    for tid, (name, seq) in enumerate(seqs.items()):
        for pair in range(PAIRS * len(seq) // total):
            sample, hap, frag = rng.randrange(READ_SAMPLES), rng.randrange(2), rng.randint(250, 450)
            left = rng.randrange(len(seq) - frag)
            right, qname = left + frag - READ_LENGTH, f"demo-{name}-{pair:05d}"
            r1_left = rng.random() < 0.5  # which read of the pair is first in the template
            template = list(seq[left : left + frag])
            lo, hi = (bisect.bisect_left(keys, (tid, x)) for x in (left, left + frag))
            for v in snvs[lo:hi]:
                template[v.pos - left] = v.alleles[v.patients[sample][hap] or 0]
            for pos, mate, tlen, flags in (
                (left, right, frag, (99, 163)),
                (right, left, -frag, (147, 83)),
            ):
                read = template[pos - left : pos - left + READ_LENGTH]
                for i in rng.sample(range(READ_LENGTH), rng.choice((0, 0, 1, 1, 2))):
                    read[i] = rng.choice([b for b in _BASES if b != read[i]])
                nm = sum(a != b for a, b in zip(read, seq[pos : pos + READ_LENGTH], strict=True))
                flag = flags[0] if r1_left else flags[1]
                fields = (qname, flag, name, pos + 1, 60, f"{READ_LENGTH}M", "=", mate + 1, tlen)
                tags = f"RG:Z:rg-{PATIENT_IDS[sample]}\tNM:i:{nm}"
                line = "\t".join(map(str, (*fields, "".join(read), _quals(rng), tags)))
                mapped.append((tid, pos, qname, flag, line))
    lines = [read[-1] for read in sorted(mapped)]  # (tid, pos, qname, flag) is unique
    for i in range(UNMAPPED_READS):
        bases, rg = "".join(rng.choices(_BASES, k=READ_LENGTH)), PATIENT_IDS[i % READ_SAMPLES]
        lines.append(
            f"demo-unmapped-{i:03d}\t4\t*\t0\t0\t*\t*\t0\t0\t{bases}\t{_quals(rng)}\tRG:Z:rg-{rg}"
        )
    return lines


def _quals(rng: random.Random) -> str:
    return "".join(rng.choices("5:?DIJ", weights=(1, 2, 3, 6, 10, 4), k=READ_LENGTH))


def _write_alignments(bam: Path, cram: Path, fasta: Path, text: str, lines: list[str]) -> None:
    """Write the reads as BAM (+ .bai) and CRAM 3.0 (+ .crai) that needs ``fasta`` to decode,
    with one slice of ``CRAM_SEQS_PER_SLICE`` reads per container."""
    header = pysam.AlignmentHeader.from_text(text)
    reads = [pysam.AlignedSegment.fromstring(line, header) for line in lines]
    for path, ref in ((bam, None), (cram, str(fasta))):
        cram_options = ["version=3.0", f"seqs_per_slice={CRAM_SEQS_PER_SLICE}"]
        mode, options = ("wc", cram_options) if ref else ("wb", None)
        with pysam.AlignmentFile(
            str(path), mode, header=header, reference_filename=ref, format_options=options
        ) as out:
            for read in reads:
                out.write(read)
        if ref:
            _rewrite_cram_header(cram, text)
        pysam.index(str(path))


def _rewrite_cram_header(cram: Path, text: str) -> None:
    """Put a fixed file id and ``text`` into the CRAM header, which htslib makes path-dependent.

    htslib copies the output path into the 20-byte file id and always sets ``@SQ UR`` to the
    absolute reference path. The header container is replaced by one raw header block; the data
    containers do not refer to file offsets, so they are kept byte for byte.
    """
    data = cram.read_bytes()
    if data[:6] != b"CRAM\x03\x00" or len(text) > 0x3F00:
        raise RuntimeError(f"{cram}: unexpected CRAM file definition or header size")

    def tf8_len(at: int, cap: int) -> int:  # ITF8 (cap 5) / LTF8 (cap 9): 1 + leading 1 bits
        return min(9 - len(f"{data[at]:08b}".lstrip("1")), cap)

    at = 30  # 26-byte file definition, int32 container length
    for cap in (5, 5, 5, 5, 9, 9, 5):  # ref id, start, span, records, counter, bases, blocks
        at += tf8_len(at, cap)
    landmarks, at = data[at], at + 1  # count of landmarks (one per block: one byte)
    for _ in range(landmarks):
        at += tf8_len(at, 5)
    rest = data[at + 4 + int.from_bytes(data[26:30], "little") :]
    raw = len(text).to_bytes(4, "little") + text.encode()
    size = bytes([0x80 | len(raw) >> 8, len(raw) & 0xFF])  # ITF8, 2 bytes
    block = b"\0\0\0" + size + size + raw  # raw method, FILE_HEADER content, content id 0
    block += zlib.crc32(block).to_bytes(4, "little")
    head = len(block).to_bytes(4, "little") + bytes([0, 0, 0, 0, 0, 0, 1, 1, 0])
    head += zlib.crc32(head).to_bytes(4, "little")
    cram.write_bytes(data[:6] + b"demo.cram".ljust(20, b"\0") + head + block + rest)


DEMO_SEED = 20261121


def generate_demo_data(out_dir: Path, *, seed: int = DEMO_SEED) -> DemoFiles:
    """Generate (or regenerate, overwriting) the demo data set in ``out_dir``; deterministic."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = DemoFiles(
        reference=out_dir / "reference.fa",
        chrom_sizes=out_dir / "reference.chrom.sizes",
        bam=out_dir / "demo.bam",
        cram=out_dir / "demo.cram",
        vcf=out_dir / "demo.vcf.gz",
        bcf=out_dir / "demo.bcf",
        samples=out_dir / "samples.tsv",
        sample_ids=SAMPLE_IDS,
        patients_vcf=out_dir / "patients.vcf.gz",
        patients=out_dir / "patients.tsv",
        patient_ids=PATIENT_IDS,
        genes=out_dir / "genes.tsv",
    )
    rng = random.Random(seed)
    seqs = {name: "".join(rng.choices(_BASES, k=length)) for name, length in CONTIGS}
    fasta = (
        f">{n}\n" + "".join(f"{s[i : i + 60]}\n" for i in range(0, len(s), 60))
        for n, s in seqs.items()
    )
    files.reference.write_bytes("".join(fasta).encode())
    pysam.faidx(str(files.reference))
    files.chrom_sizes.write_bytes("".join(f"{n}\t{len(s)}\n" for n, s in seqs.items()).encode())
    files.samples.write_bytes(_samples_tsv().encode())
    files.patients.write_bytes(_patients_tsv().encode())
    write_gene_table(files.genes)
    variants = _make_variants(rng, seqs)
    _write_variants(files, seqs, variants)
    reads = _make_reads(rng, seqs, variants)
    _write_alignments(files.bam, files.cram, files.reference, _sam_header(seqs), reads)
    return files
