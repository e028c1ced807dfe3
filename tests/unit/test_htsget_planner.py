"""The htsget planner: byte-range plans whose concatenation is a valid file with every record.

Each plan is assembled the way a client would (ranges of the original file + inline bytes),
read back with pysam without an index and compared with pysam's indexed fetch on the original,
then checked with samtools quickcheck (BAM/CRAM) or bcftools view (VCF/BCF). Files come from
../shared/data/htsget and from fixtures generated here: a multi-contig BAM (BAI; CSI with
min_shift 12 so depth 3; a bgzip-recompressed copy whose records straddle blocks), a CRAM with
small multi-slice containers, a bgzipped VCF (lines straddle blocks; TBI and CSI) and BCFs.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import random
import shutil
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pysam
import pytest

from gdi_node.errors import InvalidInputError, InvalidRangeError, NotFoundError
from gdi_node.htsget import bgzf, binning, crai
from gdi_node.htsget.planner import (
    FileRange,
    IndexCache,
    InlineBytes,
    Part,
    Region,
    UnknownReferenceError,
)
from gdi_node.storage.formats import FileFormat
from tests.support.htsget_checks import SUFFIX, Case, Expected, assemble, check_output, tool_check

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "htsget"
CONTIGS = [("chr1", 400_000), ("chr2", 250_000), ("chrEmpty", 50_000), ("chr3", 120_000)]
READS = {"chr1": 18_000, "chr2": 10_000, "chr3": 4_000}
UNPLACED_READS = 1_500
VARIANTS = {"chr1": 7_000, "chr2": 4_000, "chr3": 2_000}
SPLICE = 30_000  # 1% of reads span 50M30000N50M: many 16 kbp windows and bins
SHARED_CASES = {
    "shared_bam": ("bam/htsnexus_test_NA12878.bam", ".bai", FileFormat.BAM),
    "shared_cram": ("cram/htsnexus_test_NA12878.cram", ".crai", FileFormat.CRAM),
    "shared_vcf": ("vcf/sample1-bcbio-cancer.vcf.gz", ".tbi", FileFormat.VCF),
    "shared_spec_vcf": ("vcf/spec-v4.3.vcf.gz", ".tbi", FileFormat.VCF),
    "shared_bcf": ("bcf/sample1-bcbio-cancer.bcf", ".csi", FileFormat.BCF),
    "shared_spec_bcf": ("bcf/spec-v4.3.bcf", ".csi", FileFormat.BCF),
}
GENERATED = [
    "bam_bai",
    "bam_csi",
    "bam_straddling",
    "cram",
    "vcf_tbi",
    "vcf_csi",
    "bcf",
    "bcf_straddling",
]
ALL_CASES = GENERATED + list(SHARED_CASES)
RANDOM_REGIONS = {"bam_bai": 200, "cram": 120, "shared_bam": 60, "shared_cram": 50}  # others: 150


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def _fasta(root: Path, rng: random.Random) -> tuple[Path, dict[str, str]]:
    seqs = {name: "".join(rng.choices("ACGT", k=length)) for name, length in CONTIGS}
    path = root / "ref.fa"
    with path.open("w") as out:
        for name, seq in seqs.items():
            out.write(f">{name}\n")
            out.writelines(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60))
    pysam.faidx(str(path))
    return path, seqs


def _bam(path: Path, seqs: dict[str, str], rng: random.Random) -> Path:
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": n, "LN": length} for n, length in CONTIGS],
    }
    quals = pysam.qualitystring_to_array("I" * 100)
    serial = 0
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for tid, (name, length) in enumerate(CONTIGS):
            seq = seqs[name]
            for pos in sorted(
                rng.randrange(length - SPLICE - 200) for _ in range(READS.get(name, 0))
            ):
                read = pysam.AlignedSegment(out.header)
                read.query_name, read.reference_id, read.reference_start = f"r{serial}", tid, pos
                serial += 1
                if rng.random() < 0.01:  # placed unmapped
                    read.flag, read.query_sequence = 4, seq[pos : pos + 100]
                else:
                    read.flag, read.mapping_quality = rng.choice((0, 16)), 60
                    if rng.random() < 0.01:
                        read.cigarstring = f"50M{SPLICE}N50M"
                        read.query_sequence = (
                            seq[pos : pos + 50] + seq[pos + SPLICE + 50 : pos + SPLICE + 100]
                        )
                    else:
                        read.cigarstring, read.query_sequence = "100M", seq[pos : pos + 100]
                read.query_qualities = quals
                out.write(read)
        for _ in range(UNPLACED_READS):
            read = pysam.AlignedSegment(out.header)
            read.query_name, read.flag = f"u{serial}", 4
            read.reference_id = read.reference_start = -1
            read.query_sequence, read.query_qualities = "".join(rng.choices("ACGT", k=100)), quals
            serial += 1
            out.write(read)
    return path


def _vcf(path: Path, seqs: dict[str, str], rng: random.Random) -> Path:
    lines = [
        "##fileformat=VCFv4.3",
        *(f"##contig=<ID={n},length={length}>" for n, length in CONTIGS if n != "chr3"),
        "##contig=<ID=chr3>",  # no length: the planner falls back to the index's reach
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="SV type">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2",
    ]
    for name, _length in CONTIGS:
        seq = seqs[name]
        for pos in sorted(rng.sample(range(1, len(seq) - 25_000), VARIANTS.get(name, 0))):
            roll, ref = rng.random(), seq[pos - 1]
            info = f"DP={rng.randrange(100)}"
            if roll < 0.005:
                alt, info = "<DEL>", f"SVTYPE=DEL;END={pos + 20_000};{info}"
            elif roll < 0.04:
                ref, alt = seq[pos - 1 : pos - 1 + rng.randrange(2, 300)], ref
            else:
                alt = rng.choice([b for b in "ACGT" if b != ref])
            gts = "\t".join(rng.choice(("0/1", "1/1", "0/0")) for _ in range(2))
            lines.append(f"{name}\t{pos}\t.\t{ref}\t{alt}\t50\tPASS\t{info}\tGT\t{gts}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _bgzip(source: Path, target: Path) -> Path:
    """bgzip's fixed 0xff00-byte blocks: records straddle block boundaries."""
    with target.open("wb") as out:
        subprocess.run(["bgzip", "-c", str(source)], stdout=out, check=True)
    return target


def _restraddle(source: Path, target: Path) -> Path:
    raw = target.with_suffix(".raw")
    with raw.open("wb") as out:
        subprocess.run(["bgzip", "-dc", str(source)], stdout=out, check=True)
    return _bgzip(raw, target)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    root = tmp_path_factory.mktemp("htsget_planner")
    rng = random.Random(1234)
    fasta, seqs = _fasta(root, rng)
    bam = _bam(root / "reads.bam", seqs, rng)
    pysam.index(str(bam))
    bam_csi = root / "reads_csi.bam"
    shutil.copy(bam, bam_csi)
    pysam.index("-c", "-m", "12", str(bam_csi))
    straddling = _restraddle(bam, root / "reads_straddling.bam")
    pysam.index(str(straddling))
    cram = root / "reads.cram"
    _run(
        "samtools",
        "view",
        "-C",
        "-T",
        str(fasta),
        "--output-fmt-option",
        "seqs_per_slice=400",
        "--output-fmt-option",
        "slices_per_container=2",
        "-o",
        str(cram),
        str(bam),
    )
    _run("samtools", "index", str(cram))
    vcf = _bgzip(_vcf(root / "variants.vcf", seqs, rng), root / "variants.vcf.gz")
    _run("tabix", "-p", "vcf", str(vcf))
    vcf_csi = root / "variants_csi.vcf.gz"
    shutil.copy(vcf, vcf_csi)
    _run("tabix", "--csi", "-m", "12", "-p", "vcf", str(vcf_csi))
    bcf = root / "variants.bcf"
    _run("bcftools", "view", "-Ob", "-o", str(bcf), str(vcf))
    _run("bcftools", "index", str(bcf))
    bcf_straddling = _restraddle(bcf, root / "variants_straddling.bcf")
    _run("bcftools", "index", str(bcf_straddling))
    return {
        "bam_bai": Case("bam_bai", bam, bam.with_suffix(".bam.bai"), FileFormat.BAM),
        "bam_csi": Case("bam_csi", bam_csi, bam_csi.with_suffix(".bam.csi"), FileFormat.BAM),
        "bam_straddling": Case(
            "bam_straddling", straddling, straddling.with_suffix(".bam.bai"), FileFormat.BAM
        ),
        "cram": Case("cram", cram, cram.with_suffix(".cram.crai"), FileFormat.CRAM, fasta),
        "vcf_tbi": Case("vcf_tbi", vcf, Path(f"{vcf}.tbi"), FileFormat.VCF),
        "vcf_csi": Case("vcf_csi", vcf_csi, Path(f"{vcf_csi}.csi"), FileFormat.VCF),
        "bcf": Case("bcf", bcf, Path(f"{bcf}.csi"), FileFormat.BCF),
        "bcf_straddling": Case(
            "bcf_straddling", bcf_straddling, Path(f"{bcf_straddling}.csi"), FileFormat.BCF
        ),
    }


@pytest.fixture(params=ALL_CASES)
def case(request: pytest.FixtureRequest, generated: dict[str, Case]) -> Case:
    name = str(request.param)
    if name in generated:
        return generated[name]
    data, suffix, fmt = SHARED_CASES[name]
    path = SHARED / data
    if not path.exists():
        pytest.skip(f"{path} not present (../shared must sit beside the repository)")
    return Case(name, path, Path(f"{path}{suffix}"), fmt)


@pytest.fixture
def expected(case: Case) -> Iterator[Expected]:
    verbosity = pysam.set_verbosity(0)  # CRAM opened without an index makes htslib complain
    result = Expected(case)
    try:
        yield result
    finally:
        result.close()
        pysam.set_verbosity(verbosity)


def _spans(expected: Expected) -> dict[str, tuple[int, int]]:
    """Per reference with records: (first, last) record position, to aim regions at data."""
    spans: dict[str, tuple[int, int]] = {}
    handle = expected.handle
    located: Iterator[tuple[str | None, int]]
    if isinstance(handle, pysam.AlignmentFile):
        located = ((r.reference_name, r.reference_start) for r in handle.fetch(until_eof=True))
    else:
        located = ((r.chrom, r.start) for r in handle.fetch())
    for name, pos in located:
        if name is None:
            continue
        first, last = spans.get(name, (pos, pos))
        spans[name] = (min(first, pos), max(last, pos))
    return spans


def _random_regions(
    case: Case, refs: dict[str, int], spans: dict[str, tuple[int, int]], count: int
) -> list[list[Region]]:
    rng = random.Random(f"{case.name}-regions")
    names = list(refs)
    out = []
    for _ in range(count):
        regions = []
        for _ in range(rng.choice((1, 1, 1, 1, 1, 1, 2, 3))):
            if case.reads and rng.random() < 0.03:
                regions.append(Region("*"))
                continue
            name = rng.choice(list(spans)) if spans and rng.random() < 0.9 else rng.choice(names)
            first, last = spans.get(name, (0, min(refs[name], 100_000)))
            start = rng.randrange(max(first - 5_000, 0), min(last + 5_000, refs[name]))
            end = start + int(10 ** rng.uniform(0, 5.3))
            regions.append(Region(name, start, end if rng.random() < 0.95 else None))
        out.append(regions)
    return out


def _edge_regions(
    case: Case, refs: dict[str, int], spans: dict[str, tuple[int, int]]
) -> list[list[Region]]:
    first_name = next(iter(spans), next(iter(refs)))
    length = refs[first_name]
    first, last = spans.get(first_name, (0, length))
    edges = [
        [Region(first_name, 0, 1)],  # region at 0
        [Region(first_name, 0, first + 1)],  # up to the first record
        [Region(first_name)],  # whole contig
        [Region(first_name, first)],  # start only: to the contig end
        [Region(first_name, None, last + 1)],  # end only
        [Region(first_name, max(length - 10, 0), length + 1_000_000)],  # past the end: clamped
        [Region(first_name, first, (first + last) // 2 + 1)],  # across many blocks
        [Region(n) for n in spans],  # several whole contigs at once
        [Region(first_name, last, last + 1), Region(first_name, first, first + 1)],  # any order
        [Region(first_name, first + 10, first + 10)],  # empty range: header + EOF
    ]
    edges += [[Region(n)] for n in refs if n not in spans][:3]  # contigs without records
    if case.reads:
        edges += [[Region("*")], [Region("*"), Region(first_name, first, first + 1000)]]
    return edges


def _assert_merged(parts: tuple[Part, ...]) -> None:
    """Ranges in file order, neither overlapping nor touching; no two inline parts in a row."""
    ranges = [p for p in parts if isinstance(p, FileRange)]
    assert all(r.start < r.end for r in ranges)
    assert all(a.end < b.start for a, b in itertools.pairwise(ranges))
    assert not any(
        isinstance(a, InlineBytes) and isinstance(b, InlineBytes)
        for a, b in itertools.pairwise(parts)
    )


def test_random_and_edge_regions_give_valid_files_with_every_overlapping_record(
    case: Case, expected: Expected, tmp_path: Path
) -> None:
    cache = IndexCache()
    refs = cache.references(case.path, case.index, case.fmt)
    assert list(refs)[: len(expected.header)] == [
        c[0] if isinstance(c, tuple) else c for c in expected.header
    ]
    spans = _spans(expected)
    count = RANDOM_REGIONS.get(case.name, 150)
    plans = _edge_regions(case, refs, spans) + _random_regions(case, refs, spans, count)
    outputs = []
    for number, regions in enumerate(plans):
        plan = cache.plan(case.path, case.index, case.fmt, regions)
        _assert_merged(plan.body)
        out = assemble(case.path, plan.body, tmp_path / f"{number}{SUFFIX[case.fmt]}")
        check_output(expected, out, regions)
        outputs.append(out)
    tool_check(case, outputs[:: 1 if case.reads else 5])
    assert cache.parses == 1


def test_header_only_plan_is_a_valid_file_with_the_header_and_no_records(
    case: Case, expected: Expected, tmp_path: Path
) -> None:
    plan = IndexCache().plan(case.path, case.index, case.fmt, None, header_only=True)
    assert plan.body == plan.header
    out = assemble(case.path, plan.header, tmp_path / f"header{SUFFIX[case.fmt]}")
    assert check_output(expected, out, []) == 0
    tool_check(case, [out])


def test_whole_file_plan_is_one_range_equal_to_the_file(case: Case) -> None:
    plan = IndexCache().plan(case.path, case.index, case.fmt, None)
    assert plan.body == (FileRange(0, case.path.stat().st_size),)


def test_header_part_is_the_header_bytes_then_eof(generated: dict[str, Case]) -> None:
    bam = generated["bam_bai"]  # htslib flushes after the BAM header: it ends on a block edge
    with bam.path.open("rb") as handle:
        first_block = bgzf.block_size(handle, 0)
    header = IndexCache().plan(bam.path, bam.index, bam.fmt, None, header_only=True).header
    assert header == (FileRange(0, first_block), InlineBytes(bgzf.EOF_BLOCK))
    vcf = generated["vcf_tbi"]  # bgzip: the header ends inside block 0, re-compressed inline
    header = IndexCache().plan(vcf.path, vcf.index, vcf.fmt, None, header_only=True).header
    text = gzip.decompress(vcf.path.read_bytes())
    assert len(header) == 1
    assert isinstance(header[0], InlineBytes)
    assert header[0].data.endswith(bgzf.EOF_BLOCK)
    assert gzip.decompress(header[0].data) == text[: text.index(b"\nchr1\t") + 1]
    cram = generated["cram"]
    header = IndexCache().plan(cram.path, cram.index, cram.fmt, None, header_only=True).header
    first_container = min(e.container for e in _crai(cram))
    assert header == (FileRange(0, first_container), InlineBytes(crai.EOF_CONTAINER))


def _crai(case: Case) -> tuple[crai.CraiEntry, ...]:
    return crai.parse_crai(case.index.read_bytes())


def test_unplaced_reads_range_runs_from_the_last_placed_record_to_the_eof(
    generated: dict[str, Case],
) -> None:
    bam = generated["bam_bai"]
    body = IndexCache().plan(bam.path, bam.index, bam.fmt, [Region("*")]).body
    size = bam.path.stat().st_size
    assert isinstance(body[-1], FileRange)
    assert body[-1].end == size  # the file's own EOF block is part of the last range
    cram = generated["cram"]
    entries = _crai(cram)
    unplaced = sorted(e.container for e in entries if e.seq_id == -1)
    body = IndexCache().plan(cram.path, cram.index, cram.fmt, [Region("*")]).body
    last = body[-1]
    assert isinstance(last, FileRange)
    # the header may be sent in the same range when the gap is small (COALESCE_GAP)
    assert last.start <= unplaced[0]
    assert last.end == cram.path.stat().st_size


def test_unknown_reference_is_not_found(generated: dict[str, Case]) -> None:
    for case in generated.values():
        with pytest.raises(UnknownReferenceError) as caught:
            IndexCache().plan(case.path, case.index, case.fmt, [Region("chrNope", 0, 10)])
        assert isinstance(caught.value, NotFoundError)


@pytest.mark.parametrize(
    ("region", "error"),
    [
        (Region("chr1", 10, 5), InvalidRangeError),  # start > end
        (Region("chr1", 400_000), InvalidRangeError),  # start at the declared length
        (Region("chr1", 500_000, 600_000), InvalidRangeError),
        (Region("chr1", -1, 10), InvalidInputError),  # not an unsigned integer
        (Region("chr1", 0, -10), InvalidInputError),
        (Region("*", 0, 10), InvalidInputError),  # htsget 1.3: '*' takes no start or end
    ],
)
def test_bad_ranges_are_refused(
    generated: dict[str, Case], region: Region, error: type[Exception]
) -> None:
    for name in ("bam_bai", "cram", "vcf_tbi", "bcf"):
        case = generated[name]
        with pytest.raises(error):
            IndexCache().plan(case.path, case.index, case.fmt, [region])


def test_unplaced_name_is_for_reads_only(generated: dict[str, Case]) -> None:
    vcf = generated["vcf_tbi"]
    with pytest.raises(InvalidInputError):
        IndexCache().plan(vcf.path, vcf.index, vcf.fmt, [Region("*")])


def test_header_class_takes_no_regions(generated: dict[str, Case]) -> None:
    bam = generated["bam_bai"]
    with pytest.raises(InvalidInputError):
        IndexCache().plan(bam.path, bam.index, bam.fmt, [Region("chr1")], header_only=True)


def test_undeclared_length_uses_the_index_reach_and_never_refuses(
    generated: dict[str, Case], expected_vcf: Expected, tmp_path: Path
) -> None:
    vcf = generated["vcf_tbi"]
    cache = IndexCache()
    assert cache.references(vcf.path, vcf.index, vcf.fmt)["chr3"] == 1 << 29
    assert cache.references(vcf.path, vcf.index, vcf.fmt)["chr1"] == 400_000
    regions = [Region("chr3", 10_000_000, 20_000_000)]
    body = cache.plan(vcf.path, vcf.index, vcf.fmt, regions).body
    assert check_output(expected_vcf, assemble(vcf.path, body, tmp_path / "x.vcf.gz"), regions) == 0


@pytest.fixture
def expected_vcf(generated: dict[str, Case]) -> Iterator[Expected]:
    result = Expected(generated["vcf_tbi"])
    yield result
    result.close()


def test_cache_parses_once_and_reparses_when_the_file_or_index_changes(
    generated: dict[str, Case], tmp_path: Path
) -> None:
    source = generated["bam_bai"]
    path, index = tmp_path / "c.bam", tmp_path / "c.bam.bai"
    shutil.copy(source.path, path)
    shutil.copy(source.index, index)
    cache = IndexCache()
    first = cache.plan(path, index, FileFormat.BAM, [Region("chr1", 1000, 2000)])
    assert cache.plan(path, index, FileFormat.BAM, [Region("chr1", 1000, 2000)]) == first
    cache.references(path, index, FileFormat.BAM)
    assert cache.parses == 1
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert cache.plan(path, index, FileFormat.BAM, [Region("chr1", 1000, 2000)]) == first
    assert cache.parses == 2
    replacement = tmp_path / "new.bai"
    shutil.copy(index, replacement)
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    replacement.replace(index)
    cache.plan(path, index, FileFormat.BAM, None)
    assert cache.parses == 3


def test_cache_is_bounded_and_thread_safe(generated: dict[str, Case]) -> None:
    cache = IndexCache(max_files=2)
    cases = [generated[n] for n in ("bam_bai", "vcf_tbi", "bcf")]
    for case in cases:
        cache.plan(case.path, case.index, case.fmt, None)
    assert cache.parses == 3
    first = cases[0]
    cache.plan(first.path, first.index, first.fmt, None)  # evicted: parsed again
    assert cache.parses == 4
    results: list[object] = []
    regions = [Region("chr1", 5_000, 90_000), Region("chr2")]

    def work() -> None:
        results.append(cache.plan(first.path, first.index, first.fmt, regions))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(r == results[0] for r in results)


def test_missing_files_are_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        IndexCache().plan(tmp_path / "no.bam", tmp_path / "no.bam.bai", FileFormat.BAM, None)


def test_bgzf_helpers_follow_the_spec() -> None:
    assert bgzf.split_voffset(bgzf.make_voffset(123_456, 789)) == (123_456, 789)
    assert gzip.decompress(bgzf.EOF_BLOCK) == b""
    payload = random.Random(5).randbytes(150_000)  # incompressible: several full blocks
    blocks = bgzf.compress(payload)
    assert gzip.decompress(blocks) == payload
    sizes = []
    offset = 0
    handle = io.BytesIO(blocks)
    while offset < len(blocks):
        data, size = bgzf.read_block(handle, offset)
        assert len(data) <= bgzf.MAX_PAYLOAD
        assert size <= 65_536
        sizes.append(size)
        offset += size
    assert len(sizes) == 3
    corrupt = bytearray(blocks)
    corrupt[sizes[0] - 6] ^= 0xFF  # ISIZE of the first block
    with pytest.raises(bgzf.MalformedFileError):
        bgzf.read_block(io.BytesIO(bytes(corrupt)), 0)
    with pytest.raises(bgzf.MalformedFileError):
        bgzf.block_size(io.BytesIO(b"not a block at all"), 0)


def test_reg2bins_matches_the_spec_and_generalises_to_csi() -> None:
    assert binning.reg2bins(0, 1) == [0, 1, 9, 73, 585, 4681]
    assert binning.reg2bins(0, 1 << 29)[-1] == 4681 + (1 << 15) - 1
    assert binning.reg2bins(0, 1, min_shift=12, depth=3) == [0, 1, 9, 73]
    assert binning.reg2bins(5, 5) == []
    assert binning.first_bin(5) == 4681


def test_index_parsing_recognises_each_kind(generated: dict[str, Case]) -> None:
    kinds = {"bam_bai": "BAI", "bam_csi": "CSI", "vcf_tbi": "TBI", "vcf_csi": "CSI", "bcf": "CSI"}
    for name, kind in kinds.items():
        index = binning.parse_index(generated[name].index.read_bytes())
        assert index.kind == kind
    csi = binning.parse_index(generated["bam_csi"].index.read_bytes())
    assert (csi.min_shift, csi.depth) == (12, 3)
    assert binning.parse_index(generated["vcf_csi"].index.read_bytes()).names == (
        "chr1",
        "chr2",
        "chr3",
    )
    with pytest.raises(bgzf.MalformedFileError):
        binning.parse_index(b"XYZ\x01" + bytes(16))
    with pytest.raises(bgzf.MalformedFileError):
        binning.parse_index(b"BAI\x01" + struct.pack("<i", 3))


def test_malformed_or_unsupported_files_are_reported(
    generated: dict[str, Case], tmp_path: Path
) -> None:
    old = tmp_path / "old.cram"
    old.write_bytes(b"CRAM\x02\x01" + bytes(200))
    crai_path = tmp_path / "old.cram.crai"
    crai_path.write_bytes(gzip.compress(b"0\t1\t10\t100\t0\t10\n"))
    with pytest.raises(crai.UnsupportedCramError):
        IndexCache().plan(old, crai_path, FileFormat.CRAM, [Region("chr1")])
    bam = generated["bam_bai"]
    with pytest.raises(bgzf.MalformedFileError):  # a TBI is no index for a BAM
        IndexCache().plan(bam.path, generated["vcf_tbi"].index, FileFormat.BAM, None)
    bad_crai = tmp_path / "bad.crai"
    bad_crai.write_bytes(gzip.compress(b"1\t2\tthree\n"))
    with pytest.raises(bgzf.MalformedFileError):
        crai.parse_crai(bad_crai.read_bytes())
