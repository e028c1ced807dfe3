"""``gdi-node demo --federation`` (issue #20) started as a person starts it: a hub and two
member nodes on loopback, a third member configured but never started. Every command it prints
is run in a shell and its output checked against what its label promises, against the members'
own answers and files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pysam
import pytest

from tests.support.processes import free_port, running_node

pytestmark = pytest.mark.slow
BEACON = "/ga4gh/beacon/v2"


def run(command: str) -> str:
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stderr}"
    return done.stdout


def public_item(result_set: dict[str, Any]) -> dict[str, Any]:
    (record,) = result_set["results"]
    (source,) = record["frequencyInPopulations"]
    item: dict[str, Any] = next(
        i for i in source["frequencies"] if i["population"] == "demo-public"
    )
    return item


def public_set(answer: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(
        s for s in answer["response"]["resultSets"] if s["id"] == "GDI-XX-DEMO-1"
    )
    return found


def test_the_federation_demo_shows_opaque_transparent_and_partial_answers_and_member_bytes(
    tmp_path: Path,
) -> None:
    port = free_port()
    while any(_busy(p) for p in (port + 1, port + 2, port + 3)):
        port = free_port()
    data = tmp_path / "demo"
    args = ["demo", "--federation", "--data-dir", str(data), "--port", str(port)]
    with running_node(args, port, tmp_path, ready_timeout=300):
        facts = json.loads((data / "demo.json").read_text(encoding="utf-8"))
        commands = {c["id"]: c["run"] for c in facts["commands"]}
        # a person reads the printout first; the hub fetches its members' datasets meanwhile
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            listed = httpx.get(f"{facts['hub']}{BEACON}/datasets").json()
            if len(listed["info"]["federation"]["members"]) == 2:
                break
            time.sleep(0.2)
        outputs = {name: run(command) for name, command in commands.items()}
        north, south = facts["members"]["north"], facts["members"]["south"]
        query = commands["hub-opaque"].split("'")[1].replace(facts["hub"], "")
        direct = {m: httpx.get(f"{url}{query}&includeResultsetResponses=ALL").json()
                  for m, url in (("north", north), ("south", south))}  # fmt: skip

    ready = json.loads(outputs["hub-ready"])
    assert ready["status"] == "ok"
    assert {m: s["lastOutcome"] for m, s in ready["members"].items()}["north"] == "answered"
    assert ready["members"]["east"]["lastOutcome"] in {"unreachable", "circuit-open"}

    opaque = json.loads(outputs["hub-opaque"])
    (national,) = opaque["response"]["resultSets"]
    assert national["id"] == "org.example.gdi-node.demo-hub"
    parts = [public_item(public_set(direct[m])) for m in ("north", "south")]
    assert public_item(national)["alleleNumber"] == sum(p["alleleNumber"] for p in parts)
    assert public_item(national)["alleleCount"] == sum(p["alleleCount"] for p in parts)
    assert [m["memberId"] for m in opaque["info"]["federation"]["missing"]] == ["east"]

    transparent = json.loads(outputs["hub-transparent"])
    assert transparent["info"]["federation"]["mode"] == "transparent"
    ids = {s["id"] for s in transparent["response"]["resultSets"]}
    assert {"north:GDI-XX-DEMO-1", "south:GDI-XX-DEMO-1"} <= ids

    datasets = json.loads(outputs["hub-datasets"])
    listed = {d["id"] for d in datasets["response"]["collections"]}
    assert {"north:GDI-XX-DEMO-1", "south:GDI-XX-DEMO-2"} <= listed

    north_facts = json.loads((data / "north" / "demo.json").read_text(encoding="utf-8"))
    north_vcf = next(o for o in north_facts["objects"] if o["path"].endswith("demo.vcf.gz"))
    downloaded = data / "north-demo.vcf.gz"
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == north_vcf["sha256"]

    south_facts = json.loads((data / "south" / "demo.json").read_text(encoding="utf-8"))
    south_vcf = next(o for o in south_facts["objects"] if o["path"].endswith("demo.vcf.gz"))
    with pysam.VariantFile(south_vcf["path"]) as vcf:
        local = sum(1 for r in vcf if r.chrom == "chr2")
    assert int(outputs["hub-htsget"].strip()) == local > 0


def _busy(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
