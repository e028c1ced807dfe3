"""``gdi-node ingest metadata``: Beacon Friendly Format and Phenopackets v2 records, validated
against the Beacon v2.1.1 model schemas, all or nothing, idempotent; the EGA test set; the
filter index of a record. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from gdi_node.beacon.framework.entry_index import AGE, AGE_OF_ONSET, duration_days, index_record
from gdi_node.beacon.ingest.consent import ConsentRegistry
from gdi_node.beacon.ingest.metadata import MetadataIngestor, MetadataRejectedError
from gdi_node.bootstrap import migrated_sessions
from gdi_node.cli import main
from gdi_node.config.settings import Settings
from gdi_node.db.models import BeaconEntry, BeaconEntryTerm, BeaconEntryValue
from tests.conftest import shared_path
from tests.support.beacon_metadata import SEIZURE, write_metadata

EGA = ("individuals", "biosamples", "runs", "analyses", "cohorts", "datasets")


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(database_url=database_url)


def counts(settings: Settings) -> tuple[int, int, int]:
    with migrated_sessions(settings) as sessions, sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(BeaconEntry)) or 0,
            session.scalar(select(func.count()).select_from(BeaconEntryTerm)) or 0,
            session.scalar(select(func.count()).select_from(BeaconEntryValue)) or 0,
        )


def test_bad_records_are_reported_together_and_nothing_is_loaded(
    settings: Settings, tmp_path: Path
) -> None:
    good = write_metadata(tmp_path / "good")
    bad = tmp_path / "bad-individuals.json"
    bad.write_text(
        json.dumps(
            [
                {"id": "OK-1", "sex": {"id": "NCIT:C16576", "label": "female"}},
                {"sex": {"id": "NCIT:C16576", "label": "female"}},  # no id
                {"id": "NO-SEX"},  # the model requires sex
                {"id": "OK-1", "sex": {"id": "NCIT:C16576", "label": "female"}},  # twice
            ]
        ),
        encoding="utf-8",
    )
    orphan = tmp_path / "orphan-biosamples.json"
    orphan.write_text(
        json.dumps([{
            "id": "BS-X", "individualId": "NOBODY",
            "biosampleStatus": {"id": "EFO:0009654", "label": "reference sample"},
            "sampleOriginType": {"id": "UBERON:0000178", "label": "blood"},
        }]),
        encoding="utf-8",
    )  # fmt: skip
    with migrated_sessions(settings) as sessions, pytest.raises(MetadataRejectedError) as raised:
        MetadataIngestor(sessions).ingest([*good, bad, orphan], "DS-PUBLIC")
    problems = raised.value.problems
    assert any("bad-individuals.json[1]" in p and "'id'" in p for p in problems)
    assert any("NO-SEX" in p and "'sex' is a required property" in p for p in problems)
    assert any("'OK-1' also in bad-individuals.json[0]" in p for p in problems)
    assert any("'NOBODY' is not a loaded individual" in p for p in problems)
    assert len(problems) == 4
    assert counts(settings) == (0, 0, 0)  # the good files were not applied either


def test_the_same_files_twice_leave_the_same_state_and_changed_records_replace(
    settings: Settings, tmp_path: Path
) -> None:
    paths = write_metadata(tmp_path / "m")
    with migrated_sessions(settings) as sessions:
        first = MetadataIngestor(sessions).ingest(paths, "DS-PUBLIC")
        state = counts(settings)
        again = MetadataIngestor(sessions).ingest(paths, "DS-PUBLIC")
        assert (first.added, again.added, again.replaced, again.unchanged) == (44, 0, 0, 44)
        assert first.loaded == {
            "individual": 11, "biosample": 11, "run": 10, "analysis": 10, "cohort": 1,
            "dataset": 1,
        }  # fmt: skip
        assert counts(settings) == state
        individuals = paths[0]
        records = json.loads(individuals.read_text(encoding="utf-8"))
        records[0]["karyotypicSex"] = "XX"
        individuals.write_text(json.dumps(records), encoding="utf-8")
        changed = MetadataIngestor(sessions).ingest([individuals], "DS-PUBLIC")
        assert (changed.replaced, changed.unchanged) == (1, 9)
        with sessions() as session:
            terms = set(session.scalars(select(BeaconEntryTerm.term)))
    assert "karyotypicSex:XX" in terms


def test_the_ega_test_set_breaks_the_v2_1_1_schemas_and_loads_only_when_told_to(
    settings: Settings,
) -> None:
    folder = shared_path("data") / "beacon" / "ega-test"
    paths = [folder / f"{name}.json" for name in EGA]
    with migrated_sessions(settings) as sessions:
        with pytest.raises(MetadataRejectedError) as raised:
            MetadataIngestor(sessions).ingest(paths, "DS-PUBLIC")
        assert any("ageAtProcedure" in p for p in raised.value.problems)
        assert any("'TRUE' is not of type 'boolean'" in p for p in raised.value.problems)
        assert counts(settings) == (0, 0, 0)
        result = MetadataIngestor(sessions).ingest(paths, "DS-PUBLIC", accept_invalid=True)
    assert result.loaded == {
        "individual": 20, "biosample": 20, "run": 1, "analysis": 1, "cohort": 1, "dataset": 1,
    }  # fmt: skip
    assert len(result.warnings) == 100  # every individual and biosample, listed


def test_phenopackets_become_an_individual_and_its_biosamples(
    settings: Settings, tmp_path: Path
) -> None:
    paths = write_metadata(tmp_path / "m")
    phenopackets = [p for p in paths if p.name == "phenopackets.json"]
    with migrated_sessions(settings) as sessions:
        result = MetadataIngestor(sessions).ingest(phenopackets, "DS-PUBLIC")
        assert result.loaded == {"individual": 1, "biosample": 1}
        # a person with a record but no genotypes is known to the consent registry
        change = ConsentRegistry(sessions).opt_out(["IND-11", "NOBODY"])
        assert change.not_loaded == ["NOBODY"]  # recorded all the same
        with sessions() as session:
            rows = {
                e.entry_id: json.loads(e.document) for e in session.scalars(select(BeaconEntry))
            }
    assert rows["IND-11"]["sex"] == {"id": "NCIT:C20197", "label": "male"}
    assert rows["IND-11"]["phenotypicFeatures"][0]["featureType"]["id"] == SEIZURE
    assert rows["BS-11"]["individualId"] == "IND-11"
    assert rows["BS-11"]["collectionMoment"] == "P41Y"


def test_the_index_skips_absent_features_and_reads_ages_in_days() -> None:
    record = {
        "id": "I",
        "sex": {"id": "NCIT:C16576", "label": "female"},
        "karyotypicSex": "XX",
        "phenotypicFeatures": [
            {"featureType": {"id": "HP:0000001"}, "excluded": True},
            {"featureType": {"id": "HP:0000002"}, "onset": {"iso8601duration": "P2Y6M"}},
        ],
        "info": {"ignored": {"id": "HP:0000003"}},
    }
    index = index_record("individual", record)
    assert index.terms == {"NCIT:C16576", "HP:0000002", "karyotypicSex:XX"}
    assert (AGE_OF_ONSET, duration_days("P2Y6M"), None) in index.values
    assert (AGE, duration_days("P2Y6M"), None) in index.values
    assert duration_days("P1Y") == 365.25
    assert duration_days("P2W") == 14
    assert duration_days("P") is None
    assert duration_days("70") is None


def test_ingest_metadata_command_reports_problems_and_loads_when_told(
    settings: Settings, tmp_path: Path
) -> None:
    config = tmp_path / "node.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")), encoding="utf-8")
    folder = shared_path("data") / "beacon" / "ega-test"
    paths = [str(folder / f"{name}.json") for name in EGA]
    command = ["-c", str(config), "ingest", "metadata", *paths, "--dataset", "DS-PUBLIC"]
    refused = CliRunner().invoke(main, command)
    assert refused.exit_code != 0
    assert "100 problem(s); nothing was loaded" in refused.output
    loaded = CliRunner().invoke(main, [*command, "--accept-invalid"])
    assert loaded.exit_code == 0, loaded.output
    assert "20 biosample" in loaded.stdout
    assert "44 added" in loaded.stdout
    assert "warning: individuals.json[0]" in loaded.stderr
