"""Finding and building BAI/CRAI/TBI/CSI indexes without ever touching the data file.

Shared files are copied into ``tmp_path`` first (../shared is read-only). The read-only store
is simulated for real: as root (which ignores mode bits) the folder is made immutable with
``chattr +i``; otherwise it is ``chmod 555``. Either way creating a file in it fails with
EPERM/EACCES, exactly what the indexer sees on a read-only mount.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pysam
import pytest

from gdi_node.storage.formats import FileFormat, UnsupportedFileError
from gdi_node.storage.indexes import (
    IndexBuildError,
    StaleIndexError,
    UnsortedFileError,
    build_index,
    ensure_index,
    fallback_index_path,
    find_index,
    index_candidates,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
# format -> (data file, its index) under ../shared/data/htsget
SAMPLES = {
    FileFormat.BAM: ("bam/htsnexus_test_NA12878.bam", "bam/htsnexus_test_NA12878.bam.bai"),
    FileFormat.CRAM: ("cram/htsnexus_test_NA12878.cram", "cram/htsnexus_test_NA12878.cram.crai"),
    FileFormat.VCF: ("vcf/sample1-bcbio-cancer.vcf.gz", "vcf/sample1-bcbio-cancer.vcf.gz.tbi"),
    FileFormat.BCF: ("bcf/sample1-bcbio-cancer.bcf", "bcf/sample1-bcbio-cancer.bcf.csi"),
}
SUFFIX = {FileFormat.BAM: ".bai", FileFormat.CRAM: ".crai", FileFormat.VCF: ".tbi"}
# CRAM: decode positions only, so no reference sequence is looked up (or downloaded).
CRAM_POSITIONS_ONLY = ["required_fields=14"]


def shared(relative: str) -> Path:
    path = SHARED_DATA / "htsget" / relative
    if not path.exists():
        pytest.skip(f"{path} not present (../shared/data must sit beside the repository)")
    return path


def copy_sample(fmt: FileFormat, folder: Path, with_index: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data, index = SAMPLES[fmt]
    target = folder / Path(data).name
    shutil.copyfile(shared(data), target)
    if with_index:
        shutil.copyfile(shared(index), folder / Path(index).name)
    return target


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def count_records(path: Path, fmt: FileFormat, index: Path) -> dict[str, int]:
    """Records per contig, fetched through ``index`` (i.e. by region)."""
    if fmt in (FileFormat.VCF, FileFormat.BCF):
        with pysam.VariantFile(str(path), index_filename=str(index)) as variants:
            names = [contig.name for contig in variants.header.contigs.values()]
            return {name: sum(1 for _ in variants.fetch(name)) for name in names}
    options = CRAM_POSITIONS_ONLY if fmt is FileFormat.CRAM else None
    with pysam.AlignmentFile(str(path), index_filename=str(index), format_options=options) as f:
        return {c: f.count(c) for c in f.references}


def write_unsorted(fmt: FileFormat, folder: Path) -> Path:
    """A copy of the sample with its records reversed; the BAM/CRAM header still says sorted."""
    source = shared(SAMPLES[fmt][0])
    target = folder / f"unsorted-{source.name}"
    if fmt in (FileFormat.VCF, FileFormat.BCF):
        with pysam.VariantFile(str(source)) as variants:
            variant_header, variant_records = variants.header, list(variants)
        mode = "wz" if fmt is FileFormat.VCF else "wb"
        with pysam.VariantFile(str(target), mode, header=variant_header) as out:
            for record in reversed(variant_records):
                out.write(record)
        return target
    with pysam.AlignmentFile(str(source), format_options=CRAM_POSITIONS_ONLY) as reads:
        header = reads.header.to_dict()
        records = [read for _, read in zip(range(300), reads.fetch(until_eof=True), strict=False)]
    header["HD"] = {"VN": "1.6", "SO": "coordinate"}
    for sq in header["SQ"]:  # no remote reference look-ups while writing the test CRAM
        sq.pop("UR", None)
        sq.pop("M5", None)
    mode, options = ("wc", ["no_ref=1"]) if fmt is FileFormat.CRAM else ("wb", None)
    with pysam.AlignmentFile(str(target), mode, header=header, format_options=options) as out:
        for read in reversed(records):
            out.write(read)
    return target


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder in which no file can be created, even by root."""
    folder = tmp_path / "store"
    folder.mkdir()
    yield folder
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=False, capture_output=True)
    folder.chmod(0o755)


def make_read_only(folder: Path) -> None:
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None:
            pytest.skip(
                "running as root and chattr (e2fsprogs) is absent to make a folder immutable"
            )
        done = subprocess.run(
            [chattr, "+i", str(folder)], check=False, capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"running as root and chattr +i failed: {done.stderr.strip()}")
    else:
        folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        return
    (folder / "probe").unlink()
    pytest.skip(f"could not make {folder} read-only on this file system")


@pytest.mark.parametrize(
    ("fmt", "name", "expected"),
    [
        (FileFormat.BAM, "x.bam", ["x.bam.bai", "x.bai", "x.bam.csi"]),
        (FileFormat.CRAM, "x.cram", ["x.cram.crai", "x.crai"]),
        (FileFormat.VCF, "x.vcf.gz", ["x.vcf.gz.tbi", "x.vcf.gz.csi"]),
        (FileFormat.BCF, "x.bcf", ["x.bcf.csi"]),
    ],
)
def test_index_candidates_follow_htslib_naming(
    fmt: FileFormat, name: str, expected: list[str]
) -> None:
    assert index_candidates(Path("/store") / name, fmt) == [Path("/store") / n for n in expected]


@pytest.mark.parametrize("fmt", list(FileFormat))
def test_existing_fresh_index_is_found_and_not_rebuilt(fmt: FileFormat, tmp_path: Path) -> None:
    data = copy_sample(fmt, tmp_path, with_index=True)
    expected = tmp_path / Path(SAMPLES[fmt][1]).name
    assert find_index(data, fmt) == expected
    assert ensure_index(data, fmt, tmp_path / "fallback") == (expected, False)
    assert not (tmp_path / "fallback").exists()


def test_missing_index_is_none(tmp_path: Path) -> None:
    assert find_index(copy_sample(FileFormat.BAM, tmp_path), FileFormat.BAM) is None


def test_stale_index_is_refused_with_clear_message(tmp_path: Path) -> None:
    data = copy_sample(FileFormat.BAM, tmp_path, with_index=True)
    index = tmp_path / "htsnexus_test_NA12878.bam.bai"
    old = data.stat().st_mtime - 3600
    os.utime(index, (old, old))
    with pytest.raises(StaleIndexError, match="is older than") as caught:
        find_index(data, FileFormat.BAM)
    assert str(index) in caught.value.message
    assert "rebuild or remove the index" in caught.value.message
    with pytest.raises(StaleIndexError):
        ensure_index(data, FileFormat.BAM, tmp_path / "fallback")


@pytest.mark.parametrize("fmt", list(FileFormat))
def test_built_index_is_usable_by_pysam_fetch(fmt: FileFormat, tmp_path: Path) -> None:
    data = copy_sample(fmt, tmp_path)
    index, built = ensure_index(data, fmt, tmp_path / "fallback")
    assert built
    assert index == data.with_name(data.name + SUFFIX.get(fmt, ".csi"))
    counts = count_records(data, fmt, index)
    assert sum(counts.values()) > 0
    assert counts == count_records(data, fmt, shared(SAMPLES[fmt][1]))
    assert ensure_index(data, fmt, tmp_path / "fallback") == (index, False)


@pytest.mark.parametrize("fmt", list(FileFormat))
def test_data_file_bytes_are_unchanged_by_indexing(fmt: FileFormat, tmp_path: Path) -> None:
    data = copy_sample(fmt, tmp_path)
    before, stat = sha256(data), data.stat()
    index = build_index(data, fmt, tmp_path / "fallback")
    assert sha256(data) == before
    assert data.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([data.name, index.name])


def test_read_only_folder_puts_index_in_fallback_dir(read_only_dir: Path, tmp_path: Path) -> None:
    data = copy_sample(FileFormat.BAM, read_only_dir)
    make_read_only(read_only_dir)
    fallback = tmp_path / "indexes" / "nested"
    before = sha256(data)
    index, built = ensure_index(data, FileFormat.BAM, fallback)
    assert built
    assert index.parent == fallback
    assert index.name.startswith(data.name)
    assert index.suffix == ".bai"
    assert sorted(os.listdir(read_only_dir)) == [data.name]
    assert sha256(data) == before
    assert sum(count_records(data, FileFormat.BAM, index).values()) > 0
    assert ensure_index(data, FileFormat.BAM, fallback) == (index, False)


def test_stale_fallback_index_is_rebuilt(read_only_dir: Path, tmp_path: Path) -> None:
    data = copy_sample(FileFormat.VCF, read_only_dir)
    make_read_only(read_only_dir)
    index, _ = ensure_index(data, FileFormat.VCF, tmp_path / "indexes")
    old = data.stat().st_mtime - 3600
    os.utime(index, (old, old))
    assert ensure_index(data, FileFormat.VCF, tmp_path / "indexes") == (index, True)
    assert index.stat().st_mtime_ns >= data.stat().st_mtime_ns


def test_fallback_names_differ_for_same_name_in_different_folders(tmp_path: Path) -> None:
    first = fallback_index_path(Path("/a/x.bam"), FileFormat.BAM, tmp_path)
    second = fallback_index_path(Path("/b/x.bam"), FileFormat.BAM, tmp_path)
    assert first != second
    assert first.name.startswith("x.bam.")
    assert first.suffix == ".bai"


@pytest.mark.parametrize("fmt", list(FileFormat))
def test_unsorted_file_is_refused_and_no_index_left_behind(
    fmt: FileFormat, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    data = write_unsorted(fmt, folder)
    capfd.readouterr()
    before = sha256(data)
    with pytest.raises(UnsortedFileError, match="is not sorted by coordinate") as caught:
        ensure_index(data, fmt, tmp_path / "fallback")
    assert "sort" in caught.value.message.split("sort it", 1)[1]
    assert str(data) in caught.value.message
    assert os.listdir(folder) == [data.name]
    assert not (tmp_path / "fallback").exists()
    assert sha256(data) == before
    assert capfd.readouterr().err == "", "htslib noise should not reach stderr"


def test_contig_appearing_in_two_blocks_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "split.vcf"
    lines = [
        "##fileformat=VCFv4.3",
        "##contig=<ID=1,length=1000>",
        "##contig=<ID=2,length=1000>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
        "1\t100\t.\tA\tC\t.\tPASS\t.",
        "2\t100\t.\tA\tC\t.\tPASS\t.",
        "1\t200\t.\tA\tC\t.\tPASS\t.",
    ]
    text.write_text("\n".join(lines) + "\n")
    data = tmp_path / "split.vcf.gz"
    pysam.tabix_compress(str(text), str(data))
    with pytest.raises(UnsortedFileError, match="record 3 at 1:200 comes after 2:100"):
        build_index(data, FileFormat.VCF, tmp_path / "fallback")
    assert not data.with_name("split.vcf.gz.tbi").exists()


def test_truncated_file_fails_with_index_build_error(tmp_path: Path) -> None:
    data = copy_sample(FileFormat.BAM, tmp_path)
    content = data.read_bytes()
    data.write_bytes(content[: len(content) // 2])
    with pytest.raises(IndexBuildError, match="truncated"):
        build_index(data, FileFormat.BAM, tmp_path / "fallback")
    assert os.listdir(tmp_path) == [data.name]


def test_format_mismatch_is_refused_before_indexing(tmp_path: Path) -> None:
    data = copy_sample(FileFormat.BAM, tmp_path)
    with pytest.raises(UnsupportedFileError, match="is BAM, not VCF"):
        build_index(data, FileFormat.VCF, tmp_path / "fallback")
    assert os.listdir(tmp_path) == [data.name]
