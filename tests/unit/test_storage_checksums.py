"""One-pass size, SHA-256 and MD5 (the DRS 1.5 checksum types) of registered files."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from gdi_node.errors import InvalidInputError, NotFoundError
from gdi_node.storage.checksums import FileDigest, digest_file

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SHARED_FILES = [
    "htsget/bam/htsnexus_test_NA12878.bam",
    "htsget/cram/htsnexus_test_NA12878.cram",
    "htsget/vcf/spec-v4.3.vcf.gz",
    "htsget/bcf/sample1-bcbio-cancer.bcf",
    "vcf/test_1000G_hg38.norm.ann.vcf.gz",
]


def shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} not present (../shared/data must sit beside the repository)")
    return path


@pytest.mark.parametrize("relative", SHARED_FILES)
def test_digests_equal_hashlib_over_the_whole_file(relative: str) -> None:
    path = shared(relative)
    data = path.read_bytes()
    digest = digest_file(path, chunk_size=64 * 1024)
    assert digest == FileDigest(
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
    )


def test_sha256_matches_sha256sum() -> None:
    path = shared(SHARED_FILES[0])
    tool = shutil.which("sha256sum")
    if tool is None:
        pytest.skip("sha256sum (coreutils) is not installed")
    done = subprocess.run([tool, str(path)], capture_output=True, text=True, check=True)
    assert digest_file(path).sha256 == done.stdout.split()[0]


def test_progress_reports_every_chunk_and_sums_to_the_size() -> None:
    path = shared(SHARED_FILES[0])
    chunk = 256 * 1024
    calls: list[int] = []
    digest = digest_file(path, progress=calls.append, chunk_size=chunk)
    assert sum(calls) == digest.size == path.stat().st_size
    assert len(calls) == -(-digest.size // chunk)
    assert all(0 < n <= chunk for n in calls)


def test_size_not_a_multiple_of_the_chunk_is_hashed_exactly(tmp_path: Path) -> None:
    path = tmp_path / "ten.bin"
    path.write_bytes(b"0123456789")
    calls: list[int] = []
    digest = digest_file(path, progress=calls.append, chunk_size=3)
    assert calls == [3, 3, 3, 1]
    assert digest.sha256 == hashlib.sha256(b"0123456789").hexdigest()


def test_empty_file_has_the_digests_of_empty_input(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.touch()
    calls: list[int] = []
    digest = digest_file(path, progress=calls.append)
    assert digest == FileDigest(0, hashlib.sha256().hexdigest(), "d41d8cd98f00b204e9800998ecf8427e")
    assert calls == []


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        digest_file(tmp_path / "absent")


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="is a directory"):
        digest_file(tmp_path)


def test_chunk_size_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        digest_file(tmp_path, chunk_size=0)
