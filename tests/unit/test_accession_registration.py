"""What registration does for the one id space (gdi_node.storage.names, decision record 0029):
aliases shaped like minted ids are refused before anything is written, aliases naming other
objects too are kept and reported. On SQLite and PostgreSQL."""

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
from gdi_node.errors import InvalidInputError
from gdi_node.storage.names import check_alias, objects_named
from tests.conftest import shared_path

SPEC_VCF = "spec-v4.3.vcf.gz"


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(database_url=database_url)


def copy_vcf(folder: Path, name: str = SPEC_VCF) -> Path:
    """The spec VCF and its index copied into ``folder`` as ``name``."""
    source = shared_path("data", "htsget", "vcf", SPEC_VCF)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, folder / name)
    shutil.copy(source.with_name(SPEC_VCF + ".tbi"), folder / f"{name}.tbi")
    return folder / name


def register(settings: Settings, path: Path, *aliases: str) -> str:
    with open_ingestor(settings) as ingestor:
        return ingestor.ingest([path], "DS-PUBLIC", aliases=list(aliases))[0].object_id


def object_count(settings: Settings) -> int:
    with migrated_sessions(settings) as sessions, sessions() as session:
        return CatalogueRepository(session).count_objects()


def test_an_alias_naming_other_objects_too_is_registered_and_reported(
    settings: Settings, tmp_path: Path
) -> None:
    """A sample's or person's id names all their files (the opt-out gate matches files by it),
    so it is not refused; the operator is told it does not address this file alone."""
    with open_ingestor(settings) as ingestor:
        first = ingestor.ingest([copy_vcf(tmp_path / "a")], "DS-PUBLIC", aliases=["NGC-000123"])
        second = ingestor.ingest(
            [copy_vcf(tmp_path / "b", "other.vcf.gz")], "DS-PUBLIC", aliases=["NGC-000123"]
        )
        again = ingestor.ingest([copy_vcf(tmp_path / "a")], "DS-PUBLIC")
    assert first[0].shared_aliases == ()
    assert second[0].shared_aliases == ("NGC-000123",)
    assert again[0].shared_aliases == ("NGC-000123",)
    with migrated_sessions(settings) as sessions, sessions() as session:
        named = objects_named(session, ["NGC-000123"])
    assert set(named["NGC-000123"]) == {first[0].object_id, second[0].object_id}


def test_files_in_different_folders_may_share_a_file_name(
    settings: Settings, tmp_path: Path
) -> None:
    first = register(settings, copy_vcf(tmp_path / "a"), "NGC-000001")
    second = register(settings, copy_vcf(tmp_path / "b"), "NGC-000002")
    with migrated_sessions(settings) as sessions, sessions() as session:
        named = objects_named(session, [SPEC_VCF, "NGC-000001", "NGC-000002"])
    assert set(named[SPEC_VCF]) == {first, second}  # ambiguous: answered 409, never guessed
    assert list(named["NGC-000001"]) == [first]
    assert list(named["NGC-000002"]) == [second]


def test_an_accession_may_be_added_again_to_its_own_object(
    settings: Settings, tmp_path: Path
) -> None:
    path = copy_vcf(tmp_path / "a")
    first = register(settings, path, "NGC-000123")
    assert register(settings, path, "NGC-000123", "EGAF00000000123") == first


@pytest.mark.parametrize(
    "alias",
    [
        "3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        "3F2B8A4E-1C2D-4E5F-8A9B-0C1D2E3F4A5B.bai",
        "3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b.bundle",
    ],
)
def test_an_alias_shaped_like_a_minted_id_is_refused(
    settings: Settings, tmp_path: Path, alias: str
) -> None:
    with pytest.raises(InvalidInputError, match="shape of an id the node mints"):
        register(settings, copy_vcf(tmp_path / "a"), alias)
    assert object_count(settings) == 0


@pytest.mark.parametrize("alias", ["NGC-000123", "EGAF00000000123", "SAMEA7654321", "x.bam"])
def test_accession_styles_are_accepted(alias: str) -> None:
    check_alias(alias)


def test_the_cli_tells_which_aliases_name_other_objects_too(
    settings: Settings, tmp_path: Path
) -> None:
    config = tmp_path / "node.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")), encoding="utf-8")
    register(settings, copy_vcf(tmp_path / "a"), "NGC-000123")
    path = copy_vcf(tmp_path / "b", "other.vcf.gz")
    args = ["--config", str(config), "ingest", "files", str(path), "--dataset", "DS-PUBLIC"]
    result = CliRunner().invoke(main, [*args, "--alias", "NGC-000123"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "also naming other objects (409 where ambiguous): NGC-000123" in result.stdout


def test_the_object_listing_shows_the_names_files_are_addressed_by(
    settings: Settings, tmp_path: Path
) -> None:
    config = tmp_path / "node.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")), encoding="utf-8")
    object_id = register(settings, copy_vcf(tmp_path / "a"), "NGC-000123", "EGAF00000000123")
    listing = CliRunner().invoke(main, ["--config", str(config), "objects", "--json"])
    (row,) = json.loads(listing.stdout)["objects"]
    assert (row["id"], row["aliases"]) == (object_id, ["EGAF00000000123", "NGC-000123", SPEC_VCF])
    text = CliRunner().invoke(main, ["--config", str(config), "objects"]).stdout
    assert f"aliases: EGAF00000000123, NGC-000123, {SPEC_VCF}" in text
