"""Format detection by content (SAM/BAM spec §4.1 BGZF, CRAM 3.1 §8, VCF 4.3, BCF2)."""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pysam
import pytest

from gdi_node.errors import InvalidInputError, NotFoundError
from gdi_node.storage.formats import (
    FileFormat,
    UnreadableFileError,
    UnsupportedFileError,
    detect_format,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
BAM = "htsget/bam/htsnexus_test_NA12878.bam"
PLAIN_GZIP_VCF = "vcf/test_1000G_hg38.norm.ann.vcf.gz"
VCF = "htsget/vcf/spec-v4.3.vcf.gz"


def shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} not present (../shared/data must sit beside the repository)")
    return path


def bgzf_block(data: bytes) -> bytes:
    """One BGZF block built from the SAM/BAM spec §4.1 layout."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    cdata = deflate.compress(data) + deflate.flush()
    bsize = 18 + len(cdata) + 8 - 1
    header = (
        b"\x1f\x8b\x08\x04" + bytes(4) + b"\x00\xff" + struct.pack("<HBBHH", 6, 66, 67, 2, bsize)
    )
    return header + cdata + struct.pack("<II", zlib.crc32(data), len(data))


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        (BAM, FileFormat.BAM),
        ("htsget/cram/htsnexus_test_NA12878.cram", FileFormat.CRAM),
        (VCF, FileFormat.VCF),
        ("htsget/vcf/sample1-bcbio-cancer.vcf.gz", FileFormat.VCF),
        ("vcf/test_1000G_hg38.vcf.gz", FileFormat.VCF),
        ("htsget/bcf/spec-v4.3.bcf", FileFormat.BCF),
        ("htsget/bcf/sample1-bcbio-cancer.bcf", FileFormat.BCF),
    ],
)
def test_shared_files_are_detected_by_content(relative: str, expected: FileFormat) -> None:
    assert detect_format(shared(relative)) is expected


def test_file_name_is_ignored(tmp_path: Path) -> None:
    misnamed = tmp_path / "variants.vcf.gz"
    shutil.copyfile(shared(BAM), misnamed)
    assert detect_format(misnamed) is FileFormat.BAM


def test_magic_split_across_bgzf_blocks_is_still_detected(tmp_path: Path) -> None:
    path = tmp_path / "split.bam"
    path.write_bytes(bgzf_block(b"BA") + bgzf_block(b"M\x01" + bytes(40)) + bgzf_block(b""))
    assert detect_format(path) is FileFormat.BAM


def test_plain_gzip_vcf_is_refused_with_bgzip_advice() -> None:
    path = shared(PLAIN_GZIP_VCF)
    with pytest.raises(UnsupportedFileError, match="plain gzip, not BGZF") as caught:
        detect_format(path)
    assert str(path) in caught.value.message
    assert "cannot be indexed" in caught.value.message
    assert "bgzip" in caught.value.message


def test_plain_gzip_of_other_content_is_refused_as_not_bgzf(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt.gz"
    path.write_bytes(gzip.compress(b"hello\n"))
    with pytest.raises(UnsupportedFileError, match="gzip-compressed but not BGZF"):
        detect_format(path)


def test_uncompressed_vcf_is_refused_with_bgzip_advice(tmp_path: Path) -> None:
    path = tmp_path / "plain.vcf"
    with gzip.open(shared(VCF), "rb") as vcf:
        path.write_bytes(vcf.read())
    with pytest.raises(UnsupportedFileError, match="uncompressed VCF; compress it with bgzip"):
        detect_format(path)


def test_uncompressed_bcf_is_refused_with_compression_advice(tmp_path: Path) -> None:
    path = tmp_path / "plain.bcf"
    with gzip.open(shared("htsget/bcf/spec-v4.3.bcf"), "rb") as bcf:  # BGZF is multi-member gzip
        path.write_bytes(bcf.read())
    with pytest.raises(UnsupportedFileError, match="uncompressed BCF"):
        detect_format(path)


def _write_sam(bam: Path, sam: Path) -> None:
    with pysam.AlignmentFile(str(bam)) as source:
        header = source.header
        reads = [read for _, read in zip(range(5), source.fetch(until_eof=True), strict=False)]
    with pysam.AlignmentFile(str(sam), "w", header=header) as out:
        for read in reads:
            out.write(read)


def test_sam_text_is_refused_with_conversion_advice(tmp_path: Path) -> None:
    sam = tmp_path / "reads.sam"
    _write_sam(shared(BAM), sam)
    with pytest.raises(UnsupportedFileError, match="is SAM text; convert it to BAM or CRAM"):
        detect_format(sam)


def test_headerless_sam_text_is_refused_as_sam(tmp_path: Path) -> None:
    sam = tmp_path / "reads.sam"
    _write_sam(shared(BAM), sam)
    body = [line for line in sam.read_text().splitlines(True) if not line.startswith("@")]
    sam.write_text("".join(body))
    with pytest.raises(UnsupportedFileError, match="SAM text"):
        detect_format(sam)


def test_bgzipped_sam_is_refused_as_sam(tmp_path: Path) -> None:
    sam = tmp_path / "reads.sam"
    _write_sam(shared(BAM), sam)
    pysam.tabix_compress(str(sam), str(sam) + ".gz")
    with pytest.raises(UnsupportedFileError, match="bgzipped SAM"):
        detect_format(Path(str(sam) + ".gz"))


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.bam"
    path.touch()
    with pytest.raises(UnsupportedFileError, match="is empty"):
        detect_format(path)


def test_bgzf_with_only_the_eof_block_is_refused_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "eof-only.vcf.gz"
    path.write_bytes(bgzf_block(b""))
    with pytest.raises(UnsupportedFileError, match="contains no data"):
        detect_format(path)


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        detect_format(tmp_path / "absent.bam")


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileError, match="is a directory"):
        detect_format(tmp_path)


def test_unreadable_file_is_refused_with_permission_message(tmp_path: Path) -> None:
    path = tmp_path / "secret.bam"
    shutil.copyfile(shared(BAM), path)
    path.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(UnreadableFileError, match="permission denied"):
            detect_format(path)
        return
    # root reads mode-000 files through CAP_DAC_OVERRIDE: rerun as root without it.
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv (util-linux) is absent to drop CAP_DAC_OVERRIDE")
    code = (
        "import sys; from pathlib import Path\n"
        "from gdi_node.storage.formats import detect_format, UnreadableFileError\n"
        "try:\n    detect_format(Path(sys.argv[1]))\n"
        "except UnreadableFileError as exc:\n    print(exc.message); sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    caps = "--bounding-set=-dac_override,-dac_read_search"
    done = subprocess.run(
        [setpriv, caps, sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if "setpriv" in done.stderr:
        pytest.skip(f"running as root and cannot drop capabilities: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert "permission denied" in done.stdout
    assert str(path) in done.stdout


@pytest.mark.parametrize(
    "relative",
    ["htsget/bam/htsnexus_test_NA12878.bam.bai", "beacon/ega-test/datasets.json"],
)
def test_other_content_is_refused_as_not_a_genomic_format(relative: str) -> None:
    with pytest.raises(UnsupportedFileError, match="not BAM, CRAM, VCF or BCF"):
        detect_format(shared(relative))


def test_bgzf_with_unknown_payload_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "table.bed.gz"
    path.write_bytes(bgzf_block(b"chr1\t100\t200\n") + bgzf_block(b""))
    with pytest.raises(UnsupportedFileError, match="BGZF-compressed but not BAM, CRAM, VCF"):
        detect_format(path)


def test_cram_with_unknown_major_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.cram"
    path.write_bytes(b"CRAM\x09\x00" + bytes(20) + b"rest")
    with pytest.raises(UnsupportedFileError, match=r"CRAM version 9\.0"):
        detect_format(path)


def test_truncated_cram_file_definition_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.cram"
    path.write_bytes(b"CRAM\x03\x00")
    with pytest.raises(UnsupportedFileError, match="truncated"):
        detect_format(path)


def test_refusals_are_invalid_input_errors() -> None:
    assert issubclass(UnsupportedFileError, InvalidInputError)
    assert issubclass(UnreadableFileError, InvalidInputError)
