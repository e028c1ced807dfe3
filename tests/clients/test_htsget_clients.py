"""Real htsget clients against ``gdi-node serve`` on loopback: samtools, bcftools (htslib
detects the ticket at an ordinary http URL) and the PyPI ``htsget`` client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pysam
import pytest
import yaml

from gdi_node.bootstrap import open_ingestor
from gdi_node.config.settings import Settings
from gdi_node.passport.local_issuer import LocalIssuer
from tests.conftest import shared_path
from tests.support.htsget_setup import Registered, node_settings, register
from tests.support.processes import free_port, running_node

pytestmark = pytest.mark.slow
HTSGET_CLIENT = Path(sys.executable).with_name("htsget")


@pytest.fixture(params=["object id", "accession"])
def served(
    node_process: tuple[Any, Registered], request: pytest.FixtureRequest
) -> tuple[Any, Registered]:
    """The node, its files addressed by the ids it minted or by the accessions they were
    registered under: every client test runs through both (decision record 0029)."""
    node, registered = node_process
    return node, registered.addressed_by(request.param)


@pytest.fixture(scope="module", params=["main-port", "data-listener"])
def node_process(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Any, Registered]]:
    """``gdi-node serve``: one worker with data on the main port, or two workers sharing a
    zero-copy data listener (ticket URLs then point at its port)."""
    shared_path("data", "htsget")
    tmp = tmp_path_factory.mktemp("clients")
    port = free_port()
    settings = node_settings(tmp, f"http://127.0.0.1:{port}")
    registered = register(settings, tmp / "store")
    twin = tmp / "elsewhere" / registered.paths["bam"].name  # its file name now names two files
    twin.parent.mkdir()
    shutil.copy(registered.paths["bam"], twin)
    shutil.copy(f"{registered.paths['bam']}.bai", f"{twin}.bai")
    with open_ingestor(settings) as ingestor:
        ingestor.ingest([twin], "OPEN")
    config = tmp / "node.yaml"
    data = settings.model_dump(mode="json")
    data["server"]["port"] = port
    if request.param == "data-listener":
        data["server"]["workers"] = 2
        data["htsget"]["data_listener"] = {"port": free_port()}
        registered.settings = Settings.model_validate(data)
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    with running_node(["--config", str(config), "serve"], port, tmp) as node:
        yield node, registered


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # no reference downloads from EBI: the test CRAM embeds its reference
        env={**os.environ, "REF_PATH": "/nonexistent/%s", **(env or {})},
    )


def local_count(path: Path, contig: str, start: int, end: int) -> int:
    with pysam.AlignmentFile(str(path)) as reader:
        return sum(1 for _ in reader.fetch(contig, start, end))


def test_samtools_reads_a_region_through_the_ticket(served: tuple[Any, Registered]) -> None:
    node, reg = served
    url = (
        f"{node.base_url}/htsget/reads/{reg.ids['bam']}?referenceName=11&start=5000000&end=5050000"
    )
    result = run(["samtools", "view", "-c", url])
    assert result.returncode == 0, result.stderr
    # the ticket may bring whole blocks: at least the region's records, all of them intact
    assert int(result.stdout) >= local_count(reg.paths["bam"], "11", 5000000, 5050000)
    quick = run(["samtools", "view", "-b", "-o", "/dev/null", url])
    assert quick.returncode == 0
    assert "EOF marker is absent" not in quick.stderr


def test_samtools_reads_cram_natively_and_as_bam(
    served: tuple[Any, Registered], tmp_path: Path
) -> None:
    node, reg = served
    for fmt in ("CRAM", "BAM"):
        out = tmp_path / f"slice.{fmt.lower()}"
        query = f"format={fmt}&referenceName=11&start=5000000&end=5050000"
        url = f"{node.base_url}/htsget/reads/{reg.ids['cram']}?{query}"
        result = run(["samtools", "view", "-b", "-o", str(out), url])
        assert result.returncode == 0, result.stderr
        assert run(["samtools", "quickcheck", str(out)]).returncode == 0


def test_clients_fetch_bytes_where_the_ticket_points(served: tuple[Any, Registered]) -> None:
    node, reg = served
    ticket = httpx.get(f"{node.base_url}/htsget/variants/{reg.ids['vcf']}").json()
    url = ticket["htsget"]["urls"][0]["url"]
    assert url.startswith(f"{reg.settings.data_base_url}/htsget/data/")
    fetched = run(["bcftools", "view", "-H", f"{node.base_url}/htsget/variants/{reg.ids['vcf']}"])
    assert fetched.returncode == 0, fetched.stderr
    served_by = [
        json.loads(line).get("listener")
        for line in node.log_lines()
        if '"operation": "getData"' in line
    ]
    assert served_by
    if reg.settings.htsget.data_listener is None:
        assert set(served_by) == {None}
    else:  # byte ranges from the listener (transcoded slices stay on the main port)
        assert "data" in served_by


def test_bcftools_reads_variants(served: tuple[Any, Registered]) -> None:
    node, reg = served
    url = f"{node.base_url}/htsget/variants/{reg.ids['vcf']}"
    result = run(["bcftools", "view", "-H", url])
    assert result.returncode == 0, result.stderr
    expected = run(["bcftools", "view", "-H", str(reg.paths["vcf"])]).stdout
    assert result.stdout == expected
    bcf = run(
        ["bcftools", "view", "-H", f"{node.base_url}/htsget/variants/{reg.ids['bcf']}?format=BCF"]
    )
    assert bcf.returncode == 0, bcf.stderr
    assert bcf.stdout == run(["bcftools", "view", "-H", str(reg.paths["bcf"])]).stdout


def test_the_pypi_htsget_client_downloads_a_region(
    served: tuple[Any, Registered], tmp_path: Path
) -> None:
    node, reg = served
    out = tmp_path / "client.bam"
    result = run(
        [
            str(HTSGET_CLIENT),
            f"{node.base_url}/htsget/reads/{reg.ids['bam']}",
            "-r",
            "11",
            "-s",
            "5000000",
            "-e",
            "5050000",
            "-O",
            str(out),
        ]
    )
    assert result.returncode == 0, result.stderr
    assert run(["samtools", "quickcheck", str(out)]).returncode == 0
    with pysam.AlignmentFile(str(out)) as reader:
        assert sum(1 for _ in reader.fetch(until_eof=True)) >= local_count(
            reg.paths["bam"], "11", 5000000, 5050000
        )


def test_controlled_data_needs_a_token_for_every_client(
    served: tuple[Any, Registered], tmp_path: Path
) -> None:
    node, reg = served
    ticket_url = f"{node.base_url}/htsget/reads/{reg.ids['ctrl_bam']}"
    url = f"{ticket_url}?referenceName=11&start=5000000&end=5010000"
    assert run(["samtools", "view", "-c", url]).returncode != 0
    refused = run([str(HTSGET_CLIENT), ticket_url, "-r", "11", "-O", str(tmp_path / "x.bam")])
    assert refused.returncode != 0
    token = LocalIssuer.for_settings(reg.settings).passport(reg.settings, "clinician", ["CTRL"])
    auth_file = tmp_path / "token"
    auth_file.write_text(token)
    env = {
        "HTS_AUTH_LOCATION": str(auth_file),
        "HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER": "I understand the risks",
    }
    allowed = run(["samtools", "view", "-c", url], env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert int(allowed.stdout) >= local_count(reg.paths["bam"], "11", 5000000, 5010000)
    out = tmp_path / "granted.bam"
    client = run(
        [
            str(HTSGET_CLIENT),
            ticket_url,
            "-r",
            "11",
            "-s",
            "5000000",
            "-e",
            "5010000",
            "--bearer-token",
            token,
            "-O",
            str(out),
        ]
    )
    assert client.returncode == 0, client.stderr
    assert run(["samtools", "quickcheck", str(out)]).returncode == 0


def test_a_name_naming_two_files_gives_clients_the_409_not_a_file(
    node_process: tuple[Any, Registered], tmp_path: Path
) -> None:
    node, reg = node_process
    url = f"{node.base_url}/htsget/reads/{reg.paths['bam'].name}"
    ticket = httpx.get(url)
    assert ticket.status_code == 409
    assert ticket.json()["htsget"]["error"] == "Conflict"
    assert run(["samtools", "view", "-c", f"{url}?referenceName=11"]).returncode != 0
    refused = run([str(HTSGET_CLIENT), url, "-r", "11", "-O", str(tmp_path / "x.bam")])
    assert refused.returncode != 0
    assert not (tmp_path / "x.bam").exists() or (tmp_path / "x.bam").stat().st_size == 0
