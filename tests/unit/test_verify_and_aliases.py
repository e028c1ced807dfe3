"""``gdi-node verify`` (re-hash the catalogue's files) and what ingest records for DRS: index
objects and aliases. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gdi_node.bootstrap import migrated_sessions, open_ingestor
from gdi_node.cli import main
from gdi_node.config.settings import Settings
from gdi_node.db.catalogue import CatalogueRepository
from gdi_node.drs.entries import EntryLookup
from gdi_node.errors import InvalidInputError
from tests.conftest import shared_path


@pytest.fixture
def node(
    tmp_path: Path, make_settings: Callable[..., Settings], database_url: str
) -> tuple[Settings, Path, dict[str, Path]]:
    settings = make_settings(database_url=database_url)
    config = tmp_path / "node.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")), encoding="utf-8")
    store = tmp_path / "store"
    store.mkdir()
    files = {}
    for name in ("spec-v4.3.vcf.gz", "sample1-bcbio-cancer.vcf.gz"):
        source = shared_path("data", "htsget", "vcf", name)
        shutil.copy(source, store / name)
        shutil.copy(source.with_name(name + ".tbi"), store / f"{name}.tbi")
        files[name] = store / name
    return settings, config, files


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def test_ingest_registers_the_index_as_an_object_with_checksums(
    node: tuple[Settings, Path, dict[str, Path]],
) -> None:
    settings, _, files = node
    vcf = files["spec-v4.3.vcf.gz"]
    with open_ingestor(settings) as ingestor:
        first = ingestor.ingest([vcf], "DS-PUBLIC")[0]
        again = ingestor.ingest([vcf], "DS-PUBLIC")[0]
    assert first.index_object_id == again.index_object_id == f"{first.object_id}.tbi"
    with migrated_sessions(settings) as sessions, sessions() as session:
        index = CatalogueRepository(session).get_index(f"{first.object_id}.tbi")
        assert index is not None
        assert index.size == Path(f"{vcf}.tbi").stat().st_size
        assert index.format == "TBI"
        assert len(index.sha256) == 64


def test_aliases_are_the_file_name_plus_accessions_and_are_not_repeated(
    node: tuple[Settings, Path, dict[str, Path]],
) -> None:
    settings, config, files = node
    vcf = files["spec-v4.3.vcf.gz"]
    args = ["--config", str(config), "ingest", "files", str(vcf), "--dataset", "DS-PUBLIC"]
    code, out = run(*args, "--alias", "EGAF00000000001", "--json")
    assert code == 0
    (first,) = json.loads(out)["objects"]
    assert first["aliases"] == ["EGAF00000000001", "spec-v4.3.vcf.gz"]
    code, out = run(*args, "--alias", "EGAF00000000001", "--json")
    assert json.loads(out)["objects"][0]["aliases"] == first["aliases"]
    with migrated_sessions(settings) as sessions, sessions() as session:
        named = EntryLookup(session).named(["EGAF00000000001"])
        assert list(named["EGAF00000000001"]) == [first["object_id"]]


@pytest.mark.parametrize("alias", ["", "a/b", "tab\there", "x" * 256])
def test_bad_aliases_are_refused_before_anything_is_written(
    node: tuple[Settings, Path, dict[str, Path]], alias: str
) -> None:
    settings, _, files = node
    with open_ingestor(settings) as ingestor, pytest.raises(InvalidInputError, match="alias"):
        ingestor.ingest([files["spec-v4.3.vcf.gz"]], "DS-PUBLIC", aliases=[alias])
    with migrated_sessions(settings) as sessions, sessions() as session:
        assert CatalogueRepository(session).count_objects() == 0


def test_an_alias_names_one_file(node: tuple[Settings, Path, dict[str, Path]]) -> None:
    settings, _, files = node
    with open_ingestor(settings) as ingestor, pytest.raises(InvalidInputError, match="one file"):
        ingestor.ingest(list(files.values()), "DS-PUBLIC", aliases=["ACC1"])


def test_verify_reports_missing_resized_and_corrupted_files(
    node: tuple[Settings, Path, dict[str, Path]],
) -> None:
    settings, config, files = node
    with open_ingestor(settings) as ingestor:
        results = {r.path: r for r in ingestor.ingest(list(files.values()), "DS-PUBLIC")}
    code, out = run("--config", str(config), "verify")
    assert code == 0
    assert "4 files checked, 0 with problems" in out
    spec, cancer = files["spec-v4.3.vcf.gz"], files["sample1-bcbio-cancer.vcf.gz"]
    data = bytearray(spec.read_bytes())
    data[200] ^= 0x01
    spec.write_bytes(bytes(data))  # same size, other bytes
    with Path(f"{cancer}.tbi").open("ab") as handle:
        handle.write(b"x")  # the index grew
    code, out = run("--config", str(config), "verify", "--json")
    assert code == 1
    report = json.loads(out)
    verdicts = {f["object_id"]: f["verdict"] for f in report["files"]}
    assert verdicts[results[str(spec)].object_id] == "corrupted"
    assert verdicts[f"{results[str(cancer)].object_id}.tbi"] == "size-changed"
    assert report["problems"] == 2
    cancer.unlink()
    code, out = run("--config", str(config), "verify")
    assert code == 1
    assert f"missing      {results[str(cancer)].object_id}" in out
    code, out = run("--config", str(config), "verify", "--dataset", "DS-CONTROLLED")
    assert (code, out.strip()) == (0, "0 files checked, 0 with problems")
