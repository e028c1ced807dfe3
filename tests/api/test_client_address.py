"""Who the client is: the TCP peer, unless the peer is a proxy in ``server.trusted_proxies``;
then the right-most ``X-Forwarded-For`` address that is not a trusted proxy (decision record
0011). The address decides residency, is the audit trail's ``client_address`` and keys the
anonymous Beacon budget, on the Flask path and the direct ASGI path alike, in process and under
``gdi-node serve`` (whose uvicorn trusted loopback's ``X-Forwarded-For`` by default)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from io import StringIO
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gdi_node.app import create_app
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine, make_session_factory
from gdi_node.passport.audit_chain import export_jsonl
from gdi_node.web.proxies import TrustedProxies
from tests.support.beacon_data import write_vcf
from tests.support.processes import free_port, running_node

BEACON = "/ga4gh/beacon/v2"
QUERY = f"{BEACON}/g_variants?referenceName=22&start=99&alternateBases=G"
BUDGET = 3  # queries per principal (base cost 1, nothing rare)
RESIDENT = "10.9.0.5"  # inside trust.residency.networks


def node_settings(tmp: Path, trusted_proxies: list[str], port: int = 8080) -> Settings:
    """A REGISTERED dataset with Beacon data; residency 10.9.0.0/16 (not loopback)."""
    settings = Settings.model_validate(
        {
            "data_dir": tmp / "data",
            "public_url": f"http://127.0.0.1:{port}",
            "server": {
                "port": port,
                **({"trusted_proxies": trusted_proxies} if trusted_proxies else {}),
            },
            "logging": {"format": "json"},
            "datasets": [{"id": "REG", "name": "Registered", "security_level": "REGISTERED"}],
            "trust": {"residency": {"networks": ["10.9.0.0/16"]}},
            "beacon": {"budget": {"units": BUDGET, "base_cost": 1, "rare_cost": 0}},
        }
    )
    samples = [f"S{n}" for n in range(1, 11)]
    record = "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 10)
    vcf = write_vcf(tmp / "cohort.vcf.gz", samples, [record])
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "REG")
    return settings


def audited_addresses(settings: Settings) -> dict[str, str | None]:
    """request id -> client_address of the audit rows."""
    engine = make_engine(settings.effective_database_url)
    out = StringIO()
    export_jsonl(make_session_factory(engine), out)
    engine.dispose()
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    return {r["request_id"]: r["client_address"] for r in rows if r["request_id"]}


def residency(response: Any) -> bool:
    assert response.status_code == 200, response.text
    (permission,) = response.json()["permissions"]
    assert permission["datasetId"] == "REG"
    return bool(permission["residency"])


def statuses(get: Callable[..., Any], forwarded: list[str]) -> list[int]:
    """One Beacon query per ``X-Forwarded-For`` value."""
    return [get(QUERY, headers={"X-Forwarded-For": f}).status_code for f in forwarded]


FRESH = [f"203.0.113.{n}" for n in range(1, BUDGET + 3)]  # a new address per query


# --- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        ("127.0.0.1", ["198.51.100.7, 10.1.2.3"], "198.51.100.7"),  # 10.1.2.3: a trusted hop
        ("127.0.0.1", ["10.9.0.5, 198.51.100.7"], "198.51.100.7"),  # right-most untrusted wins
        ("127.0.0.1", ["10.9.0.5", "198.51.100.7"], "198.51.100.7"),  # headers in order
        ("127.0.0.1", ["10.1.0.1, 10.2.0.2"], "10.1.0.1"),  # all trusted: the left-most
        ("127.0.0.1", ["2001:db8::7, [2001:db8::8]:443"], "2001:db8::8"),
        ("127.0.0.1", ["198.51.100.7:5555"], "198.51.100.7"),
        ("127.0.0.1", ["198.51.100.7, not-an-address"], None),  # never a caller's string
        ("127.0.0.1", ["10.9.0.5, unknown, 10.1.2.3"], None),
        ("::ffff:127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        ("198.51.100.9", ["10.9.0.5"], "198.51.100.9"),  # an untrusted peer says nothing
    ],
)
def test_the_client_is_the_right_most_address_that_is_not_a_trusted_proxy(
    peer: str, forwarded: list[str], client: str | None
) -> None:
    proxies = TrustedProxies([ip_network("127.0.0.0/8"), ip_network("10.0.0.0/8")])
    assert proxies.client(peer, forwarded) == client


def test_no_proxy_is_trusted_by_default() -> None:
    assert Settings().server.trusted_proxies == ()
    assert TrustedProxies([]).client("127.0.0.1", ["10.9.0.5"]) == "127.0.0.1"


# --- in process: Flask path (/permissions) and direct path (Beacon) ------------------------------


@pytest.fixture
def untrusting(tmp_path: Path) -> Iterator[tuple[Any, Settings]]:
    settings = node_settings(tmp_path, [])
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40000)) as client:
        yield client, settings
    app.app.config["GDI_NODE_RUNTIME"].authorization.audit.flush()


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(
    untrusting: tuple[Any, Settings],
) -> None:
    client, settings = untrusting
    forwarded = {"X-Forwarded-For": RESIDENT, "X-Request-ID": "from-loopback"}
    assert residency(client.get("/permissions", headers=forwarded)) is False
    assert statuses(client.get, FRESH) == [200] * BUDGET + [429] * 2  # one budget: the peer's
    client.app.app.config["GDI_NODE_RUNTIME"].authorization.audit.flush()
    assert audited_addresses(settings)["from-loopback"] == "127.0.0.1"


def test_behind_a_trusted_proxy_the_forwarded_client_decides(tmp_path: Path) -> None:
    settings = node_settings(tmp_path, ["127.0.0.0/8"])
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40000)) as client:
        resident = {"X-Forwarded-For": f"198.51.100.7, {RESIDENT}", "X-Request-ID": "resident"}
        assert residency(client.get("/permissions", headers=resident)) is True
        abroad = {"X-Forwarded-For": f"{RESIDENT}, 198.51.100.7", "X-Request-ID": "abroad"}
        assert residency(client.get("/permissions", headers=abroad)) is False
        odd = {"X-Forwarded-For": "a-name-the-caller-chose", "X-Request-ID": "odd"}
        assert residency(client.get("/permissions", headers=odd)) is False
        assert statuses(client.get, FRESH) == [200] * len(FRESH)  # a budget per client
        assert statuses(client.get, [RESIDENT] * (BUDGET + 1))[-1] == 429
        assert statuses(client.get, ["x1", "x2", "x3", "x4"])[-1] == 429  # one for unknowns
    app.app.config["GDI_NODE_RUNTIME"].authorization.audit.flush()
    audited = audited_addresses(settings)
    assert (audited["resident"], audited["abroad"], audited["odd"]) == (
        RESIDENT, "198.51.100.7", None,
    )  # fmt: skip
    direct = create_app(settings, validate_responses=True)
    with direct.test_client(client=("198.51.100.9", 1)) as outside:  # not a trusted proxy
        assert (
            residency(outside.get("/permissions", headers={"X-Forwarded-For": RESIDENT})) is False
        )


# --- a served node: uvicorn's own proxy handling is part of the rule -----------------------------


def serve(tmp: Path, trusted_proxies: list[str]) -> tuple[Path, Settings, int]:
    port = free_port()
    tmp.mkdir()
    settings = node_settings(tmp, trusted_proxies, port)
    config = tmp / "node.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")), encoding="utf-8")
    return config, settings, port


@pytest.mark.slow
def test_a_served_node_trusts_no_proxy_by_default_and_its_configured_ones(
    tmp_path: Path,
) -> None:
    config, settings, port = serve(tmp_path / "default", [])
    with (
        running_node(["--config", str(config), "serve"], port, tmp_path) as node,
        httpx.Client(base_url=node.base_url) as http,
    ):
        forwarded = {"X-Forwarded-For": RESIDENT, "X-Request-ID": "served-loopback"}
        assert residency(http.get("/permissions", headers=forwarded)) is False
        assert statuses(http.get, FRESH) == [200] * BUDGET + [429] * 2
        assert node.stop() == 0
    assert audited_addresses(settings)["served-loopback"] == "127.0.0.1"

    config, settings, port = serve(tmp_path / "proxied", ["127.0.0.1/32"])
    with (
        running_node(["--config", str(config), "serve"], port, tmp_path) as node,
        httpx.Client(base_url=node.base_url) as http,
    ):
        forwarded = {"X-Forwarded-For": f"198.51.100.7, {RESIDENT}", "X-Request-ID": "served-ok"}
        assert residency(http.get("/permissions", headers=forwarded)) is True
        assert statuses(http.get, FRESH) == [200] * len(FRESH)
        assert node.stop() == 0
        lines = [json.loads(line) for line in node.log_lines() if line.startswith("{")]
    assert audited_addresses(settings)["served-ok"] == RESIDENT
    access = next(r for r in lines if r.get("request_id") == "served-ok" and "client" in r)
    assert access["client"] == RESIDENT
