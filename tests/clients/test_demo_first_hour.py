"""A newcomer's first hour (issue 17): ``gdi-node demo`` started as a person starts it, every
command it prints pasted into a shell, each output checked against what its label promises
(against the demo's files read locally, with their indexes), and the ``igv.html`` it writes
opened in headless Chromium with every request off this machine refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pysam
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from gdi_node.demo.runner import IDENTIFIERS
from tests.conftest import REPO_ROOT
from tests.support.catalogue import shape_violations
from tests.support.igv_harness import render_page, skip_unless_browser_tools
from tests.support.processes import free_port, running_node

pytestmark = pytest.mark.slow

REGION = ("chr1", 30_000, 40_000)  # what the htsget commands' labels name: chr1:30,001-40,000


class Demo:
    """What the checks compare the printed commands' output with: demo.json and the files."""

    def __init__(self, facts: dict[str, Any]) -> None:
        self.facts = facts
        self.files = Path(facts["files"]["reference"]).parent
        self.by_name = {Path(o["path"]).name: o for o in facts["objects"]}

    def samtools_count(self, *args: str) -> int:
        done = subprocess.run(
            ["samtools", "view", "-c", *args], capture_output=True, text=True, check=True
        )
        return int(done.stdout)

    def region_reads(self) -> int:
        contig, start, end = REGION
        return self.samtools_count(str(self.files / "demo.bam"), f"{contig}:{start + 1}-{end}")

    def all_reads(self) -> int:
        return self.samtools_count(str(self.files / "demo.bam"))

    def records(self, name: str) -> list[pysam.VariantRecord]:
        with pysam.VariantFile(str(self.files / name)) as vcf:
            return list(vcf)


Check = Callable[[str, Demo], None]


def _json(out: str) -> Any:
    return json.loads(out)


def _result_set(answer: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The result set of a demo dataset, named by its public identifier (decision record 0026)."""
    named = IDENTIFIERS[dataset]
    return next(s for s in answer["response"]["resultSets"] if s["id"] == named)


def _items(result_set: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        item
        for result in result_set.get("results", [])
        for source in result.get("frequencyInPopulations", [])
        for item in source["frequencies"]
    ]


def _shown_variant(demo: Demo, command: str) -> tuple[str, int, str, str]:
    variant_id = command.split("/g_variants/")[1].split("?", maxsplit=1)[0]
    _, chrom, pos, ref, alt = variant_id.split(":")
    return f"chr{chrom}", int(pos) - 1, ref, alt


def check_service_info(out: str, demo: Demo) -> None:
    assert _json(out)["name"] == "gdi-node demo"


def check_services(out: str, demo: Demo) -> None:
    artifacts = {s["type"]["artifact"] for s in _json(out)}
    assert {"beacon", "htsget", "drs", "service-registry"} <= artifacts


def check_ready(out: str, demo: Demo) -> None:
    assert _json(out)["status"] == "ok"


def check_permissions_anonymous(out: str, demo: Demo) -> None:
    answer = _json(out)
    assert answer["subject"] is None
    seen = {p["datasetId"]: p["disclosure"] for p in answer["permissions"]}
    assert seen == {"demo-public": "file", "demo-controlled": "boolean"}


def check_permissions_passport(out: str, demo: Demo) -> None:
    granted = {p["datasetId"]: p for p in _json(out)["permissions"]}
    assert granted["demo-controlled"]["audience"] == "controlled"
    assert granted["demo-controlled"]["disclosure"] == "file"


def check_htsget_bam_sent(out: str, demo: Demo) -> None:
    sent = int(out)  # whole blocks: at least the region, far less than the file
    assert demo.region_reads() <= sent < demo.all_reads() // 2, (sent, demo.all_reads())
    assert sent > demo.region_reads(), "the demo shows that htsget may send more than asked"


def check_htsget_region(out: str, demo: Demo) -> None:
    assert int(out) == demo.region_reads() > 1000


def check_htsget_vcf_contig(out: str, demo: Demo) -> None:
    lines = out.splitlines()
    expected = [r for r in demo.records("demo.vcf.gz") if r.chrom == "chr2"]
    assert {line.split("\t")[0] for line in lines} == {"chr2"}
    assert [int(line.split("\t")[1]) for line in lines] == [r.pos for r in expected]


def check_drs_object(out: str, demo: Demo) -> None:
    obj, expected = _json(out), demo.by_name["demo.vcf.gz"]
    assert obj["id"] == expected["id"]
    assert obj["self_uri"] == expected["drs_uri"]
    assert {"type": "sha-256", "checksum": expected["sha256"]} in obj["checksums"]


def check_drs_resolve(out: str, demo: Demo) -> None:
    expected = demo.by_name["demo.vcf.gz"]
    saved = Path(demo.facts["config_file"]).parent / "downloaded.vcf.gz"
    assert out.startswith(f"saved {saved} (")
    assert "sha-256 verified" in out
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == expected["sha256"]


def check_objects(out: str, demo: Demo) -> None:
    objects = [line for line in out.splitlines() if not line.startswith(" ")]
    aliases = [line.strip() for line in out.splitlines() if line.startswith(" ")]
    assert {line.split()[0] for line in objects} == {o["id"] for o in demo.facts["objects"]}
    assert len(aliases) == len(objects)  # each object with the names it is found by too
    assert all(line.startswith("aliases: ") for line in aliases)
    named = [line.removeprefix("aliases: ").split(", ") for line in aliases]
    assert any("demo.vcf.gz" in names for names in named)  # its file name resolves too


def check_beacon_info(out: str, demo: Demo) -> None:
    assert _json(out)["response"]["name"] == "gdi-node demo Beacon"


def check_frequencies_anonymous(out: str, demo: Demo) -> None:
    answer = _json(out)
    public = _items(_result_set(answer, "demo-public"))
    assert [item["population"] for item in public] == ["demo-public"], "no breakdown by sex"
    assert public[0]["countPrecision"] == "imprecise"
    assert "alleleCount" in public[0]["upperBounds"]
    assert public[0]["alleleCount"] == 4
    controlled = _result_set(answer, "demo-controlled")
    assert controlled["exists"] is True
    assert controlled["info"]["returnedGranularity"] == "boolean"
    assert _items(controlled) == []


def _check_frequencies_passport(out: str, demo: Demo, command: str) -> None:
    chrom, start, ref, alt = _shown_variant(demo, command)
    record = next(
        r
        for r in demo.records("patients.vcf.gz")
        if (r.chrom, r.start, r.ref, (r.alts or ("",))[0]) == (chrom, start, ref, alt)
    )
    items = {i["population"]: i for i in _items(_result_set(_json(out), "demo-controlled"))}
    whole = items["demo-controlled"]
    assert (whole["alleleCount"], whole["alleleNumber"]) == (
        record.info["AC"][0],
        record.info["AN"],
    )
    assert "countPrecision" not in whole, "a grant sees exact counts"
    assert 1 <= whole["alleleCount"] <= 4, "a count an anonymous caller would see as a bound"
    assert {"demo-controlled_F", "demo-controlled_M", "DK", "SE"} <= set(items)


def check_individuals_anonymous(out: str, demo: Demo) -> None:
    answer = _json(out)
    assert answer["responseSummary"]["exists"] is True
    controlled = _result_set(answer, "demo-controlled")
    assert controlled["info"]["returnedGranularity"] == "boolean"
    assert not controlled.get("results")


def check_individuals_passport(out: str, demo: Demo) -> None:
    answer = _json(out)
    assert answer["responseSummary"]["numTotalResults"] == 12
    results = _result_set(answer, "demo-controlled")["results"]
    assert len(results) == 10  # the first page
    assert {r["id"] for r in results} <= {f"DEMO-P{n:02d}" for n in range(1, 13)}
    assert all(r["phenotypicFeatures"] for r in results)


def check_sequence(out: str, demo: Demo) -> None:
    summary = _json(out)["responseSummary"]
    # one in demo-public, "at least one" from demo-controlled, seen as boolean
    assert summary["exists"] is True
    assert (summary["numTotalResults"], summary["countPrecision"]) == (2, "imprecise")


def check_range(out: str, demo: Demo) -> None:
    query = _json(out)["meta"]["receivedRequestSummary"]["requestParameters"]["g_variant"]
    start, end = query["start"][0], query["end"][0]
    alleles = sum(
        len(r.alts or ())
        for r in demo.records("demo.vcf.gz")
        if r.chrom == query["referenceName"] and start <= r.start < end
    )
    summary = _json(out)["responseSummary"]
    assert summary["numTotalResults"] == alleles + 1 > 10  # + "at least one" in demo-controlled
    assert summary["countPrecision"] == "imprecise"


def check_cohorts(out: str, demo: Demo) -> None:
    cohorts = {c["id"] for c in _json(out)["response"]["collections"]}
    assert cohorts == {"cohort-a", "cohort-b", "epilepsy", "controls"}


def check_catalogue(out: str, demo: Demo) -> None:
    identifier = IDENTIFIERS["demo-controlled"]
    graph = Graph().parse(data=out, format="turtle")
    dataset = URIRef(f"{demo.facts['base_url']}/fdp/dataset/{identifier}")
    assert graph.value(dataset, DCTERMS.identifier) == Literal(identifier)
    assert shape_violations(graph) == []


CHECKS: dict[str, Check] = {
    "service-info": check_service_info,
    "services": check_services,
    "ready": check_ready,
    "permissions-anonymous": check_permissions_anonymous,
    "permissions-passport": check_permissions_passport,
    "catalogue": check_catalogue,
    "htsget-bam-sent": check_htsget_bam_sent,
    "htsget-bam-region": check_htsget_region,
    "htsget-cram-region": check_htsget_region,
    "htsget-vcf-contig": check_htsget_vcf_contig,
    "drs-object": check_drs_object,
    "drs-resolve": check_drs_resolve,
    "objects": check_objects,
    "beacon-info": check_beacon_info,
    "beacon-frequencies-anonymous": check_frequencies_anonymous,
    "beacon-individuals-anonymous": check_individuals_anonymous,
    "beacon-individuals-passport": check_individuals_passport,
    "beacon-sequence": check_sequence,
    "beacon-range": check_range,
    "beacon-cohorts": check_cohorts,
}


def _require_tools() -> None:
    missing = [tool for tool in ("samtools", "bcftools") if shutil.which(tool) is None]
    if missing and os.environ.get("GDI_NODE_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{', '.join(missing)} not installed; run scripts/bootstrap")
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


def test_every_command_the_demo_prints_does_what_its_label_says_and_igv_html_draws_offline(
    tmp_path: Path,
) -> None:
    skip_unless_browser_tools()
    _require_tools()
    port = free_port()
    workdir = tmp_path / "newcomer"  # far from the repository, as a person's folder is
    workdir.mkdir()
    started = time.monotonic()
    with running_node(["demo", "--port", str(port), "--data-dir", "demo"], port, workdir) as node:
        up = time.monotonic() - started
        facts = json.loads((workdir / "demo" / "demo.json").read_text())
        demo = Demo(facts)
        printed = node.log_path.read_text()
        token = facts["tokens"]["controlled"]
        assert printed.count(token) == 1, "the passport is printed once"
        assert Path(facts["token_file"]).read_text() == token
        assert facts["export"] in printed
        assert "htsget may send more than the region asked for" in printed
        ids = [command["id"] for command in facts["commands"]]
        checks = {**CHECKS, "beacon-frequencies-passport": None}
        assert sorted(ids) == sorted(checks), "every printed command has its check"
        for command in facts["commands"]:
            assert f"  # {command['what']}\n  {command['run']}\n" in printed
            # as pasted into a shell, in another folder
            result = subprocess.run(
                ["bash", "-c", command["run"]],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, (command, result.stderr)
            assert "Traceback" not in result.stderr, command
            if command["id"] == "beacon-frequencies-passport":
                _check_frequencies_passport(result.stdout, demo, command["run"])
            else:
                CHECKS[command["id"]](result.stdout, demo)
        page = render_page(
            Path(facts["igv_page"]).as_uri(),
            screenshot=REPO_ROOT / "artifacts" / "igv" / "demo-page.png",
        )
        assert node.stop() == 0
    assert page["status"] == "done", page
    assert page["error"] is None, page
    assert page["pageErrors"] == [], page
    assert f"{facts['base_url']}/static/igv.min.js" in [r["url"] for r in page["requests"]]
    assert not [u for u in page["blockedRequests"] if "igv.min.js" in u or "jsdelivr" in u]
    tracks = {t["name"]: t for t in page["tracks"]}
    assert set(tracks) == {t["name"] for t in facts["igv"]["tracks"]}
    for track in tracks.values():
        assert track["drawn"] > 0, track
        assert track["paintedPixels"] > 0, track
    assert tracks["demo CRAM (as BAM)"]["drawn"] == tracks["demo BAM"]["drawn"]
    assert up < 60, f"the demo took {up:.0f} s to serve"
