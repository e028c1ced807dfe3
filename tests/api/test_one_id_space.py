"""One id space for DRS and htsget (decision record 0029): every name DRS resolves (object id,
file name, accession) resolves in htsget to the same object under the same permit; a name
naming several objects is a 409 in each API's own envelope (a 404 to a caller who may not know
one of them exists), never a guess. Responses are validated against openapi/ by connexion."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from gdi_node.app import create_app
from gdi_node.bootstrap import migrated_sessions, open_ingestor
from gdi_node.config.settings import Settings
from gdi_node.db.models import AuditRecord, ObjectAlias
from gdi_node.passport.local_issuer import LocalIssuer
from tests.conftest import shared_path
from tests.support.htsget_setup import ACCESSIONS, Registered, node_settings, register

BASE = "http://testserver"
DRS = "/ga4gh/drs/v1"
DATATYPE = {"bam": "reads", "cram": "reads", "ctrl_bam": "reads"}  # the rest are variants
HIDDEN_ACCESSION = "NGC-HIDDEN-000001"
SAMPLE = "NGC-000200"  # a sample accession naming the sample's BAM and its VCF


@dataclass
class Node:
    registered: Registered
    legacy: tuple[str, str]  # (object id also given to another object as an alias, that object)
    sample: tuple[str, str]  # (reads, variants) object ids of the sample accession SAMPLE


def with_hidden_dataset(settings: Settings) -> Settings:
    """The test node plus HIDDEN: anonymous and registered callers may not know it exists."""
    data = settings.model_dump(mode="json")
    data["datasets"].append(
        {
            "id": "HIDDEN",
            "name": "Hidden test data",
            "security_level": "CONTROLLED",
            "disclosure": {"anonymous": "none", "registered": "none", "controlled": "file"},
        }
    )
    return Settings.model_validate(data)


def copy_spec_vcf(registered: Registered, folder: Path, name: str) -> Path:
    source = registered.paths["spec_vcf"]
    folder.mkdir(parents=True)
    shutil.copy(source, folder / name)
    shutil.copy(f"{source}.tbi", folder / f"{name}.tbi")
    return folder / name


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Node:
    """The shared files under their accessions, and names made ambiguous on purpose:
    ``twin.vcf.gz`` (two OPEN files), ``shadow.vcf.gz`` (an OPEN and a HIDDEN file), a
    sample accession naming a BAM and a VCF, and an object id that another object carries as
    an alias (possible only in catalogues written before registration refused it)."""
    shared_path("data", "htsget")
    tmp = tmp_path_factory.mktemp("ids")
    registered = register(with_hidden_dataset(node_settings(tmp, BASE)), tmp / "store")
    extra = tmp / "extra"
    placed = [
        ("twin.vcf.gz", "a", "OPEN", []),
        ("twin.vcf.gz", "b", "OPEN", []),
        ("shadow.vcf.gz", "c", "OPEN", []),
        ("shadow.vcf.gz", "d", "HIDDEN", [HIDDEN_ACCESSION]),
        ("legacy-a.vcf.gz", "e", "OPEN", []),
        ("legacy-b.vcf.gz", "f", "OPEN", []),
    ]
    ids = []
    with open_ingestor(registered.settings) as ingestor:
        for name, folder, dataset, aliases in placed:
            path = copy_spec_vcf(registered, extra / folder, name)
            ids.append(ingestor.ingest([path], dataset, aliases=aliases)[0].object_id)
        sample_bam = extra / "s" / "sample-200.bam"
        sample_bam.parent.mkdir()
        shutil.copy(registered.paths["bam"], sample_bam)
        shutil.copy(f"{registered.paths['bam']}.bai", f"{sample_bam}.bai")
        reads = ingestor.ingest([sample_bam], "OPEN", aliases=[SAMPLE])[0].object_id
        variants = copy_spec_vcf(registered, extra / "v", "sample-200.vcf.gz")
        calls = ingestor.ingest([variants], "OPEN", aliases=[SAMPLE])[0].object_id
    registered.object_ids["hidden"] = ids[3]
    legacy = (ids[4], ids[5])
    with migrated_sessions(registered.settings) as sessions, sessions() as session:
        session.add(ObjectAlias(alias=legacy[0], object_id=legacy[1]))
        session.commit()
    return Node(registered, legacy, (reads, calls))


@pytest.fixture(scope="module")
def app(node: Node) -> Any:
    return create_app(node.registered.settings, validate_responses=True)


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[Any]:
    """A caller inside the residency networks (127.0.0.0/8)."""
    with app.test_client(client=("127.0.0.1", 40000)) as test_client:
        yield test_client


def bearer(node: Node, datasets: list[str]) -> dict[str, str]:
    settings = node.registered.settings
    token = LocalIssuer.for_settings(settings).passport(settings, "id-user", datasets)
    return {"Authorization": f"Bearer {token}"}


def ticket_path(name: str, datatype: str = "variants") -> str:
    return f"/htsget/{datatype}/{quote(name, safe='')}"


def drs_path(name: str) -> str:
    return f"{DRS}/objects/{quote(name, safe='')}"


def data_ids(ticket: dict[str, Any]) -> set[str]:
    """The object ids the ticket's signed URLs serve bytes of."""
    return {
        u["url"].split("/htsget/data/")[1].split("?")[0]
        for u in ticket["htsget"]["urls"]
        if "/htsget/data/" in u["url"]
    }


def test_every_alias_drs_resolves_resolves_in_htsget_to_the_same_object(
    client: Any, node: Node
) -> None:
    reg = node.registered
    granted = bearer(node, ["CTRL"])
    for key, object_id in reg.object_ids.items():
        if key == "hidden":
            continue
        datatype = DATATYPE.get(key, "variants")
        by_accession = client.get(drs_path(ACCESSIONS[key]), headers=granted)
        assert by_accession.status_code == 200, by_accession.text
        drs_object = by_accession.json()
        assert drs_object["id"] == object_id
        assert ACCESSIONS[key] in drs_object["aliases"]
        assert reg.paths[key].name in drs_object["aliases"]
        for name in [object_id, *drs_object["aliases"]]:
            ticket = client.get(ticket_path(name, datatype), headers=granted)
            assert ticket.status_code == 200, (name, ticket.text)
            assert data_ids(ticket.json()) == {object_id}, name


def test_an_accession_gets_exactly_the_permit_of_its_object(client: Any, node: Node) -> None:
    reg = node.registered
    cases = [
        (reg.object_ids["ctrl_bam"], ACCESSIONS["ctrl_bam"], "reads"),
        (reg.object_ids["hidden"], HIDDEN_ACCESSION, "variants"),
    ]
    callers = [{}, bearer(node, ["OPEN"]), bearer(node, ["CTRL"]), bearer(node, ["HIDDEN"])]
    seen: set[tuple[int, int]] = set()
    for object_id, accession, datatype in cases:
        for headers in callers:
            statuses = set()
            for name in (object_id, accession):
                statuses.add(
                    (
                        client.get(ticket_path(name, datatype), headers=headers).status_code,
                        client.get(drs_path(name), headers=headers).status_code,
                    )
                )
            assert len(statuses) == 1, (accession, headers, statuses)
            seen.add(statuses.pop())
    assert seen == {(401, 401), (403, 403), (200, 200), (404, 404)}, seen
    anonymous = client.get(ticket_path(ACCESSIONS["ctrl_bam"], "reads"))
    assert anonymous.status_code == 401
    assert anonymous.json()["htsget"]["error"] == "InvalidAuthentication"


def test_a_ticket_by_accession_is_audited_for_the_object(client: Any, node: Node) -> None:
    object_id = node.registered.object_ids["ctrl_bam"]
    response = client.get(
        ticket_path(ACCESSIONS["ctrl_bam"], "reads"), headers=bearer(node, ["CTRL"])
    )
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    with migrated_sessions(node.registered.settings) as sessions, sessions() as session:
        rows = session.scalars(select(AuditRecord).where(AuditRecord.request_id == request_id))
        assert [(r.object_id, r.decision) for r in rows] == [(object_id, "allow")]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_name_of_two_objects_is_409_in_the_htsget_envelope(client: Any, method: str) -> None:
    body: dict[str, Any] = {"json": {}} if method == "POST" else {}
    response = client.request(method, ticket_path("twin.vcf.gz"), **body)
    assert response.status_code == 409, response.text
    error = response.json()["htsget"]
    assert error["error"] == "Conflict"
    assert "'twin.vcf.gz' names 2 objects" in error["message"]
    assert "\n" not in error["message"]


def test_a_name_of_two_objects_is_409_in_the_drs_envelope(client: Any, node: Node) -> None:
    for response in (
        client.get(drs_path("twin.vcf.gz")),
        client.get(f"{drs_path('twin.vcf.gz')}/access/https"),
        client.options(drs_path("twin.vcf.gz")),
    ):
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["status_code"] == 409
        assert "'twin.vcf.gz' names 2 objects" in body["msg"]
    bulk = client.post(
        f"{DRS}/objects", json={"bulk_object_ids": ["twin.vcf.gz", ACCESSIONS["vcf"]]}
    ).json()
    assert bulk["unresolved_drs_objects"] == [{"error_code": 409, "object_ids": ["twin.vcf.gz"]}]
    assert [o["id"] for o in bulk["resolved_drs_object"]] == [node.registered.object_ids["vcf"]]


def test_an_ambiguous_name_is_404_to_a_caller_who_may_not_know_one_of_its_objects(
    client: Any, node: Node
) -> None:
    for headers in ({}, bearer(node, ["OPEN", "CTRL"])):
        assert client.get(ticket_path("shadow.vcf.gz"), headers=headers).status_code == 404
        assert client.get(drs_path("shadow.vcf.gz"), headers=headers).status_code == 404
    granted = bearer(node, ["HIDDEN"])
    assert client.get(ticket_path("shadow.vcf.gz"), headers=granted).status_code == 409
    assert client.get(drs_path("shadow.vcf.gz"), headers=granted).status_code == 409


def test_an_object_id_another_object_carries_as_an_alias_is_409_not_a_guess(
    client: Any, node: Node
) -> None:
    object_id, other = node.legacy
    assert client.get(ticket_path(object_id)).status_code == 409
    assert client.get(drs_path(object_id)).status_code == 409
    assert data_ids(client.get(ticket_path(other)).json()) == {other}


def test_a_sample_accession_names_one_object_per_htsget_datatype(client: Any, node: Node) -> None:
    reads, variants = node.sample
    assert data_ids(client.get(ticket_path(SAMPLE, "reads")).json()) == {reads}
    assert data_ids(client.get(ticket_path(SAMPLE, "variants")).json()) == {variants}
    drs = client.get(drs_path(SAMPLE))
    assert drs.status_code == 409
    assert drs.json() == {
        "msg": f"{SAMPLE!r} names 2 objects; ask by DRS id or by an accession naming one",
        "status_code": 409,
    }
