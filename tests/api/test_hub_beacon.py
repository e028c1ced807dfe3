"""A hub's Beacon across real member nodes (issue #20, decision record 0031).

Three ``gdi-node serve`` processes on loopback are the members: ``north`` and ``south`` hold
public genomes, ``east`` a controlled dataset; the hub holds a public dataset of its own. Made
for the test besides: a member that accepts connections and never answers, one answering 500,
one answering JSON that is not a Beacon answer, and one killed while the hub runs. Every hub
answer is validated against openapi/beacon.yaml (response validation on) and compared with what
the members answer when asked directly, combined by hand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gdi_node.app import create_app
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine
from gdi_node.db.models import AuditRecord
from tests.support.beacon_data import write_vcf
from tests.support.faulty_members import faulty_member
from tests.support.passport_world import DAC, DATASET_URN, World
from tests.support.processes import RunningNode, free_port, running_node, write_config

pytestmark = pytest.mark.slow

BEACON = "/ga4gh/beacon/v2"
COMMON = "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT"  # carried in every region
# each node's eight genomes at chr22:100 A>G, carried in every region ...
CARRIERS = {
    "north": ["0/1"] * 3 + ["1/1"] + ["0/0"] * 4,
    "south": ["0/1"] * 5 + ["1/1"] * 2 + ["0/0"],
    "east": ["1/1"] * 4 + ["0/0"] * 4,
    "hub": ["0/1"] * 2 + ["0/0"] * 6,
}
# ... and at an allele only that node holds
OWN_ALLELE = {
    "north": ("chr22\t300\t.\tG\tA", ["0/1"] + ["0/0"] * 7),
    "south": ("chr22\t500\t.\tT\tC", ["0/1"] * 6 + ["0/0"] * 2),
    "east": ("chr22\t700\t.\tC\tT", ["0/1"] * 8),
    "hub": ("chr22\t900\t.\tA\tC", ["0/1"] * 5 + ["0/0"] * 3),
}
DATASETS: dict[str, dict[str, Any]] = {
    "north": {"id": "NORTH", "name": "North genomes", "security_level": "PUBLIC"},
    "south": {"id": "SOUTH", "name": "South genomes", "security_level": "PUBLIC"},
    "east": {
        "id": "EAST",
        "name": "East controlled genomes",
        "security_level": "CONTROLLED",
        "grants": [DATASET_URN],
        "dac_sources": [DAC],
    },
    "hub": {"id": "NATIONAL", "name": "National genomes", "security_level": "PUBLIC"},
}


def node_settings(world: World, folder: Path, name: str, **extra: Any) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    return Settings.model_validate(
        {
            "data_dir": folder / "data",
            "database_url": f"sqlite:///{folder / 'node.sqlite3'}",
            "node": {"id": f"org.example.{name}", "name": f"{name} node"},
            "datasets": [{**DATASETS[name], "frequency_label": "DK"}],
            "beacon": {"budget": {"units": 1_000_000}},
            "trust": world.trust(),
            **extra,
        }
    )


def load_genomes(settings: Settings, name: str, folder: Path) -> None:
    common, (own_site, own) = CARRIERS[name], OWN_ALLELE[name]
    samples = [f"{name}-{n}" for n in range(1, 9)]
    records = ["\t".join([COMMON, *common]), "\t".join([own_site, ".\tPASS\t.\tGT", *own])]
    vcf = write_vcf(folder / f"{name}.vcf.gz", samples, records)
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, DATASETS[name]["id"])


@pytest.fixture(scope="module")
def members(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The three member nodes, serving; plus the hub's own database, loaded."""
    root = tmp_path_factory.mktemp("hub")
    with ExitStack() as stack:
        running: dict[str, Any] = {}
        for name in ("north", "south", "east"):
            folder = root / name
            settings = node_settings(world, folder, name)
            load_genomes(settings, name, folder)
            port = free_port()
            config = write_config(folder / "node.yaml", settings, port)
            args = ["--config", str(config), "serve"]
            running[name] = stack.enter_context(running_node(args, port, folder))
        running["root"] = root
        yield running


def member_entry(node: RunningNode | str, member_id: str, **extra: Any) -> dict[str, Any]:
    base = node if isinstance(node, str) else node.base_url
    return {"id": member_id, "name": f"{member_id} region", "base_url": base, **extra}


@contextmanager
def hub(
    world: World, members: dict[str, Any], entries: list[dict[str, Any]], **federation: Any
) -> Iterator[Any]:
    folder = members["root"] / "hub"
    # the members' metadata is fetched in the background only where a test asks for it:
    # elsewhere its requests would add to the members' failures the tests count
    federation = {"list_member_metadata": "metadata_refresh_seconds" in federation, **federation}
    settings = node_settings(world, folder, "hub", federation={"members": entries, **federation})
    if not (folder / "node.sqlite3").exists():
        load_genomes(settings, "hub", folder)
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40000)) as client:
        yield client


def query(position: int, ref: str, alt: str, **query: Any) -> dict[str, Any]:
    return {
        "meta": {"apiVersion": "2.0"},
        "query": {
            "requestParameters": {
                "assemblyId": "GRCh38",
                "referenceName": "22",
                "start": [position - 1],
                "referenceBases": ref,
                "alternateBases": alt,
            },
            "requestedGranularity": "record",
            **query,
        },
    }


def direct(node: RunningNode, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    """What a member answers when asked directly, listing every dataset it answered."""
    body = {**body, "query": {**body["query"], "includeResultsetResponses": "ALL"}}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reply = httpx.post(f"{node.base_url}{BEACON}/g_variants", json=body, headers=headers)
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def dk_item(result_set: dict[str, Any]) -> dict[str, Any]:
    (record,) = result_set["results"]
    (source,) = record["frequencyInPopulations"]
    item: dict[str, Any] = next(i for i in source["frequencies"] if i["population"] == "DK")
    return item


def test_transparent_answer_lists_each_members_result_sets_as_the_member_answers_them(
    world: World, members: dict[str, Any]
) -> None:
    entries = [member_entry(members[n], n) for n in ("north", "south", "east")]
    body = query(100, "A", "G", includeResultsetResponses="ALL")
    with hub(world, members, entries, transparent_to="everyone") as client:
        answer = client.post(f"{BEACON}/g_variants", json=body).json()
    sets = {s["id"]: s for s in answer["response"]["resultSets"]}
    assert set(sets) == {"NATIONAL", "north:NORTH", "south:SOUTH", "east:EAST"}
    for name in ("north", "south", "east"):
        (own,) = direct(members[name], body)["response"]["resultSets"]
        shown = dict(sets[f"{name}:{own['id']}"])
        info = dict(shown.pop("info"))
        assert info.pop("member") == {"id": name, "name": f"{name} region", "region": ""}
        if info:  # east answers an anonymous caller at boolean granularity and says so
            shown["info"] = info
        assert {**shown, "id": own["id"]} == own
    federation = answer["info"]["federation"]
    assert federation["mode"] == "transparent"
    assert federation["complete"] is True
    assert [m["status"] for m in federation["members"]] == ["answered"] * 3
    assert answer["meta"]["returnedGranularity"] == "record"


def test_opaque_answer_sums_the_frequencies_members_show_and_says_what_it_left_out(
    world: World, members: dict[str, Any]
) -> None:
    """North (AC 5), south (AC 9) and the hub's own (AC 2, shown as at most 4) are summed per
    label; east's controlled dataset answers an anonymous caller at boolean granularity only,
    so it adds its existence and is counted as left out, not named."""
    entries = [member_entry(members[n], n) for n in ("north", "south", "east")]
    body = query(100, "A", "G", includeResultsetResponses="HIT")
    with hub(world, members, entries, transparent_to="nobody") as client:
        answer = client.post(f"{BEACON}/g_variants", json=body).json()
        own = client.post(
            f"{BEACON}/datasets/NATIONAL/g_variants", json=body
        ).json()  # the hub's own dataset alone
    (national,) = answer["response"]["resultSets"]
    assert national["id"] == "org.example.hub"
    parts = [
        dk_item(direct(members[n], body)["response"]["resultSets"][0]) for n in ("north", "south")
    ]
    parts.append(dk_item(own["response"]["resultSets"][0]))
    item = dk_item(national)
    assert item["alleleCount"] == sum(p["alleleCount"] for p in parts) == 5 + 9 + 4
    assert item["alleleNumber"] == sum(p["alleleNumber"] for p in parts) == 48
    assert item["alleleCountHomozygous"] == sum(p["alleleCountHomozygous"] for p in parts)
    assert item["alleleFrequency"] == pytest.approx(18 / 48, abs=1e-8)
    assert item["alleleFrequency"] >= 18 / 48  # from an upper bound: rounded up
    assert "alleleCount" in item["upperBounds"]
    assert item["countPrecision"] == "imprecise"
    federation = answer["info"]["federation"]
    assert federation["mode"] == "opaque"
    assert federation["notSummed"] == {"boolean": 1}
    assert "east" not in str(national)


def test_partial_answers_name_the_missing_members_and_why(
    world: World, members: dict[str, Any]
) -> None:
    body = query(300, "G", "A", requestedGranularity="count")
    with ExitStack() as stack:
        hanging = stack.enter_context(faulty_member("hang"))
        failing = stack.enter_context(faulty_member("error"))
        invalid = stack.enter_context(faulty_member("invalid"))
        entries = [
            member_entry(members["north"], "north"),
            member_entry(hanging.base_url, "hanging", deadline_seconds=1.0),
            member_entry(failing.base_url, "failing"),
            member_entry(invalid.base_url, "invalid"),
            member_entry(f"http://127.0.0.1:{free_port()}", "gone"),
        ]
        client = stack.enter_context(hub(world, members, entries, transparent_to="everyone"))
        answer = client.post(f"{BEACON}/g_variants", json=body).json()
        ready = client.get("/ready")
        metrics = client.get("/metrics").text
    assert ready.status_code == 200  # members down never make the hub unready ...
    assert ready.json()["members"]["hanging"] == {"circuit": "closed", "lastOutcome": "timeout"}
    assert ready.json()["members"]["north"]["lastOutcome"] == "answered"  # ... it reports them
    assert 'gdi_node_member_requests_total{member="failing",outcome="error"} 1.0' in metrics
    assert 'gdi_node_member_request_duration_seconds_count{member="hanging"} 1.0' in metrics
    assert 'gdi_node_member_circuit_open{member="gone"} 0.0' in metrics
    federation = answer["info"]["federation"]
    reasons = {m["memberId"]: m["reason"] for m in federation["missing"]}
    assert reasons == {
        "hanging": "timeout",
        "failing": "error",
        "invalid": "invalid",
        "gone": "unreachable",
    }
    assert federation["complete"] is False
    detail = {m["memberId"]: m["detail"] for m in federation["missing"]}
    assert "database is down" in detail["failing"]
    assert "not a Beacon query answer" in detail["invalid"]
    assert answer["responseSummary"]["exists"] is True  # north holds it
    assert "4 member(s) did not answer" in federation["message"]


def test_each_member_asked_is_in_the_hubs_audit_trail_with_what_came_of_it(
    world: World, members: dict[str, Any]
) -> None:
    """The member decides and audits what the caller sees of its data; the hub records that
    it passed the query on, to whom, and the outcome, under the caller's request id."""
    with faulty_member("error") as failing:
        entries = [member_entry(members["north"], "north"), member_entry(failing.base_url, "f")]
        with hub(world, members, entries) as client:
            headers = {"X-Request-ID": "hub-audit-1"}
            client.post(f"{BEACON}/g_variants", json=query(100, "A", "G"), headers=headers)
    engine = make_engine(f"sqlite:///{members['root'] / 'hub' / 'node.sqlite3'}")
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuditRecord.object_id, AuditRecord.decision).where(
                AuditRecord.request_id == "hub-audit-1"
            )
        ).all()
    engine.dispose()
    forwarded = sorted(r.object_id for r in rows if r.object_id.startswith("federated"))
    assert forwarded == [
        "federated to member f: beacon POST /g_variants -> error",
        "federated to member north: beacon POST /g_variants -> answered",
    ]
    assert any(r.object_id.startswith("g_variants") for r in rows)  # the hub's own dataset


def test_not_found_with_members_missing_says_it_may_exist_there(
    world: World, members: dict[str, Any]
) -> None:
    with faulty_member("error") as failing:
        entries = [member_entry(members["north"], "north"), member_entry(failing.base_url, "f")]
        with hub(world, members, entries) as client:
            answer = client.post(f"{BEACON}/g_variants", json=query(100, "A", "T")).json()
    assert answer["responseSummary"]["exists"] is False
    message = answer["info"]["federation"]["message"]
    assert message.startswith("not found among the answers received")
    assert message.endswith(": f")


def test_a_failing_member_is_skipped_once_its_circuit_opens_and_asked_again_once_it_answers(
    world: World, members: dict[str, Any]
) -> None:
    """Three failures in a row open the circuit: the member is no longer asked and is named
    ``circuit-open``; once it recovers, the background probe of its ``/info`` gets an answer,
    the circuit closes and the member is asked again."""
    body = query(100, "A", "G", requestedGranularity="count")
    with faulty_member("error") as flaky:
        entries = [member_entry(members["north"], "north"), member_entry(flaky.base_url, "flaky")]
        circuit = {"failures": 3, "probe_seconds": 0.2}
        with hub(world, members, entries, circuit=circuit) as client:

            def flaky_outcome() -> str:
                answer = client.post(f"{BEACON}/g_variants", json=body).json()
                statuses = {
                    m["memberId"]: m["status"] for m in answer["info"]["federation"]["members"]
                }
                return statuses["flaky"]

            outcomes = [flaky_outcome() for _ in range(5)]
            assert outcomes == ["error", "error", "error", "circuit-open", "circuit-open"]
            assert flaky.requests_to("/g_variants") == 3
            flaky.behaviour = "healthy"
            deadline = time.monotonic() + 10
            while flaky_outcome() == "circuit-open" and time.monotonic() < deadline:
                time.sleep(0.1)
            assert flaky_outcome() == "answered"
            assert flaky.requests_to("/info") >= 1


def test_a_member_killed_while_the_hub_runs_is_reported_unreachable(
    world: World, members: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "west"
    settings = node_settings(world, folder, "north")
    load_genomes(settings, "north", folder)
    port = free_port()
    config = write_config(folder / "node.yaml", settings, port)
    body = query(100, "A", "G", requestedGranularity="count")
    with running_node(["--config", str(config), "serve"], port, folder) as west:
        entries = [member_entry(members["south"], "south"), member_entry(west, "west")]
        with hub(world, members, entries, metadata_refresh_seconds=1) as client:
            before = client.post(f"{BEACON}/g_variants", json=body).json()

            def kept_of_west(stale: bool) -> Any:
                answer = client.get(f"{BEACON}/datasets").json()
                states = {
                    m["memberId"]: m["stale"] for m in answer["info"]["federation"]["members"]
                }
                return answer if states.get("west") is stale else None

            wait_for(lambda: kept_of_west(False))
            west.stop()
            after = client.post(f"{BEACON}/g_variants", json=body).json()
            datasets = wait_for(lambda: kept_of_west(True))
    assert before["info"]["federation"]["complete"] is True
    (missing,) = after["info"]["federation"]["missing"]
    assert (missing["memberId"], missing["reason"]) == ("west", "unreachable")
    # the opaque count is what the members still answering show
    assert (
        after["responseSummary"]["numTotalResults"] < before["responseSummary"]["numTotalResults"]
    )
    # the datasets kept of west survive its outage, marked stale
    assert "west:NORTH" in [d["id"] for d in datasets["response"]["collections"]]


def test_a_granted_caller_and_an_anonymous_one_see_what_each_member_shows_them(
    world: World, members: dict[str, Any]
) -> None:
    """The hub passes the caller's token on: east shows its controlled records to the granted
    caller only; the hub never shows more than east showed this caller."""
    entries = [member_entry(members["east"], "east")]
    body = query(100, "A", "G", includeResultsetResponses="ALL")
    token = world.broker.passport("alice", [world.grant(), *world.registered()])
    with hub(world, members, entries, transparent_to="registered") as client:
        anonymous = client.post(f"{BEACON}/g_variants", json=body).json()
        granted = client.post(
            f"{BEACON}/g_variants", json=body, headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert anonymous["info"]["federation"]["mode"] == "opaque"
    assert granted["info"]["federation"]["mode"] == "transparent"
    east_granted = next(s for s in granted["response"]["resultSets"] if s["id"] == "east:EAST")
    (direct_granted,) = direct(members["east"], body, token)["response"]["resultSets"]
    assert east_granted["results"] == direct_granted["results"] != []
    assert dk_item(east_granted)["alleleCountHomozygous"] == 4
    (national,) = anonymous["response"]["resultSets"]
    (direct_anonymous,) = direct(members["east"], body)["response"]["resultSets"]
    assert direct_anonymous["results"] == []  # east shows the anonymous caller no records
    assert all(
        "east" not in str(r) and r.get("frequencyInPopulations", [{}])[0].get("frequencies")
        for r in national["results"]
    )


def wait_for(check: Any, seconds: float = 15) -> Any:
    """Poll ``check()`` until it returns something true (the hub refreshes in the background)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not true within {seconds} s")


def test_hub_lists_members_datasets_and_terms_kept_from_their_anonymous_answers(
    world: World, members: dict[str, Any]
) -> None:
    entries = [member_entry(members[n], n) for n in ("north", "south", "east")]
    with hub(world, members, entries, metadata_refresh_seconds=1) as client:

        def datasets() -> Any:
            answer = client.get(f"{BEACON}/datasets").json()
            return answer if len(answer["info"]["federation"]["members"]) == 3 else None

        answer = wait_for(datasets)
        terms = client.get(f"{BEACON}/filtering_terms", params={"limit": 0}).json()
        configuration = client.get(f"{BEACON}/configuration").json()
        info = wait_for(lambda: info_listing_members(client, 3))
    ids = [d["id"] for d in answer["response"]["collections"]]
    assert ids == ["NATIONAL", "north:NORTH", "south:SOUTH", "east:EAST"]
    assert answer["response"]["collections"][1]["info"]["member"]["id"] == "north"
    assert answer["responseSummary"]["numTotalResults"] == 4
    direct = set()
    for name in ("north", "south", "east"):
        got = httpx.get(f"{members[name].base_url}{BEACON}/filtering_terms?limit=0").json()
        direct |= {t["id"] for t in got["response"]["filteringTerms"]}
    listed = [t["id"] for t in terms["response"]["filteringTerms"]]
    assert len(listed) == len(set(listed))  # a term several nodes list is listed once
    assert direct <= set(listed)
    assert all(m["stale"] is False for m in terms["info"]["federation"]["members"])
    # the hub holds only PUBLIC data itself; east's dataset is CONTROLLED
    levels = configuration["response"]["securityAttributes"]["securityLevels"]
    assert levels == ["CONTROLLED", "PUBLIC"]
    beacons = {m["memberId"]: m for m in info["response"]["info"]["members"]}
    assert beacons["north"]["beaconId"] == "org.example.north.beacon"
    assert beacons["east"]["stale"] is False


def info_listing_members(client: Any, count: int) -> Any:
    """The hub's /info once it lists ``count`` members' Beacons as fetched."""
    info = client.get(f"{BEACON}/info").json()
    fetched = [m for m in info["response"]["info"]["members"] if "beaconId" in m]
    return info if len(fetched) == count else None
