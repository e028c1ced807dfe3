"""DRS and htsget through a hub (issue #20, decision record 0031): two member nodes and the hub
are ``gdi-node serve`` processes on loopback; a third member is down. Member objects are named
``<member>:<id>`` on the hub; their access URLs and htsget tickets point at the member, so the
bytes go from the member to the client (``gdi-node drs resolve``, samtools, bcftools) and
never through the hub."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from gdi_node.config.settings import Settings
from gdi_node.passport.local_issuer import LocalIssuer
from tests.conftest import shared_path
from tests.support.htsget_setup import node_settings, register
from tests.support.processes import drs_resolve, free_port, running_node, write_config

pytestmark = pytest.mark.slow
DRS = "/ga4gh/drs/v1"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    shared_path("data", "htsget")
    root = tmp_path_factory.mktemp("hub-drs")
    with ExitStack() as stack:
        out: dict[str, Any] = {}
        entries = []
        for name in ("north", "south"):
            port = free_port()
            folder = root / name
            registered = register(node_settings(folder, f"http://127.0.0.1:{port}"), folder / "s")
            config = write_config(folder / "node.yaml", registered.settings, port)
            node = stack.enter_context(
                running_node(["--config", str(config), "serve"], port, folder)
            )
            out[name] = (node, registered)
            entries.append({"id": name, "name": name.title(), "base_url": node.base_url})
        entries.append(
            {"id": "west", "name": "West", "base_url": f"http://127.0.0.1:{free_port()}"}
        )
        port = free_port()
        hub_settings = Settings.model_validate(
            {
                "data_dir": root / "hub" / "data",
                "public_url": f"http://127.0.0.1:{port}",
                "federation": {"members": entries},
            }
        )
        (root / "hub").mkdir()
        config = write_config(root / "hub" / "node.yaml", hub_settings, port)
        out["hub"] = stack.enter_context(
            running_node(["--config", str(config), "serve"], port, root / "hub")
        )
        out["hub_config"] = config
        yield out


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def access_through_hub(world: dict[str, Any], member: str, key: str) -> dict[str, Any]:
    """The https access URL the hub hands out for a member's file, checked to point at the
    member (the bytes never pass through the hub)."""
    node, reg = world[member]
    hub = world["hub"].base_url
    reply = httpx.get(f"{hub}{DRS}/objects/{member}:{reg.ids[key]}/access/https")
    access: dict[str, Any] = reply.json()
    assert access["url"].startswith(node.base_url)
    return access


def test_a_member_object_through_the_hub_is_the_members_object_under_the_hubs_id(
    world: dict[str, Any],
) -> None:
    node, reg = world["north"]
    own = httpx.get(f"{node.base_url}{DRS}/objects/{reg.ids['bam']}").json()
    through = httpx.get(f"{world['hub'].base_url}{DRS}/objects/north:{reg.ids['bam']}").json()
    assert through["id"] == f"north:{reg.ids['bam']}"
    assert {**through, "id": own["id"]} == own
    assert through["self_uri"] == own["self_uri"]  # the member's own drs:// URI


def test_an_access_url_through_the_hub_points_at_the_member_and_its_bytes_match(
    world: dict[str, Any],
) -> None:
    _, reg = world["south"]
    access = access_through_hub(world, "south", "vcf")
    data = httpx.get(
        access["url"], headers=dict(h.split(": ", 1) for h in access.get("headers", []))
    )
    assert hashlib.sha256(data.content).hexdigest() == sha256_of(reg.paths["vcf"])


def test_drs_resolve_with_the_hubs_settings_downloads_a_members_object_verified(
    world: dict[str, Any], tmp_path: Path
) -> None:
    _, reg = world["north"]
    out = tmp_path / "north.bam"
    result = drs_resolve(
        "--config", str(world["hub_config"]), f"drs://north:{reg.ids['bam']}", "-d", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert sha256_of(out) == sha256_of(reg.paths["bam"])


def test_drs_resolve_with_the_hubs_settings_sends_a_members_hostname_uri_through_the_hub(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """Both members run on 127.0.0.1: only host:port (which some servers mint) tells them
    apart, and the hub's settings map it to the member's prefix."""
    node, reg = world["south"]
    netloc = node.base_url.removeprefix("http://")
    out = tmp_path / "south.vcf.gz"
    before = asked_for_objects(world["hub"])
    result = drs_resolve(
        "--config", str(world["hub_config"]), f"drs://{netloc}/{reg.ids['vcf']}", "-d", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert sha256_of(out) == sha256_of(reg.paths["vcf"])
    assert asked_for_objects(world["hub"]) > before  # it went through the hub


def asked_for_objects(node: Any) -> int:
    return operation_lines(node, "GetObject")


def operation_lines(node: Any, operation: str) -> int:
    """How many access-log lines of ``node`` are for ``operation``."""
    return sum(1 for line in node.log_lines() if f'"operation": "{operation}"' in line)


def test_samtools_reads_a_members_bam_from_the_url_the_hub_handed_out(
    world: dict[str, Any],
) -> None:
    _, reg = world["north"]
    access = access_through_hub(world, "north", "bam")
    remote = subprocess.run(
        ["samtools", "view", "-c", access["url"]], capture_output=True, text=True, check=True
    )
    local = subprocess.run(
        ["samtools", "view", "-c", str(reg.paths["bam"])],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(remote.stdout) == int(local.stdout) > 0


def test_a_controlled_member_object_needs_the_members_grant_which_the_hub_passes_on(
    world: dict[str, Any],
) -> None:
    _, reg = world["north"]
    hub = world["hub"].base_url
    url = f"{hub}{DRS}/objects/north:{reg.ids['ctrl_bam']}"
    anonymous = httpx.get(url)
    assert anonymous.status_code == 401
    assert anonymous.json()["status_code"] == 401
    assert anonymous.json()["msg"].startswith("member north: ")
    passport = LocalIssuer.for_settings(reg.settings).passport(reg.settings, "ann", ["CTRL"])
    granted = httpx.post(url, json={"passports": [passport]})
    assert granted.status_code == 200, granted.text
    assert granted.json()["id"] == f"north:{reg.ids['ctrl_bam']}"


def test_bulk_objects_fan_out_by_member_and_list_what_was_not_resolved_and_why(
    world: dict[str, Any],
) -> None:
    (_, north), (_, south) = world["north"], world["south"]
    ids = [
        f"north:{north.ids['bam']}",
        f"south:{south.ids['vcf']}",
        f"south:{south.ids['cram']}",
        "north:no-such-object",
        "west:anything",  # the member is down
        "not-a-member-object",  # the hub's own id space: it holds no files
    ]
    reply = httpx.post(f"{world['hub'].base_url}{DRS}/objects", json={"bulk_object_ids": ids})
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["summary"] == {"requested": 6, "resolved": 3, "unresolved": 3}
    assert {o["id"] for o in answer["resolved_drs_object"]} == set(ids[:3])
    unresolved = {u["error_code"]: set(u["object_ids"]) for u in answer["unresolved_drs_objects"]}
    assert unresolved == {
        404: {"north:no-such-object", "not-a-member-object"},
        502: {"west:anything"},
    }


def test_bulk_access_urls_fan_out_by_member_and_point_at_each_member(
    world: dict[str, Any],
) -> None:
    (north_node, north), (south_node, south) = world["north"], world["south"]
    wanted = [
        {"bulk_object_id": f"north:{north.ids['bam']}", "bulk_access_ids": ["https"]},
        {"bulk_object_id": f"south:{south.ids['vcf']}", "bulk_access_ids": ["https", "nope"]},
        {"bulk_object_id": "west:anything", "bulk_access_ids": ["https"]},
    ]
    reply = httpx.post(
        f"{world['hub'].base_url}{DRS}/objects/access", json={"bulk_object_access_ids": wanted}
    )
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["summary"] == {"requested": 4, "resolved": 2, "unresolved": 2}
    urls = {u["drs_object_id"]: u["url"] for u in answer["resolved_drs_object_access_urls"]}
    assert urls[f"north:{north.ids['bam']}"].startswith(north_node.base_url)
    assert urls[f"south:{south.ids['vcf']}"].startswith(south_node.base_url)
    unresolved = {u["error_code"]: set(u["object_ids"]) for u in answer["unresolved_drs_objects"]}
    assert unresolved[502] == {"west:anything"}
    assert f"south:{south.ids['vcf']}" in set().union(*unresolved.values())


def test_a_member_that_is_down_is_a_502_naming_it(world: dict[str, Any]) -> None:
    """Unreachable, or skipped once the hub's background fetches of its metadata and the
    requests before opened its circuit: a 502 naming it either way."""
    reply = httpx.get(f"{world['hub'].base_url}{DRS}/objects/west:x")
    assert reply.status_code == 502
    message = reply.json()["msg"]
    assert message.startswith(
        (
            "member west could not answer (unreachable)",
            "member west could not answer (circuit-open)",
        )
    )
    ready = httpx.get(f"{world['hub'].base_url}/ready").json()
    assert ready["members"]["west"]["lastOutcome"] in {"unreachable", "circuit-open"}


def test_the_hubs_service_registry_lists_its_members_services(world: dict[str, Any]) -> None:
    """Kept from the members' own /services in the background (a member down is left out)."""
    hub = world["hub"].base_url
    members = [world["north"][0].base_url, world["south"][0].base_url]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        urls = {s["url"] for s in httpx.get(f"{hub}/services").json()}
        if all(any(u.startswith(m) for u in urls) for m in members):
            break
        time.sleep(0.1)
    services = httpx.get(f"{hub}/services").json()
    north = httpx.get(f"{members[0]}/services").json()
    assert all(s in services for s in north)
    assert any(s["url"].startswith(hub) for s in services)  # its own first
    assert services[0]["url"].startswith(hub)
    types = httpx.get(f"{hub}/services/types").json()
    assert "org.ga4gh:drs:1.5.0" in types


def test_hub_settings_name_each_members_prefix_once() -> None:
    member = {"id": "north", "name": "N", "base_url": "http://north.example.org"}
    other = {**member, "id": "south", "drs_prefix": "north"}
    with pytest.raises(ValueError, match="DRS prefixes must be unique"):
        Settings.model_validate({"federation": {"members": [member, other]}})


def htsget(*args: str) -> subprocess.CompletedProcess[str]:
    # no reference downloads from EBI: the test CRAM embeds its reference
    env = {**os.environ, "REF_PATH": "/nonexistent/%s"}
    return subprocess.run(
        list(args), capture_output=True, text=True, timeout=120, env=env, check=False
    )


def records(text: str) -> list[str]:
    """The records of SAM or VCF text: the headers record the command line, URL included."""
    return [line for line in text.splitlines() if not line.startswith(("@", "#"))]


def data_requests(node: Any) -> int:
    return operation_lines(node, "getData")


def test_samtools_and_bcftools_fetch_a_members_slices_through_hub_ids_from_the_member(
    world: dict[str, Any],
) -> None:
    """The same slices through the hub as from the member itself; the hub serves no bytes."""
    node, reg = world["north"]
    hub = world["hub"].base_url
    for kind, key, tool, region in (
        ("reads", "bam", "samtools", "referenceName=11&start=5000000&end=5050000"),
        ("variants", "vcf", "bcftools", "referenceName=chrM"),
    ):
        via_hub = htsget(tool, "view", f"{hub}/htsget/{kind}/north:{reg.ids[key]}?{region}")
        direct = htsget(tool, "view", f"{node.base_url}/htsget/{kind}/{reg.ids[key]}?{region}")
        assert via_hub.returncode == 0, via_hub.stderr
        assert records(via_hub.stdout) == records(direct.stdout)
        assert len(records(via_hub.stdout)) >= 10
    assert data_requests(node) > 0
    assert data_requests(world["hub"]) == 0


def test_a_members_ticket_through_the_hub_is_the_members_ticket(world: dict[str, Any]) -> None:
    node, reg = world["south"]
    hub = world["hub"].base_url
    ticket = httpx.post(
        f"{hub}/htsget/reads/south:{reg.ids['cram']}",
        json={"format": "BAM", "regions": [{"referenceName": "11", "start": 5000000}]},
    ).json()
    urls = [u["url"] for u in ticket["htsget"]["urls"]]
    assert ticket["htsget"]["format"] == "BAM"
    assert all(u.startswith(("data:", node.base_url)) for u in urls)


def test_a_refused_or_failed_member_ticket_is_an_htsget_error_naming_the_member(
    world: dict[str, Any],
) -> None:
    _, reg = world["north"]
    hub = world["hub"].base_url
    refused = httpx.get(f"{hub}/htsget/reads/north:{reg.ids['ctrl_bam']}")
    assert refused.status_code == 401
    assert refused.json()["htsget"]["message"].startswith("member north: ")
    down = httpx.get(f"{hub}/htsget/variants/west:x")
    assert down.status_code == 502
    assert down.json()["htsget"]["error"] == "BadGateway"
