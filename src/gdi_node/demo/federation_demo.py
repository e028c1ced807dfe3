"""``gdi-node demo --federation``: a hub and two member nodes on loopback (issue #20).

The members ``north`` and ``south`` are demo nodes with different synthetic data (their own
seeds), each served by its own ``gdi-node serve`` process on the next ports. The hub holds no
data of its own. It lists a third member, ``east``, which is never started, so every answer
shows what a partial answer says. The printed commands show:
- an opaque answer (anonymous: one national answer, frequencies summed);
- a transparent one (the hub's registered-access passport: each member's result sets);
- the members' datasets as the hub lists them;
- a DRS download and an htsget slice of a member's file through hub ids, the bytes coming
  from the member.
``demo.json`` in the data directory lists the hub's and members' URLs and the commands.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pysam
import yaml

from gdi_node.config.loading import load_settings
from gdi_node.config.settings import Settings
from gdi_node.demo.commands import gdi_node_program, print_commands
from gdi_node.demo.runner import DEMO_TOKEN_TTL, PreparedDemo, prepare_demo
from gdi_node.errors import UnavailableError
from gdi_node.passport.local_issuer import LocalIssuer

BEACON = "/ga4gh/beacon/v2"
MEMBERS = (("north", "North region (synthetic)", 20261121), ("south", "South region", 20261207))
ABSENT = ("east", "East region (configured, not started in this demo)")


@dataclass(frozen=True)
class PreparedFederation:
    hub: Settings
    config_file: Path
    members: dict[str, PreparedDemo]
    facts: dict[str, Any]


def prepare_federation(data_dir: Path, host: str, port: int) -> PreparedFederation:
    """Prepare both members (data, settings), the hub's settings and ``demo.json``."""
    data_dir = data_dir.resolve()
    members = {}
    for offset, (member_id, name, seed) in enumerate(MEMBERS, start=1):
        node = {
            "id": f"org.example.gdi-node.demo-{member_id}",
            "name": name,
            "description": f"Member node of the federation demo: {name}, synthetic data",
            "environment": "dev",
        }
        members[member_id] = prepare_demo(
            data_dir / member_id, host, port + offset, seed=seed, node=node
        )
    entries = [
        {"id": m, "name": prepared.settings.node.name, "base_url": prepared.settings.public_url}
        for m, prepared in members.items()
    ]
    entries.append({"id": ABSENT[0], "name": ABSENT[1], "base_url": f"http://{host}:{port + 3}"})
    config_file = _write_hub_config(data_dir / "hub", host, port, entries)
    hub = load_settings(config_file, env={})
    token_file = data_dir / "hub" / "registered-passport.token"
    token = LocalIssuer.for_settings(hub).passport(
        hub, "demo-registered", [], registered=True, ttl=DEMO_TOKEN_TTL
    )
    token_file.write_text(token, encoding="utf-8")
    facts = {
        "hub": hub.public_url,
        "members": {e["id"]: e["base_url"] for e in entries},
        "not_started": [ABSENT[0]],
        "config_file": str(config_file),
        "token_file": str(token_file),
        "commands": federation_commands(hub, config_file, token_file, members, data_dir),
    }
    (data_dir / "demo.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    return PreparedFederation(hub, config_file, members, facts)


def _write_hub_config(folder: Path, host: str, port: int, entries: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "data_dir": ".",
        "public_url": f"http://{host}:{port}",
        "server": {"host": host, "port": port, "workers": 1},
        "trust": {"local_issuer": True, "residency": {"networks": ["127.0.0.0/8", "::1/128"]}},
        "node": {
            "id": "org.example.gdi-node.demo-hub",
            "name": "gdi-node demo hub",
            "description": "National hub of the federation demo (synthetic data)",
            "environment": "dev",
        },
        "federation": {
            "members": entries,
            "transparent_to": "registered",
            "national_name": "Demo nation (synthetic)",
            "metadata_refresh_seconds": 30,
        },
    }
    path = folder / "gdi-node.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def shared_snv(members: dict[str, PreparedDemo]) -> tuple[str, int, str, str]:
    """An SNV of the public datasets of every member (chrom, 1-based position, ref, alt)."""
    common: set[tuple[str, int, str, str]] | None = None
    for prepared in members.values():
        with pysam.VariantFile(str(prepared.files.vcf)) as vcf:
            found = {
                (r.chrom, r.pos, r.ref, r.alts[0])
                for r in vcf
                if r.ref is not None and r.alts and len(r.ref) == 1 and len(r.alts[0]) == 1
            }
        common = found if common is None else common & found
    if not common:
        raise RuntimeError("the members' demo data share no SNV")
    return min(common)


def federation_commands(
    hub: Settings,
    config_file: Path,
    token_file: Path,
    members: dict[str, PreparedDemo],
    data_dir: Path,
) -> list[dict[str, str]]:
    base = hub.public_url
    chrom, pos, ref, alt = shared_snv(members)
    query = (
        f"{base}{BEACON}/g_variants?assemblyId=GRCh38&referenceName={chrom.removeprefix('chr')}"
        f"&start={pos - 1}&referenceBases={ref}&alternateBases={alt}&requestedGranularity=record"
    )
    bearer = f'-H "Authorization: Bearer $(cat {shlex.quote(str(token_file))})"'
    north_vcf = _object_id(members["north"], members["north"].files.vcf)
    south_vcf = _object_id(members["south"], members["south"].files.vcf)
    out = shlex.quote(str(data_dir / "north-demo.vcf.gz"))
    program = gdi_node_program()
    return [
        {
            "id": "hub-ready",
            "what": "The hub is ready with a member down: north and south answer, east was"
            " never started and is reported, not hidden",
            "run": f"curl -s {base}/ready",
        },
        {
            "id": "hub-opaque",
            "what": f"Anonymous: one national answer for {chrom}:{pos} {ref}>{alt}, both"
            " regions' frequencies summed per population label; east listed as missing",
            "run": f"curl -s '{query}'",
        },
        {
            "id": "hub-transparent",
            "what": "With the hub's registered-access passport: each member's result sets"
            " (north:GDI-XX-DEMO-1, south:GDI-XX-DEMO-1, ...), east listed as missing",
            "run": f"curl -s {bearer} '{query}'",
        },
        {
            "id": "hub-datasets",
            "what": "The members' datasets as the hub lists them (north:…, south:…)",
            "run": f"curl -s {base}{BEACON}/datasets",
        },
        {
            "id": "hub-drs",
            "what": "A verified download of north's VCF through the hub (DRS id north:…; the"
            " bytes come from north)",
            "run": f"{program} drs resolve --config {shlex.quote(str(config_file))}"
            f" drs://north:{north_vcf} -d {out}",
        },
        {
            "id": "hub-htsget",
            "what": "south's chr2 variant records through the hub (htsget id south:…; the"
            " bytes come from south): the count",
            "run": f"bcftools view -H '{base}/htsget/variants/south:{south_vcf}"
            "?referenceName=chr2' | wc -l",
        },
    ]


def _object_id(prepared: PreparedDemo, path: Path) -> str:
    return next(o.object_id for o in prepared.objects if Path(o.path).name == path.name)


@contextmanager
def members_serving(federation: PreparedFederation, timeout: float = 60) -> Iterator[None]:
    """Serve each member in its own ``gdi-node serve`` process until the block ends."""
    beside = Path(sys.executable).with_name("gdi-node")
    command = str(beside) if beside.exists() else "gdi-node"
    processes = []
    try:
        for prepared in federation.members.values():
            log = (prepared.config_file.parent / "serve.log").open("w", encoding="utf-8")
            processes.append(
                subprocess.Popen(
                    [command, "--config", str(prepared.config_file), "serve"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
        for prepared in federation.members.values():
            _wait_ready(prepared.settings.public_url, timeout)
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_ready(base_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise UnavailableError(
        f"the demo member at {base_url} did not start within {timeout:g} s; its log is"
        " serve.log in its folder"
    )


def print_federation(federation: PreparedFederation, *, serving: bool) -> None:
    """Tell a person what runs where and what to type next."""
    import click

    facts = federation.facts
    click.echo(f"gdi-node federation demo in {federation.config_file.parent.parent}")
    click.echo(f"  hub    {facts['hub']}  (no data of its own)")
    for member_id, url in facts["members"].items():
        note = (
            "  (configured, not started: shows partial answers)"
            if member_id in facts["not_started"]
            else ""
        )
        click.echo(f"  {member_id:<6} {url}{note}")
    click.echo(f"Facts for scripts: {federation.config_file.parent.parent / 'demo.json'}")
    print_commands(facts["commands"], serving=serving)
    if serving:
        click.echo(f"\nServing the hub on {facts['hub']} and its members (Ctrl-C stops all)\n")
