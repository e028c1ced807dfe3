"""Callability (issue #18, decision record 0021): the allele number counts every genome whose
file speaks for the position, computed when asked. The issue's four single-sample files (a
variant carried by two of them, 0/1 and 1/1) answer AN 8 and AF 0.375 with a grant when
absent sites are stated to be reference, AN 4 when stated not called; a single-sample file
without a statement is refused. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gdi_node.app import create_app
from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.errors import InvalidInputError
from tests.api.test_beacon_api import beacon, passport
from tests.support.beacon_data import write_vcf
from tests.support.htsget_setup import node_settings

VARIANT = "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t{}"
OTHER = "chr22\t500\t.\tC\tT\t.\tPASS\t.\tGT\t{}"
FOUR = {"A": VARIANT.format("0/1"), "B": VARIANT.format("1/1"), "C": OTHER.format("0/1"),
        "D": OTHER.format("1/1")}  # fmt: skip
QUERY = "/g_variants?referenceName=22&start=99&referenceBases=A&alternateBases=G"


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Settings:
    return node_settings(tmp_path, "http://testserver", database_url)


def _four_files(folder: Path) -> list[Path]:
    return [write_vcf(folder / f"{name}.vcf.gz", [name], [line]) for name, line in FOUR.items()]


def _dataset_item(node: Settings, dataset: str) -> dict[str, Any]:
    """The whole dataset's frequency item of the allele, as a granted caller sees it."""
    with create_app(node, validate_responses=True).test_client(
        client=("127.0.0.1", 40000)
    ) as client:
        status, document = beacon(
            client, f"/datasets/{dataset}{QUERY}&requestedGranularity=record",
            headers=passport(node, [dataset]),
        )  # fmt: skip
    assert status == 200, document
    [record] = document["response"]["resultSets"][0]["results"]
    item: dict[str, Any] = record["frequencyInPopulations"][0]["frequencies"][-1]
    return item


@pytest.mark.parametrize(
    ("absent", "number", "frequency"), [("ref", 8, 0.375), ("nocall", 4, 0.75)]
)
def test_four_single_sample_files_answer_the_allele_number_their_statement_gives(
    node: Settings, tmp_path: Path, absent: str, number: int, frequency: float
) -> None:
    with migrated_sessions(node) as sessions:
        for path in _four_files(tmp_path):
            VcfIngestor(sessions).ingest(path, "CTRL", callability=Callability(absent=absent))
    item = _dataset_item(node, "CTRL")
    assert (item["alleleCount"], item["alleleNumber"]) == (3, number)
    assert item["alleleFrequency"] == frequency
    assert item["alleleCountHomozygous"] == 1
    assert "countPrecision" not in item  # a grant: exact


def test_a_single_sample_vcf_without_blocks_or_a_statement_is_refused(
    node: Settings, tmp_path: Path
) -> None:
    [first, *_] = _four_files(tmp_path)
    with (
        migrated_sessions(node) as sessions,
        pytest.raises(InvalidInputError, match=r"pass --absent ref .* or --absent nocall"),
    ):
        VcfIngestor(sessions).ingest(first, "CTRL")
