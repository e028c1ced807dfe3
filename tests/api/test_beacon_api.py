"""Beacon v2 over HTTP (in-process): framework endpoints, every kind of variant query in both
spellings and both POST shapes, per-dataset granularity from permits, small-count precision,
research opt-out, pagination and errors. Every response is validated by connexion against
openapi/beacon.yaml and here against the official Beacon v2.1.1 schemas (and VRS 1.3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gdi_node.app import create_app
from gdi_node.beacon.ingest.callability import Callability
from gdi_node.beacon.ingest.consent import ConsentRegistry
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.store.variant_rows import VariantRepository
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.models import BeaconVariant
from gdi_node.passport.local_issuer import LocalIssuer
from tests.conftest import shared_path
from tests.support.beacon_data import ANN_HEADER, write_vcf
from tests.support.beacon_spec import assert_valid_records, assert_valid_response
from tests.support.htsget_setup import node_settings

BEACON = "/ga4gh/beacon/v2"
SAMPLES = [f"S{n}" for n in range(1, 11)]
BRAF = (
    "ANN=T|missense_variant|MODERATE|BRAF|ENSG00000157764|transcript|ENST00000646891.2|"
    "protein_coding|15/18|c.1799T>A|p.Val600Glu|||||"
)
RECORDS = [
    # common SNV: 6 carriers (S1..S4 het, S5 S6 hom) -> AC 8
    "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 4 + ["1/1"] * 2 + ["0/0"] * 4),
    # rare annotated SNV: one carrier
    f"chr22\t200\t.\tA\tT\t.\tPASS\t{BRAF}\tGT\t" + "\t".join(["0/1"] + ["0/0"] * 9),
    # deletion of 2 bases, insertion of 3, an MNP
    "chr22\t300\t.\tATG\tA\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 5 + ["0/0"] * 5),
    "chr22\t400\t.\tC\tCTTT\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 5 + ["0/0"] * 5),
    "chr22\t500\t.\tAC\tGT\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 5 + ["0/0"] * 5),
    # a 4 kb symbolic deletion
    "chr22\t1000\t.\tN\t<DEL>\t.\tPASS\tEND=5000\tGT\t" + "\t".join(["0/1"] * 5 + ["0/0"] * 5),
    # seen in the VCF but carried by nobody
    "chr22\t600\t.\tG\tC\t.\tPASS\t.\tGT\t" + "\t".join(["0/0"] * 10),
]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return loaded_node(tmp_path_factory.mktemp("beacon"))


def loaded_node(tmp: Path, database_url: str | None = None) -> Settings:
    """A node with RECORDS in the PUBLIC dataset OPEN (ten samples, IND-1..IND-10) and one
    allele in the CONTROLLED dataset CTRL; records list cohort and free population items too
    (``beacon.frequencies.extra_groups``)."""
    settings = node_settings(tmp, "http://testserver", database_url)
    settings = with_budget(settings, units=1_000_000)
    frequencies = settings.beacon.frequencies.model_copy(update={"extra_groups": True})
    beacon = settings.beacon.model_copy(update={"frequencies": frequencies})
    settings = settings.model_copy(update={"beacon": beacon})
    vcf = write_vcf(tmp / "cohort.vcf.gz", SAMPLES, RECORDS, headers=[ANN_HEADER])
    sheet = tmp / "samples.tsv"
    sheet.write_text(
        "sample\tindividual_id\tpopulation\tcohorts\n"
        + "".join(
            f"S{n}\tIND-{n}\t{'EUR' if n <= 5 else 'AFR'}\t{'trio' if n <= 3 else ''}\n"
            for n in range(1, 11)
        ),
        encoding="utf-8",
    )
    controlled = write_vcf(tmp / "controlled.vcf.gz", ["C1", "C2"], [
        "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0",
    ])  # fmt: skip
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "OPEN", sample_sheet=sheet)
        VcfIngestor(sessions).ingest(controlled, "CTRL")
    return settings


@pytest.fixture(scope="module")
def client(node: Settings) -> Iterator[Any]:
    """A caller inside the residency networks: record level needs it for CONTROLLED data."""
    app = create_app(node, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40000)) as test_client:
        yield test_client


def with_budget(settings: Settings, **budget: int) -> Settings:
    beacon = settings.beacon.model_copy(
        update={"budget": settings.beacon.budget.model_copy(update=budget)}
    )
    return settings.model_copy(update={"beacon": beacon})


def passport(node: Settings, datasets: list[str], *, registered: bool = False) -> dict[str, str]:
    token = LocalIssuer.for_settings(node).passport(
        node, "beacon-user", datasets, registered=registered
    )
    return {"Authorization": f"Bearer {token}"}


def beacon(client: Any, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    if body is None:
        response = client.get(BEACON + path, **kwargs)
    else:
        response = client.post(BEACON + path, json=body, **kwargs)
    document = response.json()
    assert_valid_response(document) if response.status_code == 200 else assert_valid_response(
        document, "error"
    )
    return response.status_code, document


def found(client: Any, query: str, **kwargs: Any) -> list[str]:
    status, document = beacon(
        client, f"/g_variants?{query}&requestedGranularity=record&limit=100", **kwargs
    )
    assert status == 200, document
    results = [r for s in document["response"]["resultSets"] for r in s["results"]]
    assert_valid_records("g_variants", results)
    return sorted(r["variantInternalId"] for r in results)


def test_framework_endpoints_validate_against_the_beacon_v2_schemas(client: Any) -> None:
    for path, kind in [
        ("/", "info"),
        ("/info", "info"),
        ("/configuration", "configuration"),
        ("/map", "map"),
        ("/entry_types", "entry_types"),
        ("/filtering_terms", "filtering_terms"),
    ]:
        for body in (None, {"meta": {"apiVersion": "v2.1.1"}}):
            if body is None:
                response = client.get(BEACON + path)
            else:
                response = client.post(BEACON + path, json=body)
            assert response.status_code == 200, response.text
            assert_valid_response(response.json(), kind)
    info = client.get(BEACON + "/service-info").json()
    assert info["type"] == {"group": "org.ga4gh", "artifact": "beacon", "version": "2.1.1"}
    assert_valid_response(info, "service-info")
    entry_types = client.get(BEACON + "/entry_types").json()["response"]["entryTypes"]
    assert {"genomicVariant", "dataset"} <= set(entry_types)


def test_sequence_range_and_bracket_queries_find_the_overlapping_variants(client: Any) -> None:
    assert found(client, "referenceName=22&start=99&alternateBases=G") == ["GRCh38:22:100:A:G"]
    assert found(client, "referenceName=22&start=99&alternateBases=N") == ["GRCh38:22:100:A:G"]
    assert found(client, "referenceName=22&start=99&alternateBases=T") == []
    # a range catches variants that overlap it, also the 4 kb deletion starting before it
    assert found(client, "referenceName=22&start=2000&end=2100") == ["GRCh38:22:1000:N:<DEL>"]
    in_range = found(client, "referenceName=22&start=150&end=450")
    assert in_range == ["GRCh38:22:200:A:T", "GRCh38:22:300:ATG:A", "GRCh38:22:400:C:CTTT"]
    assert found(client, "referenceName=22&start=900,1100&end=4900,5100") == [
        "GRCh38:22:1000:N:<DEL>"
    ]
    assert found(client, "referenceName=22&start=900,1100&end=100,200") == []
    assert found(client, "referenceName=22&start=590&end=610") == []  # nobody carries it


def test_gene_aminoacid_and_hgvs_queries_accept_both_spellings(client: Any) -> None:
    expected = ["GRCh38:22:200:A:T"]
    assert found(client, "geneId=BRAF") == expected
    assert found(client, "geneid=BRAF") == expected
    assert found(client, "geneId=BRAF&aminoacidChange=V600E") == expected
    assert found(client, "geneId=BRAF&aminoacidChange=V600K") == []
    assert found(client, "genomicAlleleShortForm=NC_000022.11:g.200A>T") == expected
    assert found(client, "allele=NC_000022.11:g.200A>T") == expected
    assert found(client, "allele=NC_000022.11:g.301_302del") == ["GRCh38:22:300:ATG:A"]
    # a referenceName next to an HGVS form narrows by sequence only (no start needed)
    assert found(client, "referenceName=22&allele=NC_000022.11:g.200A>T") == expected
    assert found(client, "referenceName=X&allele=NC_000022.11:g.200A>T") == []


def test_variant_types_with_ontology_terms_and_lengths_select_variants(client: Any) -> None:
    region = "referenceName=22&start=0&end=10000"
    assert found(client, f"{region}&variantType=SNP") == ["GRCh38:22:100:A:G", "GRCh38:22:200:A:T"]
    assert found(client, f"{region}&variantType=SO:0001483") == found(
        client, f"{region}&variantType=SNP"
    )
    assert found(client, f"{region}&variantType=INDEL") == [
        "GRCh38:22:300:ATG:A",
        "GRCh38:22:400:C:CTTT",
    ]
    assert found(client, f"{region}&variantType=MNP") == ["GRCh38:22:500:AC:GT"]
    assert found(client, f"{region}&variantType=EFO:0030067") == ["GRCh38:22:1000:N:<DEL>"]
    assert found(client, f"{region}&variantType=DEL&variantMinLength=100") == [
        "GRCh38:22:1000:N:<DEL>"
    ]
    assert found(client, f"{region}&variantMinLength=3&variantMaxLength=3") == [
        "GRCh38:22:400:C:CTTT"
    ]


def test_reference_names_and_assemblies_resolve_alike(client: Any) -> None:
    expected = ["GRCh38:22:100:A:G"]
    for name in ("22", "chr22", "NC_000022.11", "refseq:NC_000022.11"):
        for assembly in ("GRCh38", "hg38", "GCF_000001405.26"):
            query = f"referenceName={name}&assemblyId={assembly}&start=99&alternateBases=G"
            assert found(client, query) == expected
    assert found(client, "referenceName=22&assemblyId=GRCh37&start=99&alternateBases=G") == []


def test_post_accepts_flat_and_nested_request_parameters(client: Any) -> None:
    parameters = {"referenceName": "chr22", "start": [99], "end": [120]}
    for request_parameters in (parameters, {"g_variant": parameters}):
        body = {
            "meta": {"apiVersion": "v2.1.1"},
            "query": {"requestParameters": request_parameters, "requestedGranularity": "count"},
        }
        status, document = beacon(client, "/g_variants", body)
        assert status == 200
        # OPEN counts 1; CTRL (boolean for anonymous callers) adds an imprecise "at least 1"
        assert document["responseSummary"] == {
            "exists": True,
            "numTotalResults": 2,
            "countPrecision": "imprecise",
            "countAdjustedTo": [1],
        }


def test_records_carry_frequencies_per_population_and_cohort(client: Any, node: Settings) -> None:
    path = "/g_variants/GRCh38:22:100:A:G?requestedGranularity=record"
    status, document = beacon(client, path)
    assert status == 200
    sets = {s["id"]: s for s in document["response"]["resultSets"]}
    assert sets["CTRL"]["results"] == []  # CTRL answers anonymous callers boolean only
    (record,) = sets["OPEN"]["results"]
    frequencies = {f["population"]: f for f in record["frequencyInPopulations"][0]["frequencies"]}
    overall = frequencies["OPEN"]
    assert (overall["alleleCount"], overall["alleleNumber"]) == (8, 20)
    assert overall["alleleFrequency"] == pytest.approx(0.4)
    # 2 homozygotes (S5, S6) is below 5: "at most 4", never shown as if 4 were counted
    assert overall["alleleCountHomozygous"] == 4
    assert (overall["countPrecision"], overall["countAdjustedTo"]) == ("imprecise", [4])
    assert overall["upperBounds"] == ["alleleCountHomozygous"]
    # EUR's exact AC 6 next to the dataset's 8 would give AFR's 2 away: anonymous callers see
    # the dataset item alone (complementary suppression, decision record 0022)
    assert list(frequencies) == ["OPEN"]
    _, granted = beacon(client, path, headers=passport(node, ["OPEN"]))
    (record,) = next(s for s in granted["response"]["resultSets"] if s["id"] == "OPEN")["results"]
    groups = {f["population"]: f for f in record["frequencyInPopulations"][0]["frequencies"]}
    assert groups["OPEN population EUR"]["alleleCount"] == 6  # S1-S4 het, S5 hom
    afr = groups["OPEN population AFR"]  # S6 hom
    assert (afr["alleleCount"], afr["alleleNumber"], afr["alleleCountHomozygous"]) == (2, 10, 1)
    assert groups["OPEN cohort trio"]["alleleCount"] == 3  # S1-S3 het
    assert all("countPrecision" not in item for item in groups.values())


def test_small_allele_counts_are_imprecise_unless_the_caller_holds_a_grant(
    client: Any, node: Settings
) -> None:
    def braf_overall(**kwargs: Any) -> dict[str, Any]:
        _, document = beacon(
            client, "/g_variants?geneId=BRAF&requestedGranularity=record", **kwargs
        )
        record = document["response"]["resultSets"][0]["results"][0]
        return record["frequencyInPopulations"][0]["frequencies"][-1]

    anonymous = braf_overall()
    assert (anonymous["alleleCount"], anonymous["countPrecision"]) == (4, "imprecise")
    assert anonymous["countAdjustedTo"] == [4]
    granted = braf_overall(headers=passport(node, ["OPEN"]))
    assert granted["alleleCount"] == 1
    assert "countPrecision" not in granted


def test_each_dataset_answers_at_its_own_permitted_granularity(client: Any, node: Settings) -> None:
    query = "/g_variants?referenceName=22&start=99&alternateBases=G&requestedGranularity=record"
    _, anonymous = beacon(client, query + "&includeResultsetResponses=ALL")
    sets = {s["id"]: s for s in anonymous["response"]["resultSets"]}
    assert sets["OPEN"]["resultsCount"] == 1
    assert sets["OPEN"]["results"]
    assert sets["CTRL"]["exists"] is True
    assert sets["CTRL"]["results"] == []
    assert sets["CTRL"]["countPrecision"] == "imprecise"
    assert sets["CTRL"]["info"] == {"returnedGranularity": "boolean"}
    _, registered = beacon(
        client,
        query + "&includeResultsetResponses=ALL",
        headers=passport(node, [], registered=True),
    )
    ctrl = {s["id"]: s for s in registered["response"]["resultSets"]}["CTRL"]
    assert ctrl["info"] == {"returnedGranularity": "count"}
    assert ctrl["resultsCount"] == 1
    _, granted = beacon(client, query, headers=passport(node, ["CTRL"]))
    ctrl = {s["id"]: s for s in granted["response"]["resultSets"]}["CTRL"]
    assert ctrl["results"][0]["variantInternalId"] == "GRCh38:22:100:A:G"
    _, boolean = beacon(client, "/g_variants?referenceName=22&start=99&alternateBases=G")
    assert boolean["responseSummary"] == {"exists": True}
    assert boolean["meta"]["returnedGranularity"] == "boolean"


def test_opt_out_takes_effect_at_once_and_opt_in_restores(client: Any, node: Settings) -> None:
    query = "/g_variants?geneId=BRAF&requestedGranularity=count"
    assert beacon(client, query)[1]["responseSummary"]["numTotalResults"] == 1
    with migrated_sessions(node) as sessions:
        registry = ConsentRegistry(sessions)
        registry.opt_out(["IND-1"], "withdrew consent")
        try:
            assert beacon(client, query)[1]["responseSummary"] == {
                "exists": False,
                "numTotalResults": 0,
                "countPrecision": "exact",
            }
            _, common = beacon(client, "/g_variants/GRCh38:22:100:A:G?requestedGranularity=record")
            overall = common["response"]["resultSets"][0]["results"][0]
            whole = overall["frequencyInPopulations"][0]["frequencies"][-1]  # the dataset: last
            assert whole["population"] == "OPEN"
            assert (whole["alleleCount"], whole["alleleNumber"]) == (7, 18)
        finally:
            registry.opt_in(["IND-1"])
    assert beacon(client, query)[1]["responseSummary"]["numTotalResults"] == 1


@pytest.mark.parametrize(
    ("opted_out", "expected"),
    [
        (["IND-1"], 5),  # the one-carrier allele of S1 goes; five-carrier ones keep four
        (["IND-2"], 6),  # S1 still carries the rare allele: its bitmap is read and kept
        ([f"IND-{n}" for n in range(1, 6)], 1),  # only the allele S6 carries remains
    ],
)
def test_counts_around_opt_outs_come_from_the_database_and_equal_the_bitmap_answer(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    opted_out: list[str],
    expected: int,
) -> None:
    """An allele with more carriers than the dataset has opted-out samples keeps a consenting
    one; only alleles with fewer are checked against the bitmaps."""
    node = loaded_node(tmp_path, database_url)
    region = "/datasets/OPEN/g_variants?referenceName=22&start=0&end=10000"
    with migrated_sessions(node) as sessions:
        ConsentRegistry(sessions).opt_out(opted_out, "withdrew consent")
    with create_app(node, validate_responses=True).test_client() as client:
        # records need every matching row's bitmaps: that answer is the reference
        _, listed = beacon(client, f"{region}&requestedGranularity=record&limit=100")
        monkeypatch.setattr(VariantRepository, "find", _never)  # counts read only the few
        _, counted = beacon(client, f"{region}&requestedGranularity=count")
    assert listed["responseSummary"]["numTotalResults"] == expected
    assert counted["responseSummary"]["numTotalResults"] == expected


def _never(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("a count around opt-outs read every matching row")


def test_pagination_skips_pages_and_the_total_is_not_the_page_size(client: Any) -> None:
    base = "/datasets/OPEN/g_variants?referenceName=22&start=0&end=10000"
    base += "&requestedGranularity=record&limit=2"
    pages = []
    for skip in range(4):
        _, document = beacon(client, f"{base}&skip={skip}")
        assert document["responseSummary"]["numTotalResults"] == 6
        pages.append(
            [r["variantInternalId"] for r in document["response"]["resultSets"][0]["results"]]
        )
    assert [len(p) for p in pages] == [2, 2, 2, 0]
    assert len({v for p in pages for v in p}) == 6


def test_bad_requests_get_the_beacon_error_envelope(client: Any) -> None:
    cases = [
        ("/individuals/IND-1/g_variants", 400, "needs a variant query"),
        ("/g_variants?referenceName=22&start=100&end=50", 400, "greater than start"),
        ("/g_variants?referenceName=22&start=100", 400, "alternateBases"),
        ("/g_variants?referenceName=22&start=1&end=9&assemblyId=hg17", 400, "unknown assemblyId"),
        ("/g_variants?referenceName=22&start=1&end=9&variantType=XYZ", 400, "unknown variantType"),
        ("/g_variants?geneId=BRAF&filters=XYZ:0001250", 400, "not a filtering term"),
        ("/g_variants/not-a-variant", 404, "ids look like"),
        ("/datasets/NOPE", 404, "no dataset"),
        ("/g_variants?referenceName=22&start=x&end=9", 400, ""),
    ]
    for path, status, message in cases:
        got, document = beacon(client, path)
        assert got == status, (path, document)
        assert document["error"]["errorCode"] == status
        assert message in document["error"]["errorMessage"]


def test_datasets_list_what_the_caller_may_know_of(client: Any) -> None:
    status, document = beacon(client, "/datasets")
    assert status == 200
    assert [d["id"] for d in document["response"]["collections"]] == ["OPEN", "CTRL"]
    assert_valid_records("datasets", document["response"]["collections"])
    _, variants = beacon(
        client,
        "/datasets/OPEN/g_variants?referenceName=22&start=99&alternateBases=G&requestedGranularity=record",
    )
    assert [s["id"] for s in variants["response"]["resultSets"]] == ["OPEN"]


def test_1000_genomes_frequencies_match_its_info_fields(tmp_path: Path) -> None:
    path = shared_path("data", "vcf", "test_1000G_hg38.norm.ann.vcf.gz")
    settings = node_settings(tmp_path, "http://testserver")
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(path, "OPEN")
    with create_app(settings, validate_responses=True).test_client() as test_client:
        _, document = beacon(
            test_client,
            "/g_variants?referenceName=chr22&start=10516172&alternateBases=G&requestedGranularity=record",
        )
    record = document["response"]["resultSets"][0]["results"][0]
    assert_valid_records("g_variants", [record])
    overall = record["frequencyInPopulations"][0]["frequencies"][-1]
    assert (overall["alleleCount"], overall["alleleNumber"]) == (121, 5096)  # INFO AC, AN
    assert round(overall["alleleFrequency"], 2) == 0.02  # INFO AF


def test_stored_carrier_counts_and_bitmaps_find_the_same_variants(
    client: Any, node: Settings
) -> None:
    """Without opt-outs the node counts from stored carrier counts; with one it intersects
    bitmaps. An opt-out of someone who carries nothing must not change what is found."""
    query = "/datasets/OPEN/g_variants?referenceName=22&start=0&end=10000"

    def seen() -> tuple[int, list[tuple[str, int]]]:
        _, document = beacon(client, query + "&requestedGranularity=record&limit=50")
        records = document["response"]["resultSets"][0]["results"]
        counts = [
            (
                r["variantInternalId"],
                r["frequencyInPopulations"][0]["frequencies"][-1]["alleleCount"],
            )
            for r in records
        ]
        return document["responseSummary"]["numTotalResults"], counts

    light = seen()
    with migrated_sessions(node) as sessions:
        registry = ConsentRegistry(sessions)
        registry.opt_out(["IND-10"])  # S10 carries no variant
        try:
            assert seen() == light
        finally:
            registry.opt_in(["IND-10"])


def test_an_allele_stored_twice_counts_once_in_counts_and_pages(
    tmp_path: Path, database_url: str
) -> None:
    """An allele brought by two files of a dataset, or twice by one file, is one variant: one
    row, counted and paged once."""
    settings = node_settings(tmp_path, "http://testserver", database_url)
    two = ["S1", "S2"]
    first = write_vcf(tmp_path / "first.vcf.gz", two, [
        "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0",
        "chr22\t200\t.\tA\tT\t.\tPASS\t.\tGT\t0/1\t0/0",
    ])  # fmt: skip
    second = write_vcf(tmp_path / "second.vcf.gz", two, [
        "chr22\t300\t.\tC\tT\t.\tPASS\t.\tGT\t0/0\t0/1",
    ])  # fmt: skip
    # other people (the same people on an overlapping span would be a re-analysis)
    again = write_vcf(tmp_path / "again.vcf.gz", ["S3", "S4"], [
        "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/0\t1/1",
    ])  # fmt: skip
    doubled = write_vcf(tmp_path / "doubled.vcf.gz", ["C1"], [
        "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1",
        "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1",
    ])  # fmt: skip
    query = "/g_variants?referenceName=22&start=0&end=1000&requestedGranularity=record"

    def answer(client: Any, dataset: str) -> tuple[int, list[str]]:
        granted = passport(settings, [dataset])
        _, document = beacon(client, f"/datasets/{dataset}{query}&limit=50", headers=granted)
        results = document["response"]["resultSets"][0]["results"]
        return document["responseSummary"]["numTotalResults"], [
            r["variantInternalId"] for r in results
        ]

    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(first, "OPEN")
        VcfIngestor(sessions).ingest(second, "OPEN")
        VcfIngestor(sessions).ingest(doubled, "CTRL", callability=Callability(absent="nocall"))
        with sessions() as session:  # one row per allele and dataset (decision record 0020)
            assert session.scalar(select(func.count()).select_from(BeaconVariant)) == 4
        with create_app(settings, validate_responses=True).test_client(
            client=("127.0.0.1", 40000)
        ) as client:
            assert answer(client, "OPEN")[0] == 3
            assert answer(client, "CTRL") == (1, ["GRCh38:22:100:A:G"])
            VcfIngestor(sessions).ingest(again, "OPEN")
            total, ids = answer(client, "OPEN")
            assert (total, len(ids), len(set(ids))) == (3, 3, 3)
            _, counted = beacon(client, f"/datasets/OPEN{query.replace('record', 'count')}")
            assert counted["responseSummary"]["numTotalResults"] == 3
