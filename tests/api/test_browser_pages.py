"""The frequency browser's HTTP side (openapi/browser.yaml, decision record 0032): every page is
the same HTML shell with its route as JSON data, served under a Content-Security-Policy that
allows this node only; URLs that name nothing answer 404 as a page saying why; search answers
and files follow the document; the gene reference is checked at start. Responses are
validated against the document (validate_responses=True)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gdi_node.app import create_app
from gdi_node.browser.api import asset_names
from gdi_node.config.settings import Settings, SettingsError
from tests.conftest import REPO_ROOT

CONFIG = re.compile(r'<script type="application/json" id="browser-config">(.*?)</script>', re.S)


@pytest.fixture
def browser_settings(
    make_settings: Callable[..., Settings], sqlite_url: str, tmp_path: Path
) -> Settings:
    genes = tmp_path / "genes.tsv"
    genes.write_text("symbol\tchrom\tstart\tend\nBRCA1\t17\t43044295\t43125483\n", encoding="utf-8")
    return make_settings(
        database_url=sqlite_url,
        browser={"genes": [{"assembly": "GRCh38", "path": str(genes)}], "region_limit": 100_000},
    )


@pytest.fixture
def web(browser_settings: Settings) -> Iterator[Any]:
    from gdi_node.bootstrap import migrated_sessions

    with migrated_sessions(browser_settings):
        pass
    with create_app(browser_settings, validate_responses=True).test_client() as client:
        yield client


def page_config(response: Any) -> dict[str, Any]:
    match = CONFIG.search(response.text)
    assert match, response.text[:500]
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def test_the_node_root_sends_a_person_to_the_browser(web: Any) -> None:
    response = web.get("/", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/browser/"


def test_pages_allow_scripts_styles_and_calls_from_this_node_only(web: Any) -> None:
    response = web.get("/browser/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "connect-src 'self' blob:;" in policy
    assert response.headers["referrer-policy"] == "no-referrer"
    assert not re.search(r"""(src|href)=["']https?://""", response.text)  # no CDN, nothing remote
    preloaded = re.findall(
        r'<link rel="modulepreload" href="/browser/assets/([a-z_]+\.js)">', response.text
    )
    assert set(preloaded) == {n for n in asset_names() if n.endswith(".js")} - {"browser.js"}
    assert re.findall(r"<script(?![^>]*application/json)[^>]*>", response.text) == [
        '<script type="module" src="/browser/assets/browser.js">'
    ]


def test_a_variant_page_carries_its_allele_for_the_beacon_query(web: Any) -> None:
    response = web.get("/browser/variant/GRCh38/chr17-43045712-t-c")
    assert response.status_code == 200
    route = page_config(response)["route"]
    assert route == {"kind": "variant", "assembly": "GRCh38", "chrom": "17", "pos": 43045712,
                     "ref": "T", "alt": "C"}  # fmt: skip


def test_a_malformed_or_impossible_variant_url_is_a_404_page_saying_why(web: Any) -> None:
    bad = web.get("/browser/variant/GRCh38/17-43045712-T")
    assert bad.status_code == 404
    assert bad.headers["content-type"].startswith("text/html")
    assert "is not a variant: write chrom-pos-ref-alt" in bad.text
    beyond = web.get("/browser/variant/GRCh38/21-48000000-A-G")
    assert beyond.status_code == 404
    assert "wrong assembly?" in beyond.text
    other = web.get("/browser/variant/GRCh37/17-43045712-T-C")
    assert other.status_code == 404
    assert "GRCh37 is not an assembly of this node" in other.text


def test_a_region_page_asks_a_range_query_and_refuses_regions_over_the_limit(web: Any) -> None:
    route = page_config(web.get("/browser/region/GRCh38/17-43044295-43125483"))["route"]
    assert route["parameters"] == {"assemblyId": "GRCh38", "referenceName": "17",
                                   "start": [43044294], "end": [43125483]}  # fmt: skip
    too_long = web.get("/browser/region/GRCh38/17-43044295-43225483")
    assert too_long.status_code == 404
    assert "at most 100,000" in too_long.text


def test_a_gene_page_names_where_the_reference_puts_the_gene(web: Any) -> None:
    route = page_config(web.get("/browser/gene/brca1?aminoacidChange=p.R1699W"))["route"]
    assert route["parameters"] == {"geneId": "BRCA1", "aminoacidChange": "R1699W"}
    assert "17:43,044,295-43,125,483 (GRCh38)" in route["note"]


def test_rsid_and_hgvs_pages_ask_the_beacon_by_their_parameter(web: Any) -> None:
    rsid = page_config(web.get("/browser/rsid/RS80357906"))["route"]
    assert rsid["parameters"] == {"variantAlternativeId": "rs80357906"}
    hgvs = page_config(web.get("/browser/hgvs/NM_007294.4%3Ac.5266dupC"))["route"]
    assert hgvs["parameters"] == {"genomicAlleleShortForm": "NM_007294.4:c.5266dupC"}
    assert web.get("/browser/rsid/80357906").status_code == 404


def test_pages_speak_danish_when_asked_or_when_the_browser_prefers_it(web: Any) -> None:
    asked = web.get("/browser/?lang=da")
    assert '<html lang="da">' in asked.text
    assert "Søg: gen, region" in asked.text
    assert page_config(asked)["messages"]["col.af"] == "Allelfrekvens"
    preferred = web.get("/browser/", headers={"Accept-Language": "da-DK,da;q=0.9,en;q=0.5"})
    assert '<html lang="da">' in preferred.text
    assert '<html lang="en">' in web.get("/browser/", headers={"Accept-Language": "de"}).text


def test_the_shell_cannot_be_broken_out_of_by_a_url(web: Any) -> None:
    attack = "</script><script>alert(1)</script>"
    response = web.get("/browser/gene/X%3Cb%3E", params={"aminoacidChange": attack})
    assert "<script>alert(1)" not in response.text
    assert "X<b>" not in response.text
    parameters = page_config(response)["route"]["parameters"]
    assert parameters == {"geneId": "X<b>", "aminoacidChange": attack}


def test_search_answers_follow_the_document(web: Any) -> None:
    answer = web.get("/browser/search?q=BRCA1").json()
    assert answer["choices"][0]["path"] == "/browser/gene/BRCA1"
    nothing = web.get("/browser/search?q=chr25:1-100&lang=da").json()
    assert nothing == {
        "query": "chr25:1-100",
        "choices": [],
        "message": "GRCh38 har ingen sekvens 25.",
    }
    assert web.get("/browser/search").status_code == 400


def test_every_shipped_file_is_served_and_no_other(web: Any) -> None:
    assert {"browser.js", "browser.css", "beacon.js"} <= set(asset_names())
    document = yaml.safe_load((REPO_ROOT / "openapi" / "browser.yaml").read_text(encoding="utf-8"))
    (name,) = document["paths"]["/assets/{name}"]["get"]["parameters"]
    assert name["schema"]["enum"] == list(asset_names())
    for name in asset_names():
        response = web.get(f"/browser/assets/{name}")
        assert response.status_code == 200
        assert response.content
    missing = web.get("/browser/assets/..%2Fapi.py")
    assert missing.status_code in (400, 404)
    assert missing.json()["status"] == missing.status_code  # an RFC 9457 problem


def test_a_gene_reference_that_cannot_be_read_stops_the_start_naming_the_key(
    make_settings: Callable[..., Settings], sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url=sqlite_url,
        browser={"genes": [{"assembly": "GRCh38", "path": str(tmp_path / "nope.gtf")}]},
    )
    with pytest.raises(SettingsError, match=r"browser.genes: .*nope.gtf"):
        create_app(settings)
