"""The GDI allele-frequency network contract (decision record 0018), played as the GDI portal's
aggregated lookup (GenomicDataInfrastructure/gdi-userportal-dataset-discovery-service) plays it
through the Beacon Network: POST ``/g_variants`` with ``requestedGranularity: record``,
``includeResultsetResponses: HIT``, in two generations:

- the older one sends ``sexFilter``/``countryFilter`` (``scope: population``) and keeps, per
  result set, only the **last** frequency item (``BeaconGVariantsRequestMapper``);
- the newer one sends no filters, turns every frequency item into a row and keeps the rows
  whose label matches the user's country/sex by ``PopulationConstants.POPULATION_PATTERN``
  (``GVariantsRepository``).

Both read the counts as decimals. The numbers are checked against counts computed here from the
genotypes written, on SQLite and PostgreSQL; every response is validated by connexion against
openapi/beacon.yaml and here against the Beacon v2.1.1 schemas."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gdi_node.app import create_app
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.support.beacon_data import write_vcf
from tests.support.beacon_spec import assert_valid_records, assert_valid_response

BEACON = "/ga4gh/beacon/v2"
# the portal's pattern (PopulationConstants.POPULATION_PATTERN, case-insensitive)
PORTAL_PATTERN = re.compile(r"^(?:([A-Z]{2})(?:_([MF]))?|([MF]))$", re.IGNORECASE)
SAMPLES = [f"S{n}" for n in range(1, 17)]
# sexes in every spelling a sheet may use; S1..S12 born in DK, S13..S16 in SE
SEX = {s: ("female", "XY", "F", "m")[i % 4] for i, s in enumerate(SAMPLES)}
IS_FEMALE = {s: SEX[s] in ("female", "F") for s in SAMPLES}
COUNTRY = {s: "DK" if n <= 12 else "SE" for n, s in enumerate(SAMPLES, start=1)}
COMMON = dict(zip(SAMPLES, [  # chr22:100 A>G
    "0/1", "1/1", "0/1", "0/0", "1/1", "0/1", "0/0", "0/1",
    "0/1", "./.", "0/1", "0/0", "0/1", "1/1", "0/0", "0/1",
], strict=True))  # fmt: skip
RARE = {s: "0/1" if s == "S13" else "0/0" for s in SAMPLES}  # chr22:200 C>T, one SE woman
# chr22:300 G>A: two women (S1, S3) carry it, ten men: AC 2 of the women is recoverable as the
# dataset's AC 12 minus the men's 10 unless the sex items are left out (decision record 0022)
SUBTRACTABLE = dict.fromkeys(SAMPLES, "0/0") | dict.fromkeys(("S1", "S3"), "0/1")
SUBTRACTABLE |= dict.fromkeys(("S2", "S4", "S6", "S8", "S10", "S12"), "0/1")
SUBTRACTABLE |= {"S14": "1/1", "S16": "1/1"}
# chr22:400 T>C: every DK-born person heterozygous, nobody in SE: every cell 0 or >= 5
EVERY_CELL_SAFE = {s: "0/1" if COUNTRY[s] == "DK" else "0/0" for s in SAMPLES}
# chrX:5,000,000 C>T, outside the PARs: the men S2 and S4 carry it, written haploid and diploid;
# S6's 0/1 is his reference call (decision record 0023); women S1 0/1, S3 1/1
OUTSIDE_PAR = dict.fromkeys(SAMPLES, "0/0") | {"S1": "0/1", "S2": "1", "S3": "1/1", "S4": "1/1"}
OUTSIDE_PAR |= {"S6": "0/1", "S8": "0"}


def truth(
    genotypes: dict[str, str], members: list[str], *, one_copy_in_men: bool = False
) -> dict[str, int]:
    """Counts computed from the genotype strings: AC, AN, homozygotes, heterozygotes and
    (``one_copy_in_men``: chrX outside the PARs) hemizygous men, whose call is its first allele
    written, as ``bcftools +fixploidy`` makes it."""
    ac = an = hom = het = hemi = 0
    for sample in members:
        alleles = genotypes[sample].replace("|", "/").split("/")
        if one_copy_in_men and not IS_FEMALE[sample]:
            an += alleles[0] != "."
            ac += alleles[0] == "1"
            hemi += alleles[0] == "1"
            continue
        called = [a for a in alleles if a != "."]
        an += len(called)
        copies = called.count("1")
        ac += copies
        hom += copies == 2
        het += copies == 1
    return {"ac": ac, "an": an, "hom": hom, "het": het, "hemi": hemi}


def members(*, country: str | None = None, female: bool | None = None) -> list[str]:
    return [
        s
        for s in SAMPLES
        if (country is None or COUNTRY[s] == country) and (female is None or IS_FEMALE[s] is female)
    ]


@contextmanager
def contract_node(tmp: Path, database_url: str, *, threshold: int) -> Iterator[Any]:
    """A client of a node holding the genotypes in the PUBLIC dataset DK-NGC (label ``DK``)
    and in the REGISTERED dataset REG (anonymous callers: counts only)."""
    settings = Settings.model_validate({
        "data_dir": tmp / "data",
        "database_url": database_url,
        "public_url": "http://testserver",
        "datasets": [
            {"id": "DK-NGC", "name": "Danish National Genome Database",
             "security_level": "PUBLIC", "frequency_label": "DK"},
            {"id": "REG", "name": "Registered copy", "security_level": "REGISTERED"},
        ],
        "beacon": {"small_count_threshold": threshold, "budget": {"units": 1_000_000}},
        "trust": {"local_issuer": True, "residency": {"networks": ["127.0.0.0/8"]}},
    })  # fmt: skip
    records = [
        "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(COMMON[s] for s in SAMPLES),
        "chr22\t200\t.\tC\tT\t.\tPASS\t.\tGT\t" + "\t".join(RARE[s] for s in SAMPLES),
        "chr22\t300\t.\tG\tA\t.\tPASS\t.\tGT\t" + "\t".join(SUBTRACTABLE[s] for s in SAMPLES),
        "chr22\t400\t.\tT\tC\t.\tPASS\t.\tGT\t" + "\t".join(EVERY_CELL_SAFE[s] for s in SAMPLES),
        "chrX\t5000000\t.\tC\tT\t.\tPASS\t.\tGT\t" + "\t".join(OUTSIDE_PAR[s] for s in SAMPLES),
    ]
    vcf = write_vcf(tmp / "genomes.vcf.gz", SAMPLES, records)
    sheet = tmp / "samples.tsv"
    sheet.write_text(
        "sample\tsex\tcountry\n"
        + "".join(f"{s}\t{SEX[s]}\t{COUNTRY[s].lower()}\n" for s in SAMPLES),
        encoding="utf-8",
    )
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "DK-NGC", sample_sheet=sheet)
        VcfIngestor(sessions).ingest(vcf, "REG", sample_sheet=sheet)
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40000)) as client:
        yield client


def portal_request(
    position: int, ref: str, alt: str, filters: list[dict[str, Any]], chrom: str = "22"
) -> Any:
    """The body both portal generations build (request parameters as the portal passes them,
    the client model's default pagination)."""
    return {
        "meta": {"apiVersion": "2.0"},
        "query": {
            "requestParameters": {
                "referenceName": chrom, "start": [position - 1], "referenceBases": ref,
                "alternateBases": alt, "assemblyId": "GRCh38",
            },
            "filters": filters,
            "includeResultsetResponses": "HIT",
            "requestedGranularity": "record",
            "pagination": {"skip": 0, "limit": 1},
            "testMode": False,
        },
    }  # fmt: skip


def post(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(BEACON + "/g_variants", json=body)
    assert response.status_code == 200, response.text
    assert_valid_response(response.json())
    sets = response.json()["response"]["resultSets"] if "response" in response.json() else []
    assert_valid_records("g_variants", [r for s in sets for r in s["results"]])
    # the portal's client reads the numbers as BigDecimal
    document: dict[str, Any] = json.loads(response.text, parse_float=Decimal, parse_int=Decimal)
    return document


def older_portal(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per result set: the fields of the LAST frequency item (mapResultSetToVariant)."""
    out = {}
    for result_set in document.get("response", {}).get("resultSets", []):
        variant: dict[str, Any] = {}
        for result in result_set.get("results") or []:
            for fip in result["frequencyInPopulations"]:
                for frequency in fip["frequencies"]:
                    variant = {key: frequency.get(key) for key in FIELDS}
        out[result_set["id"]] = variant
    return out


def newer_portal(
    document: dict[str, Any], *, country: str | None, sex: str | None
) -> list[dict[str, Any]]:
    """One row per frequency item, kept when its label matches the user's country/sex by the
    portal's pattern (filterPopulationByCountryOfBirthAndSex)."""
    rows = [
        {"datasetId": result_set["id"], **{key: frequency.get(key) for key in FIELDS}}
        for result_set in document["response"]["resultSets"]
        for result in result_set["results"]
        for fip in result["frequencyInPopulations"]
        for frequency in fip["frequencies"]
    ]
    if country is None and sex is None:
        return rows
    kept = []
    for row in rows:
        match = PORTAL_PATTERN.match(row["population"] or "")
        if match is None:
            continue
        row_sex = match[2] or match[3]
        if country is not None and country.upper() != match[1]:
            continue
        if sex is not None and sex.upper() != row_sex:
            continue
        kept.append(row)
    return kept


FIELDS = (
    "population", "alleleFrequency", "alleleCount", "alleleNumber", "alleleCountHomozygous",
    "alleleCountHeterozygous", "alleleCountHemizygous",
)  # fmt: skip


def assert_counts(item: dict[str, Any], expected: dict[str, int]) -> None:
    assert item["alleleCount"] == expected["ac"]
    assert item["alleleNumber"] == expected["an"]
    assert item["alleleCountHomozygous"] == expected["hom"]
    assert item["alleleCountHeterozygous"] == expected["het"]
    assert item["alleleCountHemizygous"] == expected["hemi"]
    assert item["alleleFrequency"] == pytest.approx(Decimal(expected["ac"]) / expected["an"])


SEX_F = {"id": "sexFilter", "operator": "=", "value": "F", "scope": "population"}
SEX_FEMALE = {**SEX_F, "value": "female"}
COUNTRY_DK = {"id": "countryFilter", "operator": "=", "value": "DK", "scope": "population"}
COUNTRY_SE = {**COUNTRY_DK, "value": "SE"}


def test_older_portal_filters_narrow_to_the_population_and_its_last_item_is_that_population(
    tmp_path: Path, database_url: str
) -> None:
    with contract_node(tmp_path, database_url, threshold=1) as client:
        cases = [
            ([SEX_F, COUNTRY_DK], "DK_F", members(female=True)),  # DK: the dataset's label
            ([SEX_FEMALE], "DK_F", members(female=True)),
            ([COUNTRY_DK], "DK", SAMPLES),
            ([COUNTRY_SE], "SE", members(country="SE")),
            ([{**SEX_F, "value": "m"}, COUNTRY_SE], "SE_M", members(country="SE", female=False)),
        ]
        for filters, label, people in cases:
            document = post(client, portal_request(100, "A", "G", filters))
            variant = older_portal(document)["DK-NGC"]
            assert variant["population"] == label, filters
            assert_counts(variant, truth(COMMON, people))
            record = document["response"]["resultSets"][0]["results"][0]
            items = record["frequencyInPopulations"][0]["frequencies"]
            assert [i["population"] for i in items] == [label]  # that population only


def test_without_filters_the_dataset_wide_item_comes_last_for_the_older_portal(
    tmp_path: Path, database_url: str
) -> None:
    with contract_node(tmp_path, database_url, threshold=1) as client:
        document = post(client, portal_request(100, "A", "G", []))
        variant = older_portal(document)["DK-NGC"]
        assert variant["population"] == "DK"
        assert_counts(variant, truth(COMMON, SAMPLES))


def test_a_man_carrying_an_allele_on_chrx_outside_the_pars_is_hemizygous_in_every_item(
    tmp_path: Path, database_url: str
) -> None:
    """XY individuals count one chromosome outside the PARs, a carrier hemizygous whether his
    file wrote ``1`` or ``1/1``; women are diploid (decision record 0023)."""
    with contract_node(tmp_path, database_url, threshold=1) as client:
        document = post(client, portal_request(5_000_000, "C", "T", [], chrom="X"))
        rows = {r["population"]: r for r in newer_portal(document, country=None, sex=None)
                if r["datasetId"] == "DK-NGC"}  # fmt: skip
        whole = truth(OUTSIDE_PAR, SAMPLES, one_copy_in_men=True)
        assert (whole["ac"], whole["an"], whole["hemi"], whole["hom"]) == (5, 24, 2, 1)
        assert_counts(rows["DK"], whole)
        men = truth(OUTSIDE_PAR, members(female=False), one_copy_in_men=True)
        assert_counts(rows["DK_M"], men)
        assert_counts(rows["DK_F"], truth(OUTSIDE_PAR, members(female=True)))
        for sex, people in (("m", members(female=False)), ("F", members(female=True))):
            filtered = post(client, portal_request(5_000_000, "C", "T", [{**SEX_F, "value": sex}],
                                                   chrom="X"))  # fmt: skip
            expected = truth(OUTSIDE_PAR, people, one_copy_in_men=True)
            assert_counts(older_portal(filtered)["DK-NGC"], expected)


def test_newer_portal_rows_carry_every_population_under_labels_its_pattern_reads(
    tmp_path: Path, database_url: str
) -> None:
    with contract_node(tmp_path, database_url, threshold=1) as client:
        document = post(client, portal_request(100, "A", "G", []))
        rows = newer_portal(document, country=None, sex=None)
        dk = [r for r in rows if r["datasetId"] == "DK-NGC"]
        assert [r["population"] for r in dk] == ["DK_F", "DK_M", "SE", "SE_F", "SE_M", "DK"]
        assert all(PORTAL_PATTERN.match(r["population"]) for r in dk)
        expected = {
            "DK_F": members(female=True), "DK_M": members(female=False),
            "SE": members(country="SE"), "SE_F": members(country="SE", female=True),
            "SE_M": members(country="SE", female=False), "DK": SAMPLES,
        }  # fmt: skip
        for row in dk:
            assert_counts(row, truth(COMMON, expected[row["population"]]))
        # the user's filters, applied by the portal to the rows
        kept = newer_portal(document, country="se", sex="f")
        assert [r["population"] for r in kept if r["datasetId"] == "DK-NGC"] == ["SE_F"]
        kept = newer_portal(document, country="DK", sex=None)
        assert [r["population"] for r in kept if r["datasetId"] == "DK-NGC"] == [
            "DK_F", "DK_M", "DK"
        ]  # fmt: skip
        # the same numbers as the older portal's filtered request
        filtered = older_portal(post(client, portal_request(100, "A", "G", [COUNTRY_SE, SEX_F])))
        assert filtered["DK-NGC"] == {k: v for k, v in kept_row(dk, "SE_F").items() if k in FIELDS}


def kept_row(rows: list[dict[str, Any]], label: str) -> dict[str, Any]:
    (row,) = [r for r in rows if r["population"] == label]
    return row


@pytest.mark.parametrize(
    "filters",
    [
        [{**COUNTRY_DK, "value": "XX"}],  # a country nobody was born in
        [{**COUNTRY_DK, "value": "Denmark"}],  # not an ISO alpha-2 code
        [{**SEX_F, "value": "unknown"}],
        [SEX_F, {**SEX_F, "value": "M"}],  # nobody is both
    ],
)
def test_unknown_population_values_answer_empty_never_an_error(
    tmp_path: Path, sqlite_url: str, filters: list[dict[str, Any]]
) -> None:
    with contract_node(tmp_path, sqlite_url, threshold=1) as client:
        document = post(client, portal_request(100, "A", "G", filters))
        assert document["responseSummary"]["exists"] is False
        assert older_portal(document) == {}  # HIT: no result set hit


def test_small_scope_withholding_applies_to_a_population_narrowed_below_the_threshold(
    tmp_path: Path, database_url: str
) -> None:
    with contract_node(tmp_path, database_url, threshold=5) as client:
        # REG answers anonymous callers with counts: SE holds 4 people (< 5): withheld
        document = post(client, portal_request(100, "A", "G", [COUNTRY_SE]))
        sets = {s["id"]: s for s in document["response"]["resultSets"]}
        assert "REG" not in sets  # HIT: as if nothing were known
        assert "REG" in json.dumps(document.get("info", {}))  # the response says why
        # 8 women of 16 people: answered, counted
        document = post(client, portal_request(100, "A", "G", [SEX_F]))
        sets = {s["id"]: s for s in document["response"]["resultSets"]}
        assert sets["REG"]["exists"] is True
        assert sets["REG"]["results"] == []  # counts only


def test_anonymous_small_counts_are_bounded_and_heterozygotes_never_reveal_homozygotes(
    tmp_path: Path, database_url: str
) -> None:
    with contract_node(tmp_path, database_url, threshold=5) as client:
        document = post(client, portal_request(200, "C", "T", []))
        rows = {r["population"]: r for r in newer_portal(document, country=None, sex=None)
                if r["datasetId"] == "DK-NGC"}  # fmt: skip
        whole = rows["DK"]  # one carrier: at most 4
        expected = truth(RARE, SAMPLES)
        assert (whole["alleleCount"], whole["alleleNumber"]) == (4, expected["an"])
        assert whole["alleleCountHeterozygous"] == 4  # at most the allele count shown
        assert whole["alleleFrequency"] >= Decimal(expected["ac"]) / expected["an"]
        raw = document["response"]["resultSets"][0]["results"][0]
        item = raw["frequencyInPopulations"][0]["frequencies"][-1]
        assert item["countPrecision"] == "imprecise"
        assert "alleleCountHeterozygous" in item["upperBounds"]
        # chr22:100 in DK: AC 15 (>= 5) exact, 3 homozygotes bounded: het a lower bound
        document = post(client, portal_request(100, "A", "G", [COUNTRY_DK]))
        item = document["response"]["resultSets"][0]["results"][0]
        (dk,) = item["frequencyInPopulations"][0]["frequencies"]
        expected = truth(COMMON, SAMPLES)
        assert dk["alleleCount"] == expected["ac"]
        assert dk["alleleCountHomozygous"] == 4
        assert dk["alleleCountHeterozygous"] == expected["ac"] - 2 * 4 <= expected["het"]
        assert dk["lowerBounds"] == ["alleleCountHeterozygous"]


def test_filtering_terms_list_the_population_filters(tmp_path: Path, sqlite_url: str) -> None:
    with contract_node(tmp_path, sqlite_url, threshold=5) as client:
        response = client.get(BEACON + "/filtering_terms")
        assert response.status_code == 200
        assert_valid_response(response.json(), "filtering_terms")
        terms = {t["id"]: t for t in response.json()["response"]["filteringTerms"]}
        assert terms["sexFilter"]["scopes"] == ["genomicVariant"]
        assert terms["sexFilter"]["type"] == "alphanumeric"
        assert terms["countryFilter"]["scopes"] == ["genomicVariant"]


def test_population_filters_are_refused_outside_g_variants(tmp_path: Path, sqlite_url: str) -> None:
    with contract_node(tmp_path, sqlite_url, threshold=5) as client:
        body = {"meta": {"apiVersion": "2.0"}, "query": {"filters": [SEX_F]}}
        response = client.post(BEACON + "/individuals", json=body)
        assert response.status_code == 400
        assert "g_variants" in response.json()["error"]["errorMessage"]


SEX_M = {**SEX_F, "value": "M"}


def items_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The DK-NGC record's frequency items by population label ({} when it has none)."""
    (result_set,) = [s for s in document["response"]["resultSets"] if s["id"] == "DK-NGC"]
    (record,) = result_set["results"]
    return {
        item["population"]: item
        for populations in record.get("frequencyInPopulations", [])
        for item in populations["frequencies"]
    }


def test_group_items_that_would_give_a_small_count_away_by_subtraction_are_left_out(
    tmp_path: Path, database_url: str
) -> None:
    """The dataset's exact AC 12 minus the men's exact AC 10 would be the women's 2: for an
    anonymous caller the record lists the dataset item alone, and no population filter gets
    the sex or country items either (the same cells decide in every answer)."""
    with contract_node(tmp_path, database_url, threshold=5) as client:
        expected = truth(SUBTRACTABLE, SAMPLES)
        items = items_of(post(client, portal_request(300, "G", "A", [])))
        assert list(items) == ["DK"]
        assert items["DK"]["alleleCount"] == expected["ac"] == 12
        # AC exact (it gives nobody away on its own); the 2 homozygous men at most 4
        assert items["DK"]["upperBounds"] == ["alleleCountHomozygous"]
        for filters in ([SEX_M], [SEX_F], [COUNTRY_SE], [COUNTRY_SE, SEX_M]):
            document = post(client, portal_request(300, "G", "A", filters))
            assert items_of(document) == {}, filters  # the variant is there; its counts are not
        # the dataset's own label narrows nothing: that item is the dataset's
        items = items_of(post(client, portal_request(300, "G", "A", [COUNTRY_DK])))
        assert items["DK"]["alleleCount"] == 12


def test_group_items_are_listed_exact_when_every_cell_counts_zero_or_at_least_the_threshold(
    tmp_path: Path, database_url: str
) -> None:
    with contract_node(tmp_path, database_url, threshold=5) as client:
        items = items_of(post(client, portal_request(400, "T", "C", [])))
        assert list(items) == ["DK_F", "DK_M", "SE", "SE_F", "SE_M", "DK"]
        expected = {
            "DK_F": members(female=True), "DK_M": members(female=False),
            "SE": members(country="SE"), "SE_F": members(country="SE", female=True),
            "SE_M": members(country="SE", female=False), "DK": SAMPLES,
        }  # fmt: skip
        for label, item in items.items():
            assert_counts(item, truth(EVERY_CELL_SAFE, expected[label]))
            assert "countPrecision" not in item
        filtered = items_of(post(client, portal_request(400, "T", "C", [SEX_M])))
        assert filtered == {"DK_M": items["DK_M"]}


def test_a_grant_sees_every_item_exact_whatever_the_cells(
    tmp_path: Path, database_url: str
) -> None:
    """Threshold 1 stands for a caller whose counts are exact (a controlled-access grant)."""
    with contract_node(tmp_path, database_url, threshold=1) as client:
        items = items_of(post(client, portal_request(300, "G", "A", [])))
        assert items["DK_F"]["alleleCount"] == truth(SUBTRACTABLE, members(female=True))["ac"] == 2
        assert len(items) == 6
