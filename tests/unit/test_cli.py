"""The ``gdi-node`` command line, run in-process with click's runner."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gdi_node.cli import main
from gdi_node.config.settings import Settings
from gdi_node.db.migrate import head_revision
from tests.conftest import shared_path


@pytest.fixture
def config_file(tmp_path: Path, make_settings: Callable[..., Settings], database_url: str) -> Path:
    data = make_settings(database_url=database_url).model_dump(mode="json")
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_every_command() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for command in ("serve", "demo", "config", "db", "ingest", "objects"):
        assert command in out


def test_config_check_accepts_a_valid_file(config_file: Path) -> None:
    code, out, _ = run("config", "check", str(config_file))
    assert code == 0
    assert "valid" in out
    assert "DS-PUBLIC" in out


def test_config_check_names_the_bad_key_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: 99999\ndatasets: [{id: X}]\n", encoding="utf-8")
    code, _, err = run("config", "check", str(bad))
    assert code == 1
    assert "server.port" in err
    assert "datasets.0.name" in err


def test_db_upgrade_reports_the_revision(config_file: Path) -> None:
    code, out, _ = run("--config", str(config_file), "db", "upgrade")
    assert code == 0
    assert f"revision {head_revision()}:" in out  # the newest migration


def test_ingest_files_prints_ids_and_drs_uris_as_json(config_file: Path, tmp_path: Path) -> None:
    vcf = tmp_path / "calls.vcf.gz"
    source = shared_path("data", "htsget", "vcf", "spec-v4.3.vcf.gz")
    shutil.copy(source, vcf)
    shutil.copy(source.with_name(source.name + ".tbi"), tmp_path / "calls.vcf.gz.tbi")
    args = ["--config", str(config_file), "ingest", "files", str(vcf), "--dataset", "DS-PUBLIC"]
    code, out, _ = run(*args, "--json")
    assert code == 0
    (obj,) = json.loads(out)["objects"]
    assert obj["status"] == "registered"
    assert obj["drs_uri"] == f"drs://node.test/{obj['object_id']}"

    code, out, _ = run(*args)
    assert code == 0
    assert out.split()[:2] == ["unchanged", obj["object_id"]]
    assert obj["drs_uri"] in out

    code, out, _ = run("--config", str(config_file), "objects", "--json")
    assert [o["id"] for o in json.loads(out)["objects"]] == [obj["object_id"]]
    code, out, _ = run("--config", str(config_file), "objects", "--dataset", "DS-CONTROLLED")
    assert out == ""


def test_ingest_of_a_missing_file_fails_with_a_clear_message(
    config_file: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.cram"
    code, _, err = run(
        "--config", str(config_file), "ingest", "files", str(missing), "--dataset", "DS-PUBLIC"
    )
    assert code == 1
    assert str(missing) in err
    code, out, _ = run("--config", str(config_file), "objects", "--json")
    assert json.loads(out) == {"objects": []}


def test_version_is_printed() -> None:
    code, out, _ = run("--version")
    assert code == 0
    assert out.startswith("gdi-node, version ")
