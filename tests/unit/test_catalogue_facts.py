"""The catalogue's live facts on both databases: alleles with a carrier, people without the
opted-out, files, the last change; recounted when the Beacon generation moves."""

from __future__ import annotations

from pathlib import Path

from gdi_node.bootstrap import migrated_sessions, open_ingestor
from gdi_node.catalogue.store import FactsStore
from tests.support.catalogue import catalogued_settings, load_controlled, load_open, opt_out


def test_facts_count_alleles_with_a_carrier_and_people_without_opt_outs(
    tmp_path: Path, database_url: str
) -> None:
    settings = catalogued_settings(tmp_path, "http://testserver", database_url)
    load_open(settings, tmp_path)
    load_controlled(settings, tmp_path)
    with migrated_sessions(settings) as sessions:
        store = FactsStore(sessions)
        facts = store.facts(["OPEN", "CTRL"])
        assert (facts["OPEN"].records, facts["OPEN"].individuals) == (2, 8)
        assert (facts["CTRL"].records, facts["CTRL"].individuals) == (1, 3)
        assert not facts["OPEN"].has_files
        loaded = facts["OPEN"].modified
        assert loaded is not None
        assert loaded.tzinfo is not None

        opt_out(settings, "IND-3", "C1")
        after = store.facts(["OPEN", "CTRL"])
        assert (after["OPEN"].individuals, after["CTRL"].individuals) == (7, 2)
        assert after["OPEN"].modified is not None
        assert after["OPEN"].modified >= loaded  # an opt-out changes the record

        with open_ingestor(settings) as ingestor:
            ingestor.ingest([tmp_path / "open.vcf.gz"], "OPEN")
        assert store.facts(["OPEN"])["OPEN"].has_files  # files are read every time


def test_a_dataset_without_data_has_zero_counts_and_no_modification_time(
    tmp_path: Path, database_url: str
) -> None:
    settings = catalogued_settings(tmp_path, "http://testserver", database_url)
    with migrated_sessions(settings) as sessions:
        facts = FactsStore(sessions).facts(["OPEN"])["OPEN"]
    assert (facts.records, facts.individuals, facts.has_files, facts.modified) == (
        0,
        0,
        False,
        None,
    )
