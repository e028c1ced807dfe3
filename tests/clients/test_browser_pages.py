"""The frequency browser in real headless Chromium against ``gdi-node demo`` (issue 21): search
to a variant page whose numbers equal the Beacon API's; gene page filters, sorting and CSV
export of exactly the rows shown; deep links loaded cold; signing in reveals the controlled
dataset and igv.js draws its reads; an anonymous user never sees a small count exactly; an
axe-core scan finds no serious violation; nothing is fetched from off the machine. Screenshots
are kept under ``artifacts/browser/``."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, func, select

from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.db.models import BeaconQueryBudget
from tests.api.test_beacon_api import with_budget
from tests.api.test_beacon_variant_identifiers import CSQ_HEADER as IDENTIFIERS_CSQ_HEADER
from tests.conftest import REPO_ROOT
from tests.support.beacon_data import write_vcf
from tests.support.htsget_setup import node_settings
from tests.support.igv_harness import skip_unless_browser_tools
from tests.support.processes import RunningNode, free_port, running_node
from tests.support.web_harness import drive, step_results

pytestmark = pytest.mark.slow
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
BEACON = "/ga4gh/beacon/v2"
PUBLIC, CONTROLLED = "GDI-XX-DEMO-1", "GDI-XX-DEMO-2"
FIELDS = ("alleleCount", "alleleNumber", "alleleFrequency", "alleleCountHomozygous",
          "alleleCountHeterozygous", "alleleCountHemizygous")  # fmt: skip
COUNTS = (
    "alleleCount",
    "alleleCountHomozygous",
    "alleleCountHeterozygous",
    "alleleCountHemizygous",
)
SMALL_COUNT_THRESHOLD = 5  # the demo's (the default of beacon.small_count_threshold)
# igv.js says so when a reference has sizes but no sequence (the files' own sizes, no FASTA)
IGV_NO_SEQUENCE = "No sequence for"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningNode, dict[str, Any]]]:
    skip_unless_browser_tools()
    workdir = tmp_path_factory.mktemp("browser-demo")
    port = free_port()
    with running_node(["demo", "--port", str(port), "--data-dir", "demo"], port, workdir) as node:
        facts = json.loads((workdir / "demo" / "demo.json").read_text(encoding="utf-8"))
        yield node, facts


def beacon_records(
    node: RunningNode, parameters: dict[str, Any], token: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The records of the Beacon query a page sends, per result set id."""
    body = {
        "meta": {"apiVersion": "v2.1.1"},
        "query": {
            "requestParameters": parameters,
            "requestedGranularity": "record",
            "pagination": {"skip": 0, "limit": 1000},
        },
    }
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.post(f"{node.base_url}{BEACON}/g_variants", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return {rs["id"]: rs["results"] for rs in answer.json()["response"]["resultSets"]}


def shown(item: dict[str, Any], field: str) -> str:
    """How the page writes a frequency item's field (English): an upper bound as ``≤ n``, a
    lower bound as ``≥ n``."""
    value = item[field]
    if field == "alleleFrequency":
        text = _frequency(value, up=field in item.get("upperBounds", []))
    else:
        text = f"{value:,}"
    if field in item.get("upperBounds", []):
        return f"≤ {text}"
    return f"≥ {text}" if field in item.get("lowerBounds", []) else text


def _frequency(value: float, *, up: bool) -> str:
    """Three significant digits, half up (JavaScript's ``toPrecision``), or up for an upper
    bound, which stays one."""
    if value == 0:
        return "0"
    exact = Decimal(repr(value))
    rounding = ROUND_CEILING if up else ROUND_HALF_UP
    rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - 2), rounding=rounding)
    if value >= 0.001:
        return str(rounded)
    mantissa = rounded.scaleb(-rounded.adjusted())
    return f"{mantissa}e-{-rounded.adjusted()}"


def offline(report: dict[str, Any]) -> None:
    """Nothing left the machine, no script failed, nothing logged an error but igv.js's
    note about the sequence it does not have."""
    assert report["offMachine"] == []
    assert report["pageErrors"] == []
    errors = [m["text"] for m in report["console"] if m["type"] == "error"]
    assert [e for e in errors if IGV_NO_SEQUENCE not in e] == []


def shot(name: str) -> dict[str, str]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return {"screenshot": str(ARTIFACTS / f"{name}.png")}


def test_search_leads_to_a_variant_page_whose_numbers_equal_the_beacon_record(
    demo: tuple[RunningNode, dict[str, Any]],
) -> None:
    node, _ = demo
    report = drive(
        [
            {"goto": f"{node.base_url}/browser/"},
            shot("front"),
            {"fill": "#q", "text": "1-5001-G-A"},
            {"waitFor": "#choices [role=option]"},
            {"text": "#choices [role=option]"},
            {"press": "ArrowDown"},
            {"press": "Enter"},
            {"waitForUrl": "/browser/variant/"},
            shot("variant"),
            {"cells": f"table.populations[data-dataset='{PUBLIC}']"},
            {"text": "h1"},
        ]
    )
    results = step_results(report)
    offline(report)
    assert results[4] == ["1-5001-G-A (GRCh38) variant page"]
    assert results[7]["url"].endswith("/browser/variant/GRCh38/1-5001-G-A")
    parameters = {"assemblyId": "GRCh38", "referenceName": "1", "start": [5000],
                  "referenceBases": "G", "alternateBases": "A"}  # fmt: skip
    (record,) = beacon_records(node, parameters)[PUBLIC]
    items = record["frequencyInPopulations"][0]["frequencies"]
    expected = [["All" if i is items[-1] else i["population"], *(shown(i, f) for f in FIELDS)]
                for i in items]  # fmt: skip
    assert results[9] == expected
    assert results[10][0] == "Variant 1-5001-G-A GRCh38"


# Runs in the page: every page of the variant table, as the pager shows them, cell texts per row.
ALL_PAGES = """(() => {
    const table = window.gdiBrowser.table;
    const rows = [];
    for (let page = 0; page < table.pages(); page++) {
        table.showPage(page);
        for (const tr of document.querySelectorAll('table.variants tbody tr')) {
            rows.push([...tr.children].map(td => td.textContent.trim()));
        }
    }
    table.showPage(0);
    return rows;
})()"""


AF_HEADING = "th[data-column=alleleFrequency]"
CONTROLLED_TABLE = f"table.populations[data-dataset='{CONTROLLED}']"


def _effects(record: dict[str, Any]) -> list[str]:
    return [e["label"] for e in record["molecularAttributes"]["molecularEffects"]]


def test_the_search_box_says_why_it_found_nothing(demo: tuple[RunningNode, dict[str, Any]]) -> None:
    node, _ = demo
    report = drive(
        [
            {"goto": f"{node.base_url}/browser/"},
            {"click": "#search button[type=submit]"},
            {"text": "#search-message"},
            {"fill": "#q", "text": "chr25:1-100"},
            {"press": "Enter"},
            {"waitFor": "#search-message:not(:empty)"},
            {"text": "#search-message"},
            {"evaluate": "document.getElementById('q').value = 'x'.repeat(600)"},
            {"press": "Enter"},
            {"evaluate": "new Promise(r => setTimeout(r, 500))"},
            {"text": "#search-message"},
            {"evaluate": "location.pathname"},
        ]
    )
    results = step_results(report)
    offline(report)
    assert results[2] == ["Type a gene, a region, a variant, an rsID or an HGVS expression."]
    assert results[6] == ["GRCh38 has no sequence 25."]
    assert results[10] == ["A search is at most 500 characters."]
    assert results[11] == "/browser/"  # nothing found: the page stays


def test_a_variant_page_tells_absent_from_not_covered(
    demo: tuple[RunningNode, dict[str, Any]],
) -> None:
    node, facts = demo
    token = facts["tokens"]["controlled"]
    absent = f"{node.base_url}/browser/variant/GRCh38/1-5001-G-T"  # G>A is there, G>T is not
    report = drive(
        [
            {"goto": absent},
            {"text": ".site-sets li"},
            {"text": "p.empty"},
            {"click": "#signin-open"},
            {"waitFor": "#signin-token"},
            {"evaluate": f"document.getElementById('signin-token').value = {json.dumps(token)}"},
            {"click": "#signin-dialog button[value=sign-in]"},
            {"waitFor": f".site-sets li:has-text('{CONTROLLED}')"},
            {"text": ".site-sets li"},
        ]
    )
    results = step_results(report)
    offline(report)
    assert results[1] == [
        f"{PUBLIC}: nobody carries it among the 16 chromosomes called at this site."
    ]
    assert results[2] == ["No dataset you may see holds this allele with a carrier."]
    # two patients were not called at chr1:5001 (./. in patients.vcf.gz): 18 of 20 people
    assert results[8] == [
        f"{PUBLIC}: nobody carries it among the 16 chromosomes called at this site.",
        f"{CONTROLLED}: nobody carries it among the 36 chromosomes called at this site.",
    ]


def _gene_rows(node: RunningNode) -> list[dict[str, Any]]:
    return beacon_records(node, {"geneId": "DEMOA"})[PUBLIC]


def test_the_gene_page_lists_the_beacon_records_and_filters_and_sorts_them(
    demo: tuple[RunningNode, dict[str, Any]],
) -> None:
    node, _ = demo
    records = _gene_rows(node)
    missense = [r for r in records
                if "missense variant" in _effects(r)]  # fmt: skip
    report = drive(
        [
            {"goto": f"{node.base_url}/browser/gene/DEMOA"},
            shot("gene"),
            {"evaluate": "window.gdiBrowser.table.shown.length"},
            {"click": "input[data-class=missense]"},
            {"evaluate": "window.gdiBrowser.table.shown.map(r => r.effects.join(','))"},
            {"click": "th[data-column=alleleFrequency] button"},
            {"click": "th[data-column=alleleFrequency] button"},
            {"evaluate": "window.gdiBrowser.table.shown.map(r => r.overall.alleleFrequency)"},
            {"text": "th[data-column=alleleFrequency]"},
            {"evaluate": f"document.querySelector('{AF_HEADING}').getAttribute('aria-sort')"},
            {"cells": "table.variants"},
            shot("gene-filtered-sorted"),
            {"click": "button[data-page=next]"},
            {"text": ".pager-rows"},
            {"cells": "table.variants"},
        ]
    )
    results = step_results(report)
    offline(report)
    assert results[2] == len(records) > 100
    effects = results[4]
    assert len(effects) == len(records) - len(missense)
    assert not any("missense" in e for e in effects)
    frequencies = results[7]
    assert frequencies == sorted(frequencies, reverse=True)
    assert results[9] == "descending"
    cells = results[10]
    assert len(cells) == min(100, len(effects))  # the first page
    assert results[13] == [f"Rows 101\u2013200 of {len(effects)}"]
    assert results[14][0] != cells[0]
    assert len(results[14]) == 100
    cells = cells + results[14]
    by_id = {r["variantInternalId"]: r for r in records}
    for row in cells:  # every number shown is the Beacon record's, in the page's notation
        chrom, pos, ref, alt = row[0].split("-")
        item = by_id[f"GRCh38:{chrom}:{pos}:{ref}:{alt}"]["frequencyInPopulations"][0][
            "frequencies"
        ][-1]
        assert row[4:10] == [shown(item, f) for f in FIELDS]


def test_the_gene_page_filters_by_frequency_range_and_pass(
    demo: tuple[RunningNode, dict[str, Any]],
) -> None:
    node, _ = demo
    records = _gene_rows(node)

    def overall(record: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = record["frequencyInPopulations"][0]["frequencies"][-1]
        return item

    passing = [r for r in records if r["info"]["filterStatus"] == ["PASS"]]
    report = drive(
        [
            {"goto": f"{node.base_url}/browser/gene/DEMOA"},
            {"click": "input[data-filter=passOnly]"},
            {"evaluate": "window.gdiBrowser.table.shown.length"},
            {"fill": "input[data-filter=afMin]", "text": "0.3"},
            {"fill": "input[data-filter=afMax]", "text": "0.5"},
            {"evaluate": "window.gdiBrowser.table.shown.map(r => r.id)"},
            {"text": ".table-count"},
        ]
    )
    results = step_results(report)
    offline(report)
    assert results[2] == len(passing)
    # kept: AF in [0.3, 0.5], or an upper bound above 0.5 whose true value may be in range
    expected = [
        r["variantInternalId"]
        for r in passing
        if overall(r)["alleleFrequency"] >= 0.3
        and (
            overall(r)["alleleFrequency"] <= 0.5
            or "alleleFrequency" in overall(r).get("upperBounds", [])
        )
    ]
    assert sorted(results[5]) == sorted(expected)
    assert 0 < len(expected) < len(passing)
    assert results[6] == [f"{len(expected)} of {len(records)} variants shown"]


def test_the_csv_export_holds_exactly_the_rows_shown(
    demo: tuple[RunningNode, dict[str, Any]],
) -> None:
    node, _ = demo
    report = drive(
        [
            {"goto": f"{node.base_url}/browser/gene/DEMOA"},
            {"click": "input[data-class=missense]"},
            {"click": "input[data-class=lof]"},
            {"click": "th[data-column=alleleCount] button"},
            {"evaluate": ALL_PAGES},
            {"download": "button[data-export=csv]"},
            {"download": "button[data-export=tsv]"},
        ]
    )
    results = step_results(report)
    offline(report)
    cells, exported, tab_separated = results[4], results[5], results[6]
    assert exported["name"] == "variants.csv"
    assert tab_separated["name"] == "variants.tsv"
    rows = list(csv.DictReader(io.StringIO(exported["text"])))
    assert len(cells) > 100  # more than one page: the export holds every page, in order
    assert [r["variant_id"].split(":", 1)[1].replace(":", "-") for r in rows] == [
        c[0] for c in cells
    ]
    for row, shown_row in zip(rows, cells, strict=True):
        assert row["genes"] == "DEMOA"
        assert row["consequences"].replace(";", ", ") == shown_row[2]
        for column, text in zip(
            ("ac", "an", "hom", "het", "hemi"),
            (shown_row[4], shown_row[5], *shown_row[7:10]),
            strict=True,
        ):
            exported = text.replace("≤ ", "<=").replace("≥ ", ">=").replace(",", "")
            assert row[column] == exported, (column, row, shown_row)
    tsv = list(csv.DictReader(io.StringIO(tab_separated["text"]), delimiter="\t"))
    assert tsv == rows


def test_deep_links_load_cold(demo: tuple[RunningNode, dict[str, Any]]) -> None:
    node, _ = demo
    base = f"{node.base_url}/browser"
    links = [
        f"{base}/variant/GRCh38/1-5001-G-A",
        f"{base}/region/GRCh38/1-5001-6000",
        f"{base}/gene/DEMOA?aminoacidChange=Arg37Glu",
        f"{base}/rsid/rs991005191",
        f"{base}/hgvs/DEMOT00001.1%3Ac.111G%3ET",
    ]
    for link in links:  # each in a browser of its own: nothing cached, nothing carried over
        report = drive(
            [
                {"goto": link},
                {"evaluate": "[document.body.dataset.state, window.gdiBrowser.rows.length]"},
            ]
        )
        results = step_results(report)
        offline(report)
        assert results[1][0] == "ready", (link, results)
        assert results[1][1] >= 1, (link, results)


def test_an_anonymous_user_never_sees_a_small_count_exactly(
    demo: tuple[RunningNode, dict[str, Any]],
) -> None:
    node, _ = demo
    report = drive(
        [
            {"goto": f"{node.base_url}/browser/region/GRCh38/1-5001-30000"},
            {"evaluate": ALL_PAGES},
            {"text": ".hidden-sets li"},
        ]
    )
    results = step_results(report)
    offline(report)
    rows = results[1]
    assert len(rows) > 100
    counts_at = [4, 7, 8, 9]  # AC, hom, het, hemi columns
    bounded = 0
    for row in rows:
        for column in counts_at:
            text = row[column]
            if text.startswith(("≤", "≥")):
                bounded += 1
                continue
            assert (
                int(text.replace(",", "")) == 0
                or int(text.replace(",", "")) >= SMALL_COUNT_THRESHOLD
            ), row
    assert bounded > 0  # the rule was exercised
    assert results[2] == [f"{CONTROLLED}: holds a match (your permits show only whether it does)."]


def _units_spent(facts: dict[str, Any]) -> int:
    """Risk units spent in the demo's budget window, by everybody (the tests' one address)."""
    engine = create_engine(facts["database_url"])
    with engine.connect() as connection:
        spent = connection.execute(select(func.coalesce(func.sum(BeaconQueryBudget.used), 0)))
        total = int(spent.scalar_one())
    engine.dispose()
    return total


def _settled_units(facts: dict[str, Any]) -> int:
    """The units spent once the workers have written what they counted (at most once a
    second, beacon/README.md "Query budget")."""
    time.sleep(2.5)
    return _units_spent(facts)


def test_a_page_spends_the_beacon_budget_its_query_costs_a_beacon_caller(
    demo: tuple[RunningNode, dict[str, Any]],
) -> None:
    node, facts = demo
    before = _settled_units(facts)
    report = drive([{"goto": f"{node.base_url}/browser/gene/DEMOB"}])
    step_results(report)
    after_page = _settled_units(facts)
    beacon_records(node, {"geneId": "DEMOB"})  # the page's query, asked by a Beacon client
    after_client = _settled_units(facts)
    assert after_page - before == after_client - after_page > 20  # rare alleles were revealed


@pytest.fixture
def frugal_node(tmp_path: Path) -> Iterator[RunningNode]:
    """A node whose anonymous budget (30 units, 20 per rare allele) one gene page spends."""
    port = free_port()
    settings = node_settings(tmp_path, f"http://127.0.0.1:{port}")
    settings = with_budget(settings, units=30, rare_cost=20)
    csq = "CSQ=T|missense_variant|MODERATE|GENE1|ENSG1|Transcript|ENST1.1|protein_coding|||"
    genotypes = "\t".join(["0/1"] + ["0/0"] * 19)  # one carrier: rare
    records = [f"chr22\t{100 * n}\t.\tA\tT\t.\tPASS\t{csq}\tGT\t{genotypes}" for n in (1, 2, 3)]
    vcf = write_vcf(tmp_path / "rare.vcf.gz", [f"S{i}" for i in range(20)], records,
                    headers=[IDENTIFIERS_CSQ_HEADER])  # fmt: skip
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "OPEN")
    data = settings.model_dump(mode="json")
    data["server"] = {**data["server"], "host": "127.0.0.1", "port": port}
    config = tmp_path / "node.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    with running_node(["--config", str(config), "serve"], port, tmp_path) as node:
        yield node


def test_a_spent_query_budget_is_said_on_the_page(frugal_node: RunningNode) -> None:
    page = f"{frugal_node.base_url}/browser/gene/GENE1"
    report = drive(
        [
            {"goto": page},  # answered (3 rare alleles: 61 units), which spends the budget
            {"evaluate": "window.gdiBrowser.rows.length"},
            {"goto": page},
            {"text": "p.error"},
            {"evaluate": "document.body.dataset.state"},
        ]
    )
    results = step_results(report)
    assert report["offMachine"] == []
    assert results[1] == 3
    (message,) = results[3]
    assert message.startswith("The query budget of this node is spent for now")
    assert "query budget exhausted: 61 of 30" in message
    assert results[4] == "error"


def test_signing_in_shows_the_controlled_dataset_and_igv_draws_its_reads(
    demo: tuple[RunningNode, dict[str, Any]],
) -> None:
    node, facts = demo
    token = facts["tokens"]["controlled"]
    page = f"{node.base_url}/browser/variant/GRCh38/1-10081-T-G"
    report = drive(
        [
            {"goto": page},
            {"evaluate": f'!!document.querySelector("{CONTROLLED_TABLE}")'},
            {"click": "#signin-open"},
            {"waitFor": "#signin-token"},
            {"evaluate": f"document.getElementById('signin-token').value = {json.dumps(token)}"},
            {"click": "#signin-dialog button[value=sign-in]"},
            {"waitFor": f"table.populations[data-dataset='{CONTROLLED}']"},
            {"cells": f"table.populations[data-dataset='{CONTROLLED}']"},
            {"text": ".signed-in"},
            {"waitFor": "#igv-view canvas"},
            {"evaluate": IGV_DRAWN},
            shot("signed-in-igv"),
            {"click": "#signin-out"},
            {"evaluate": f'!!document.querySelector("{CONTROLLED_TABLE}")'},
        ],
        timeout=60,
    )
    results = step_results(report)
    offline(report)
    assert results[1] is False
    parameters = {"assemblyId": "GRCh38", "referenceName": "1", "start": [10080],
                  "referenceBases": "T", "alternateBases": "G"}  # fmt: skip
    (record,) = beacon_records(node, parameters, token)[CONTROLLED]
    items = record["frequencyInPopulations"][0]["frequencies"]
    assert [row[1:] for row in results[7]] == [[shown(i, f) for f in FIELDS] for i in items]
    assert not any("≤" in cell for row in results[7] for cell in row)  # a grant shows exact counts
    assert results[8] == ["Signed in as demo-researcher: demo-controlled (file)"]
    drawn = results[10]
    assert drawn["alignments"] > 0, drawn
    assert {"demo.bam (demo-controlled)", "demo.cram (demo-controlled)"} <= set(drawn["tracks"])
    assert results[13] is False  # signed out: the controlled numbers are gone


# Runs in the page: wait until igv.js holds alignments for the view, then count them per track.
IGV_DRAWN = """new Promise(resolve => {
    const sleep = ms => new Promise(r => setTimeout(r, ms));
    const alignmentTracks = browser => browser.trackViews.filter(
        tv => tv.track && tv.track.type === 'alignment');
    const count = browser => alignmentTracks(browser).reduce((n, tv) => {
        const cache = tv.viewports[0].featureCache;
        const features = cache && cache.features;
        return n + (features && features.allAlignments ? features.allAlignments().length : 0);
    }, 0);
    const settled = browser => count(browser) > 0
        && alignmentTracks(browser).every(tv => !tv.viewports[0].loading);
    (async () => {
        // the igv.js browser is kept once createBrowser has resolved, after its first canvas
        for (let i = 0; i < 300; i++) {
            const browser = window.gdiBrowser.igv;
            if (browser && settled(browser)) break;
            await sleep(100);
        }
        const browser = window.gdiBrowser.igv;
        if (!browser) return {alignments: 0, tracks: [], error: 'no igv.js browser'};
        const named = browser.trackViews.filter(tv => tv.track && tv.track.name);
        return {alignments: count(browser), tracks: named.map(tv => tv.track.name)};
    })().then(resolve, error => resolve({alignments: 0, tracks: [], error: String(error)}));
})"""


@pytest.mark.parametrize(
    "path",
    [
        "/browser/",
        "/browser/?lang=da",
        "/browser/variant/GRCh38/1-5001-G-A",
        "/browser/gene/DEMOA?lang=da",
    ],
)
def test_an_axe_core_scan_finds_no_serious_violation(
    demo: tuple[RunningNode, dict[str, Any]], path: str
) -> None:
    node, _ = demo
    report = drive([{"goto": f"{node.base_url}{path}"}, {"axe": True}])
    results = step_results(report)
    offline(report)
    serious = [v for v in results[1] if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


def test_the_danish_page_speaks_danish_and_writes_danish_numbers(
    demo: tuple[RunningNode, dict[str, Any]],
) -> None:
    node, _ = demo
    report = drive(
        [
            {"goto": f"{node.base_url}/browser/variant/GRCh38/1-5001-G-A?lang=da"},
            shot("variant-da"),
            {"text": "table.populations thead th"},
            {"cells": f"table.populations[data-dataset='{PUBLIC}']"},
            {"evaluate": "document.documentElement.lang"},
        ],
        locale="da-DK",
    )
    results = step_results(report)
    offline(report)
    assert results[2][:4] == ["Population", "Allelantal", "Allelnummer", "Allelfrekvens"]
    assert results[3][0][0] == "Alle"
    assert "," in results[3][0][3]  # 0,438
    assert results[4] == "da"


def test_the_demo_prints_the_browser_url_first_and_its_root_opens_the_front_page(
    demo: tuple[RunningNode, dict[str, Any]],
) -> None:
    node, facts = demo
    printed = Path(node.log_path).read_text(encoding="utf-8").splitlines()
    assert printed[0] == f"Frequency browser: {node.base_url}/browser/"
    assert facts["urls"]["browser"] == f"{node.base_url}/browser/"
    report = drive([{"goto": f"{node.base_url}/"}, {"text": "h1"}, {"text": ".examples a"}])
    results = step_results(report)
    assert results[0]["url"] == f"{node.base_url}/browser/"
    assert results[1] == ["Allele frequencies of the national genome database"]
    assert results[2][0] == "DEMOA"
