"""``ingest files``: in-place registration, idempotency, change detection, all-or-nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gdi_node.bootstrap import open_ingestor
from gdi_node.config.settings import Settings
from gdi_node.db.catalogue import CatalogueRepository
from gdi_node.db.engine import make_engine, make_session_factory
from gdi_node.errors import ConflictError, InvalidInputError, NotFoundError
from gdi_node.storage.ingest import FileIngestor
from tests.conftest import shared_path


@pytest.fixture
def node_settings(database_url: str, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def ingestor(node_settings: Settings) -> Iterator[FileIngestor]:
    with open_ingestor(node_settings) as opened:
        yield opened


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A copy of the shared htsget test files: a national store we may touch."""
    target = tmp_path / "store"
    shutil.copytree(shared_path("data", "htsget"), target, ignore=shutil.ignore_patterns("c4gh"))
    return target


def object_count(settings: Settings) -> int:
    engine = make_engine(settings.effective_database_url)
    with make_session_factory(engine)() as session:
        count = CatalogueRepository(session).count_objects()
    engine.dispose()
    return count


def test_each_format_is_registered_in_place_with_checksums_and_index(
    ingestor: FileIngestor, store: Path, node_settings: Settings
) -> None:
    files = [
        store / "bam" / "htsnexus_test_NA12878.bam",
        store / "cram" / "htsnexus_test_NA12878.cram",
        store / "vcf" / "spec-v4.3.vcf.gz",
        store / "bcf" / "spec-v4.3.bcf",
    ]
    results = ingestor.ingest(files, "DS-PUBLIC")
    assert [r.format for r in results] == ["BAM", "CRAM", "VCF", "BCF"]
    for path, result in zip(files, results, strict=True):
        data = path.read_bytes()
        assert result.status == "registered"
        assert result.path == str(path.resolve())
        assert result.size == len(data)
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        assert result.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
        assert result.index_path is not None
        assert Path(result.index_path).is_file()
        assert not result.index_built
        assert result.drs_uri == f"drs://node.test/{result.object_id}"
    assert object_count(node_settings) == 4


def test_same_file_twice_is_one_object(ingestor: FileIngestor, store: Path) -> None:
    bam = store / "bam" / "htsnexus_test_NA12878.bam"
    first = ingestor.ingest([bam], "DS-PUBLIC")[0]
    again = ingestor.ingest([bam], "DS-PUBLIC")[0]
    assert again.status == "unchanged"
    assert again.object_id == first.object_id


def test_touched_but_identical_file_stays_unchanged(ingestor: FileIngestor, store: Path) -> None:
    vcf = store / "vcf" / "spec-v4.3.vcf.gz"
    first = ingestor.ingest([vcf], "DS-PUBLIC")[0]
    stat = vcf.stat()
    os.utime(vcf, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**9))  # older than its index: fine
    again = ingestor.ingest([vcf], "DS-PUBLIC")[0]
    assert (again.status, again.object_id, again.sha256) == (
        "unchanged",
        first.object_id,
        first.sha256,
    )


def test_changed_file_is_refused_without_update_and_recorded_with_it(
    ingestor: FileIngestor, tmp_path: Path
) -> None:
    source = shared_path("data", "htsget", "vcf", "spec-v4.3.vcf.gz")
    other = shared_path("data", "htsget", "vcf", "sample1-bcbio-cancer.vcf.gz")
    target = tmp_path / "calls.vcf.gz"
    shutil.copy(source, target)
    shutil.copy(source.with_name(source.name + ".tbi"), tmp_path / "calls.vcf.gz.tbi")
    first = ingestor.ingest([target], "DS-PUBLIC")[0]

    shutil.copy(other, target)
    shutil.copy(other.with_name(other.name + ".tbi"), tmp_path / "calls.vcf.gz.tbi")
    with pytest.raises(ConflictError, match="changed since it was registered"):
        ingestor.ingest([target], "DS-PUBLIC")
    updated = ingestor.ingest([target], "DS-PUBLIC", update=True)[0]
    assert updated.status == "updated"
    assert updated.object_id == first.object_id
    assert updated.sha256 == hashlib.sha256(other.read_bytes()).hexdigest()


def test_missing_index_is_built(ingestor: FileIngestor, tmp_path: Path) -> None:
    bam = tmp_path / "reads.bam"
    shutil.copy(shared_path("data", "htsget", "bam", "htsnexus_test_NA12878.bam"), bam)
    result = ingestor.ingest([bam], "DS-PUBLIC")[0]
    assert result.index_built
    assert result.index_path == str(tmp_path / "reads.bam.bai")


def test_a_bad_file_in_a_batch_registers_nothing(
    ingestor: FileIngestor, store: Path, tmp_path: Path, node_settings: Settings
) -> None:
    good = store / "bam" / "htsnexus_test_NA12878.bam"
    text = tmp_path / "notes.vcf.gz"
    text.write_text("hello\n")
    with pytest.raises(InvalidInputError, match=r"notes\.vcf\.gz"):
        ingestor.ingest([good, text], "DS-PUBLIC")
    with pytest.raises(NotFoundError):
        ingestor.ingest([good, tmp_path / "absent.bam"], "DS-PUBLIC")
    assert object_count(node_settings) == 0


def test_plain_gzip_vcf_is_refused(ingestor: FileIngestor, node_settings: Settings) -> None:
    plain = shared_path("data", "vcf", "test_1000G_hg38.norm.ann.vcf.gz")
    with pytest.raises(InvalidInputError, match="bgzip"):
        ingestor.ingest([plain], "DS-PUBLIC")
    assert object_count(node_settings) == 0


def test_unsorted_file_is_refused(
    ingestor: FileIngestor, tmp_path: Path, node_settings: Settings
) -> None:
    import pysam

    source = shared_path("data", "htsget", "bam", "htsnexus_test_NA12878.bam")
    unsorted = tmp_path / "unsorted.bam"
    with pysam.AlignmentFile(str(source)) as reader:
        records = [r for _, r in zip(range(400), reader.fetch("11"), strict=False)]
        with pysam.AlignmentFile(str(unsorted), "wb", header=reader.header) as writer:
            for record in reversed(records):
                writer.write(record)
    with pytest.raises(InvalidInputError, match="not sorted"):
        ingestor.ingest([unsorted], "DS-PUBLIC")
    assert object_count(node_settings) == 0


def test_unknown_dataset_is_refused(ingestor: FileIngestor, store: Path) -> None:
    with pytest.raises(NotFoundError, match="not declared"):
        ingestor.ingest([store / "bcf" / "spec-v4.3.bcf"], "NO-SUCH-DATASET")


def test_one_file_belongs_to_one_dataset(ingestor: FileIngestor, store: Path) -> None:
    bcf = store / "bcf" / "spec-v4.3.bcf"
    ingestor.ingest([bcf], "DS-PUBLIC")
    with pytest.raises(ConflictError, match="already registered in dataset 'DS-PUBLIC'"):
        ingestor.ingest([bcf], "DS-CONTROLLED")


def test_the_same_file_named_twice_is_refused(ingestor: FileIngestor, store: Path) -> None:
    bcf = store / "bcf" / "spec-v4.3.bcf"
    with pytest.raises(InvalidInputError, match="named twice"):
        ingestor.ingest([bcf, store / "bcf" / ".." / "bcf" / "spec-v4.3.bcf"], "DS-PUBLIC")


def test_progress_is_reported_per_file(node_settings: Settings, store: Path) -> None:
    from contextlib import contextmanager

    seen: dict[str, list[int]] = {}

    @contextmanager
    def progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
        seen[label] = [total, 0]

        def advance(n: int) -> None:
            seen[label][1] += n

        yield advance

    bam = store / "bam" / "htsnexus_test_NA12878.bam"
    with open_ingestor(node_settings, progress) as ingestor:
        ingestor.ingest([bam], "DS-PUBLIC")
    assert seen == {bam.name: [bam.stat().st_size, bam.stat().st_size]}
