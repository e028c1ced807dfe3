"""The synthetic demo data set: deterministic, valid, self-consistent and self-contained.

Most checks read one data set generated per module; tests that need a fresh folder (determinism,
regeneration, nothing written elsewhere) generate their own in ``tmp_path``. CRAM is always
decoded with the generated reference, so htslib never looks a reference up (or downloads it).
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pysam
import pytest

from gdi_node.demo.synthetic import DemoFiles, generate_demo_data

SAMTOOLS = shutil.which("samtools")
BCFTOOLS = shutil.which("bcftools")
needs_samtools = pytest.mark.skipif(SAMTOOLS is None, reason="samtools is not installed")
needs_bcftools = pytest.mark.skipif(BCFTOOLS is None, reason="bcftools is not installed")
DATA_FILES: tuple[str, ...] = ("reference.fa", "reference.chrom.sizes", "demo.bam", "demo.cram")
DATA_FILES += ("demo.vcf.gz", "demo.bcf", "samples.tsv", "patients.vcf.gz", "patients.tsv")
DATA_FILES += ("genes.tsv",)  # the synthetic gene reference of the frequency browser
INDEX_FILES: tuple[str, ...] = ("reference.fa.fai", "demo.bam.bai", "demo.cram.crai")
INDEX_FILES += ("demo.vcf.gz.tbi", "demo.bcf.csi", "patients.vcf.gz.tbi")
PATIENTS = tuple(f"DEMO-P{i:02d}" for i in range(1, 21))
REGION = ("chr1", 20_000, 22_000)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def read_key(read: pysam.AlignedSegment) -> tuple[object, ...]:
    """What BAM and CRAM must agree on (CRAM decoding adds an MD tag, so tags are picked)."""
    return (
        read.query_name,
        read.flag,
        read.reference_name,
        read.reference_start,
        read.mapping_quality,
        read.cigarstring,
        read.next_reference_start,
        read.template_length,
        read.query_sequence,
        tuple(read.query_qualities or ()),
        read.get_tag("RG"),
        read.get_tag("NM") if read.has_tag("NM") else None,
    )


def open_cram(files: DemoFiles) -> pysam.AlignmentFile:
    return pysam.AlignmentFile(str(files.cram), "rc", reference_filename=str(files.reference))


def all_reads(files: DemoFiles, cram: bool = False) -> list[pysam.AlignedSegment]:
    opened = open_cram(files) if cram else pysam.AlignmentFile(str(files.bam), "rb")
    with opened as f:
        return list(f.fetch(until_eof=True))


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return generate_demo_data(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def reference(demo: DemoFiles) -> Iterator[pysam.FastaFile]:
    with pysam.FastaFile(str(demo.reference)) as fasta:
        yield fasta


@pytest.fixture(scope="module")
def records(demo: DemoFiles) -> list[pysam.VariantRecord]:
    with pysam.VariantFile(str(demo.vcf)) as vcf:
        return list(vcf)


def test_returned_paths_name_every_file_in_the_folder(demo: DemoFiles) -> None:
    assert demo.reference.name == "reference.fa"
    assert demo.chrom_sizes.name == "reference.chrom.sizes"
    assert (demo.bam.name, demo.cram.name) == ("demo.bam", "demo.cram")
    assert (demo.vcf.name, demo.bcf.name, demo.samples.name) == (
        "demo.vcf.gz",
        "demo.bcf",
        "samples.tsv",
    )
    assert demo.sample_ids == tuple(f"DEMO-S{i}" for i in range(1, 9))
    assert (demo.patients_vcf.name, demo.patients.name) == ("patients.vcf.gz", "patients.tsv")
    assert demo.patient_ids == PATIENTS
    assert sorted(p.name for p in demo.bam.parent.iterdir()) == sorted(DATA_FILES + INDEX_FILES)


def test_generation_is_byte_for_byte_deterministic(tmp_path: Path) -> None:
    first = generate_demo_data(tmp_path / "one")
    second = generate_demo_data(tmp_path / "a" / "much" / "longer" / "second-folder")
    assert digests(first.bam.parent) == digests(second.bam.parent)  # data files and indexes


def test_a_different_seed_gives_different_data(tmp_path: Path) -> None:
    default = digests(generate_demo_data(tmp_path / "default").bam.parent)
    other = digests(generate_demo_data(tmp_path / "other", seed=7).bam.parent)
    assert default["samples.tsv"] == other["samples.tsv"]
    assert all(default[name] != other[name] for name in ("reference.fa", "demo.bam", "demo.bcf"))


def test_regenerating_into_the_same_folder_overwrites_cleanly(tmp_path: Path) -> None:
    files = generate_demo_data(tmp_path)
    expected = digests(tmp_path)
    files.bam.write_bytes(b"not a BAM any more")
    files.vcf.write_bytes(b"")
    (tmp_path / "demo.cram.crai").unlink()
    (tmp_path / "reference.fa.fai").write_text("chr1\t5\t6\t60\t61\n")
    assert generate_demo_data(tmp_path) == files
    assert digests(tmp_path) == expected


def test_nothing_is_written_outside_the_output_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("cwd", "home", "tmp", "ref-cache"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setenv("REF_CACHE", str(tmp_path / "ref-cache" / "%2s/%2s/%s"))
    generate_demo_data(tmp_path / "out")
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and tmp_path / "out" not in p.parents]
    assert outside == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(DATA_FILES + INDEX_FILES)


def test_no_path_time_or_program_line_is_embedded(demo: DemoFiles) -> None:
    folder = str(demo.bam.parent).encode()
    with pysam.AlignmentFile(str(demo.bam)) as bam, open_cram(demo) as cram:
        headers = [str(bam.header), str(cram.header)]
    with pysam.VariantFile(str(demo.bcf)) as bcf:
        headers.append(str(bcf.header))
    with gzip.open(demo.vcf) as vcf:
        headers.append(vcf.read().decode())
    assert all("@PG" not in h and "##bcftools" not in h and "Date=" not in h for h in headers)
    assert all(folder not in h.encode() for h in headers)
    assert all(folder not in (demo.bam.parent / name).read_bytes() for name in DATA_FILES)
    assert demo.cram.read_bytes()[:26] == b"CRAM\x03\x00" + b"demo.cram".ljust(20, b"\0")


def test_reference_has_two_contigs_with_index_and_chrom_sizes(
    demo: DemoFiles, reference: pysam.FastaFile
) -> None:
    assert tuple(reference.references) == ("chr1", "chr2")
    assert tuple(reference.lengths) == (60_000, 40_000)
    fai = Path(f"{demo.reference}.fai").read_text()
    assert fai == "chr1\t60000\t6\t60\t61\nchr2\t40000\t61012\t60\t61\n"
    assert set(reference.fetch("chr1") + reference.fetch("chr2")) == set("ACGT")
    assert demo.chrom_sizes.read_text() == "chr1\t60000\nchr2\t40000\n"
    assert demo.reference.read_text().startswith(">chr1\n")


@needs_samtools
def test_samtools_quickcheck_passes_on_bam_and_cram(demo: DemoFiles) -> None:
    assert SAMTOOLS is not None
    run(SAMTOOLS, "quickcheck", "-v", str(demo.bam), str(demo.cram))


def test_alignment_header_is_sorted_with_one_read_group_per_sample(demo: DemoFiles) -> None:
    with pysam.AlignmentFile(str(demo.bam)) as bam:
        header = bam.header.to_dict()
    assert header["HD"]["SO"] == "coordinate"
    assert [(sq["SN"], sq["LN"]) for sq in header["SQ"]] == [("chr1", 60_000), ("chr2", 40_000)]
    assert [rg["SM"] for rg in header["RG"]] == ["DEMO-P01", "DEMO-P02", "DEMO-P03"]
    assert "PG" not in header


def test_reads_are_coordinate_sorted_paired_100m_with_read_groups(demo: DemoFiles) -> None:
    reads = all_reads(demo)
    mapped = [r for r in reads if not r.is_unmapped]
    assert len(mapped) == 60_000
    assert {r.reference_name for r in mapped} == {"chr1", "chr2"}
    positions = [(r.reference_id, r.reference_start) for r in mapped]
    assert positions == sorted(positions)
    assert all(r.cigarstring == "100M" and r.mapping_quality == 60 for r in mapped)
    assert all(r.is_paired and r.is_proper_pair for r in mapped)
    assert {r.get_tag("RG") for r in reads} == {"rg-DEMO-P01", "rg-DEMO-P02", "rg-DEMO-P03"}
    assert all(min(r.query_qualities or [0]) >= 20 for r in reads)


def test_unplaced_unmapped_reads_come_last(demo: DemoFiles) -> None:
    reads = all_reads(demo)
    unmapped = [r for r in reads if r.is_unmapped]
    assert 40 <= len(unmapped) <= 60
    assert reads[-len(unmapped) :] == unmapped
    assert all(r.reference_id == -1 and r.next_reference_id == -1 for r in unmapped)
    with pysam.AlignmentFile(str(demo.bam)) as bam, open_cram(demo) as cram:
        assert bam.unmapped == len(unmapped)  # from the BAI
        for f in (bam, cram):  # the index query htsget serves for reference name "*"
            assert [r.query_name for r in f.fetch("*")] == [r.query_name for r in unmapped]


def test_indexed_fetch_gives_the_same_expected_reads_from_bam_and_cram(demo: DemoFiles) -> None:
    contig, start, stop = REGION
    expected = [
        read_key(r)
        for r in all_reads(demo)
        if r.reference_name == contig
        and r.reference_start < stop
        and (r.reference_end or 0) > start
    ]
    with pysam.AlignmentFile(str(demo.bam)) as bam, open_cram(demo) as cram:
        assert bam.has_index()
        assert cram.has_index()
        from_bam = [read_key(r) for r in bam.fetch(contig, start, stop)]
        from_cram = [read_key(r) for r in cram.fetch(contig, start, stop)]
    assert len(expected) > 20
    assert from_bam == expected
    assert from_cram == expected


def test_cram_decodes_with_the_reference_to_the_bam_reads(
    demo: DemoFiles, reference: pysam.FastaFile
) -> None:
    from_bam = all_reads(demo)
    from_cram = all_reads(demo, cram=True)
    assert [read_key(r) for r in from_cram] == [read_key(r) for r in from_bam]
    for read in from_cram[:500]:
        if read.is_unmapped:
            continue
        ref = reference.fetch(read.reference_name, read.reference_start, read.reference_end)
        mismatches = sum(a != b for a, b in zip(read.query_sequence or "", ref, strict=True))
        assert mismatches == read.get_tag("NM")
        assert mismatches <= 12  # sequencing errors plus the sample's SNV alleles


@needs_samtools
def test_samtools_reads_the_cram_with_the_reference(demo: DemoFiles) -> None:
    assert SAMTOOLS is not None
    ref = ("--reference", str(demo.reference))
    assert run(SAMTOOLS, "view", "-c", *ref, str(demo.cram)).strip() == str(len(all_reads(demo)))
    assert run(SAMTOOLS, "view", "-c", *ref, str(demo.cram), "*").strip() == "50"


@needs_bcftools
def test_bcftools_gives_the_same_records_from_vcf_and_bcf(demo: DemoFiles) -> None:
    assert BCFTOOLS is not None
    from_vcf = run(BCFTOOLS, "view", "-H", str(demo.vcf))
    assert from_vcf == run(BCFTOOLS, "view", "-H", str(demo.bcf))
    assert len(from_vcf.splitlines()) >= 3_000
    region = run(BCFTOOLS, "view", "-H", "-r", "chr2:10000-20000", str(demo.bcf))
    assert region == run(BCFTOOLS, "view", "-H", "-r", "chr2:10000-20000", str(demo.vcf))


def test_vcf_header_has_contigs_reference_and_all_samples(demo: DemoFiles) -> None:
    with pysam.VariantFile(str(demo.vcf)) as vcf:
        header = vcf.header
        assert header.version in {"VCFv4.2", "VCFv4.3"}
        assert {name: c.length for name, c in header.contigs.items()} == {
            "chr1": 60_000,
            "chr2": 40_000,
        }
        assert any(r.key == "reference" for r in header.records)
        assert tuple(header.samples) == demo.sample_ids
        assert vcf.index is not None


def test_variants_are_sorted_and_include_snvs_indels_and_a_multiallelic(
    records: list[pysam.VariantRecord],
) -> None:
    keys = [(r.rid, r.pos) for r in records]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    alleles = [r.alleles or () for r in records]
    snvs = [a for a in alleles if len(a) == 2 and len(a[0]) == len(a[1]) == 1]
    assert 2_950 <= len(snvs) <= 3_050
    assert sum(len(a) == 2 and len(a[0]) != len(a[1]) for a in alleles) >= 3
    assert any(len(a) > 2 for a in alleles)
    genotypes = {r.samples[s]["GT"] for r in records for s in r.samples}
    assert {(0, 0), (0, 1), (1, 1), (None, None)} <= genotypes


def test_info_ac_an_af_match_the_genotypes(records: list[pysam.VariantRecord]) -> None:
    for rec in records:
        called = [a for s in rec.samples for a in rec.samples[s]["GT"] if a is not None]
        ac = tuple(called.count(alt) for alt in range(1, len(rec.alleles or ())))
        assert rec.info["AN"] == len(called)
        assert rec.info["AC"] == ac
        assert all(c > 0 for c in ac)
        assert rec.info["AF"] == pytest.approx([c / len(called) for c in ac], abs=1e-4)


def test_every_ref_allele_matches_the_reference(
    records: list[pysam.VariantRecord], reference: pysam.FastaFile
) -> None:
    for rec in records:
        assert rec.ref == reference.fetch(rec.chrom, rec.start, rec.stop)


def test_samples_tsv_lists_all_samples_with_populations_and_cohorts(demo: DemoFiles) -> None:
    lines = demo.samples.read_text().splitlines()
    header = ["sample", "individual_id", "biosample_id", "population", "cohorts", "sex"]
    assert lines[0].split("\t") == header  # the sample sheet of `ingest vcf --samples`
    rows = [dict(zip(lines[0].split("\t"), line.split("\t"), strict=True)) for line in lines[1:]]
    assert tuple(row["sample"] for row in rows) == demo.sample_ids
    assert {row["population"] for row in rows} == {"EUR", "AFR"}
    assert {row["cohorts"] for row in rows} == {"cohort-a", "cohort-b"}
    assert len({row["individual_id"] for row in rows}) == 8
    assert all(row["sex"] in {"female", "male"} for row in rows)


def test_patients_vcf_has_the_same_sites_and_its_own_samples_each_alt_seen(
    demo: DemoFiles, records: list[pysam.VariantRecord]
) -> None:
    with pysam.VariantFile(str(demo.patients_vcf)) as vcf:
        assert tuple(vcf.header.samples) == PATIENTS
        assert vcf.index is not None
        patients = list(vcf)
    assert [(r.chrom, r.pos, r.alleles) for r in patients] == [
        (r.chrom, r.pos, r.alleles) for r in records
    ]
    for rec in patients:
        called = [a for s in rec.samples for a in rec.samples[s]["GT"] if a is not None]
        assert rec.info["AN"] == len(called)
        assert all(c > 0 for c in rec.info["AC"])


def test_patients_tsv_gives_every_patient_a_sex_a_country_and_a_cohort(demo: DemoFiles) -> None:
    lines = demo.patients.read_text().splitlines()
    header = lines[0].split("\t")
    assert header == [
        "sample",
        "individual_id",
        "biosample_id",
        "population",
        "cohorts",
        "sex",
        "country",
    ]
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    assert tuple(row["sample"] for row in rows) == PATIENTS
    assert {row["country"] for row in rows} == {"DK", "SE"}
    assert [row["cohorts"] for row in rows] == ["epilepsy"] * 12 + ["controls"] * 8


def bgzf_blocks(path: Path) -> int:
    data, at, blocks = path.read_bytes(), 0, 0
    while at < len(data):
        at += int.from_bytes(data[at + 16 : at + 18], "little") + 1
        blocks += 1
    return blocks


def test_files_are_large_enough_for_an_index_to_narrow_a_region(demo: DemoFiles) -> None:
    """Issue 17: htsget answers whole blocks; with one block per file every region is the file."""
    assert bgzf_blocks(demo.bam) > 200
    assert bgzf_blocks(demo.vcf) >= 6
    assert bgzf_blocks(demo.patients_vcf) >= 6
    with gzip.open(demo.cram.with_name("demo.cram.crai"), "rt") as crai:
        containers = [line.split("\t")[0] for line in crai]
    assert containers.count("0") >= 30
    assert containers.count("1") >= 20
