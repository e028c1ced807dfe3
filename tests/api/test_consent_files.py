"""Research opt-out ends research access to the person's files (decision record 0012): DRS
objects, access URLs and bulk requests, htsget tickets and the data endpoint (on the event
loop, in threads and on the zero-copy listener), including URLs issued before the opt-out;
files aliased to the individual, their biosample, their run (also a run naming only the
biosample) and their VCF column, and a joint VCF holding their sample. Other files stay
served, opting in restores access, each refusal is a deny in the audit trail, and callers
without a file permit learn nothing of consent. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gdi_node.app import create_app
from gdi_node.beacon.ingest.consent import ConsentRegistry
from gdi_node.beacon.ingest.metadata import MetadataIngestor
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions, open_ingestor
from gdi_node.config.settings import DataListenerSettings, Settings
from gdi_node.passport.local_issuer import LocalIssuer
from tests.api.test_permissions_api import audit_rows
from tests.conftest import shared_path
from tests.support.beacon_data import write_vcf
from tests.support.beacon_metadata import sample_sheet, write_metadata
from tests.support.htsget_setup import ListenerRoutingClient, node_settings
from tests.support.processes import GDI_NODE, free_port, running_node, write_config

DRS = "/ga4gh/drs/v1"
BEACON = "/ga4gh/beacon/v2"
SAMPLES = [f"S{n}" for n in range(1, 11)]
RECORDS = ["chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 10)]
OPTED_OUT = ["IND-2", "IND-3", "IND-4", "IND-5", "IND-6"]
# file key -> (dataset, alias): whose file it is
FILES = {
    "individual": ("OPEN", "IND-2"),
    "biosample": ("OPEN", "BS-3"),
    "run": ("OPEN", "RUN-4"),
    "biosample_only_run": ("OPEN", "AN-5B"),  # analysis of RUN-5B, a run naming only BS-5
    "vcf_column": ("OPEN", "S6"),
    "someone_else": ("OPEN", "IND-1"),
    "nobody": ("OPEN", None),
    "controlled": ("CTRL", "IND-2"),
}
WITHHELD = ["individual", "biosample", "run", "biosample_only_run", "vcf_column"]
SERVED = ["someone_else", "nobody"]
REFUSAL = "withdrew consent"


@dataclass
class Node:
    settings: Settings
    ids: dict[str, str]  # FILES keys and "joint_vcf" -> object id

    def opt_out(self, individuals: list[str]) -> None:
        with migrated_sessions(self.settings) as sessions:
            ConsentRegistry(sessions).opt_out(individuals, "withdrew consent for research")

    def opt_in(self, individuals: list[str]) -> None:
        with migrated_sessions(self.settings) as sessions:
            ConsentRegistry(sessions).opt_in(individuals)


def build_node(tmp: Path, database_url: str | None) -> Node:
    """Metadata IND-1..10 (BS-n, RUN-n, AN-n) plus RUN-5B/AN-5B linked only through BS-5;
    the joint VCF of S1..S10 (sample sheet: S-n is IND-n) loaded into the Beacon and registered
    as a file; a BAM per entry of FILES aliased to its owner's id."""
    settings = node_settings(tmp, "http://testserver", database_url)
    vcf = write_vcf(tmp / "joint.vcf.gz", SAMPLES, RECORDS)
    extra = tmp / "extra"
    extra.mkdir()
    (extra / "runs.json").write_text(
        json.dumps([{"id": "RUN-5B", "biosampleId": "BS-5", "runDate": "2026-03-01"}])
    )
    (extra / "analyses.json").write_text(
        json.dumps(
            [
                {
                    "id": "AN-5B",
                    "runId": "RUN-5B",
                    "analysisDate": "2026-03-02",
                    "pipelineName": "dragen-4.2",
                }
            ]
        )
    )
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(vcf, "OPEN", sample_sheet=sample_sheet(tmp / "s.tsv"))
        metadata = MetadataIngestor(sessions)
        metadata.ingest(write_metadata(tmp / "metadata"), "OPEN")
        metadata.ingest(sorted(extra.iterdir()), "OPEN")
    bam = shared_path("data", "htsget", "bam", "htsnexus_test_NA12878.bam")
    store = tmp / "store"
    store.mkdir()
    ids = {}
    with open_ingestor(settings) as ingestor:
        for key, (dataset, alias) in FILES.items():
            shutil.copy(bam, store / f"{key}.bam")
            shutil.copy(bam.with_suffix(".bam.bai"), store / f"{key}.bam.bai")
            aliases = [alias] if alias else []
            (result,) = ingestor.ingest([store / f"{key}.bam"], dataset, aliases=aliases)
            ids[key] = result.object_id
        ids["joint_vcf"] = ingestor.ingest([vcf], "OPEN")[0].object_id
    return Node(settings, ids)


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Node:
    return build_node(tmp_path, database_url)


@contextmanager
def client_of(settings: Settings, mode: str = "event-loop") -> Iterator[Any]:
    """The app with the data endpoint on the event loop, in threads or on the listener."""
    update: dict[str, Any] = {"data_in_event_loop": mode == "event-loop"}
    if mode == "data-listener":
        update["data_listener"] = DataListenerSettings(port=free_port())
    htsget = settings.htsget.model_copy(update=update)
    app = create_app(settings.model_copy(update={"htsget": htsget}), validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40000)) as test_client:
        if htsget.data_listener is None:
            yield test_client
            return
        routing = ListenerRoutingClient(test_client, htsget.data_listener.base_url)
        try:
            yield routing
        finally:
            routing.close()


def bearer(node: Node, datasets: list[str]) -> dict[str, str]:
    token = LocalIssuer.for_settings(node.settings).passport(node.settings, "alice", datasets)
    return {"Authorization": f"Bearer {token}"}


def refused(response: Any, status: int = 403) -> str:
    """The message of a refusal, in the DRS or the htsget error shape."""
    assert response.status_code == status, response.text
    body = response.json()
    return str(body["htsget"]["message"] if "htsget" in body else body["msg"])


def ticket_url(client: Any, object_id: str, datatype: str = "reads") -> str:
    """The first data URL of a whole-file ticket."""
    response = client.get(f"/htsget/{datatype}/{object_id}")
    assert response.status_code == 200, response.text
    urls = [u["url"] for u in response.json()["htsget"]["urls"] if u["url"].startswith("http")]
    return str(urls[0])


def test_drs_refuses_the_objects_of_a_person_who_opted_out_until_they_opt_in(node: Node) -> None:
    with client_of(node.settings) as client:
        issued = {
            key: client.get(f"{DRS}/objects/{node.ids[key]}/access/https").json()["url"]
            for key in WITHHELD
        }
        node.opt_out(OPTED_OUT)
        for key in WITHHELD:
            object_id = node.ids[key]
            assert REFUSAL in refused(client.get(f"{DRS}/objects/{object_id}")), key
            assert REFUSAL in refused(client.post(f"{DRS}/objects/{object_id}", json={}))
            assert REFUSAL in refused(client.get(f"{DRS}/objects/{object_id}/access/https"))
            for suffix in (".bai", ".bundle"):  # its index and its bundle are the person's too
                refused(client.get(f"{DRS}/objects/{object_id}{suffix}"))
            refused(client.get(f"{DRS}/objects/{object_id}.bai/access/https"))
            assert REFUSAL in refused(client.get(issued[key]))  # issued before the opt-out
        by_alias = client.get(f"{DRS}/objects/BS-3")  # an alias resolves to the same refusal
        assert REFUSAL in refused(by_alias)
        for key in SERVED:
            assert client.get(f"{DRS}/objects/{node.ids[key]}").status_code == 200

        wanted = [node.ids[k] for k in (*WITHHELD, *SERVED)]
        bulk = client.post(f"{DRS}/objects", json={"bulk_object_ids": wanted}).json()
        assert bulk["unresolved_drs_objects"] == [
            {"error_code": 403, "object_ids": [node.ids[k] for k in WITHHELD]}
        ]
        assert [o["id"] for o in bulk["resolved_drs_object"]] == [node.ids[k] for k in SERVED]
        body = {"bulk_object_access_ids": [{"bulk_object_id": i, "bulk_access_ids": ["https"]}
                                           for i in wanted]}  # fmt: skip
        access = client.post(f"{DRS}/objects/access", json=body).json()
        assert access["unresolved_drs_objects"][0]["object_ids"] == [node.ids[k] for k in WITHHELD]
        urls = access["resolved_drs_object_access_urls"]
        assert [u["drs_object_id"] for u in urls] == [node.ids[k] for k in SERVED]

        node.opt_in(OPTED_OUT)
        for key in WITHHELD:
            assert client.get(f"{DRS}/objects/{node.ids[key]}").status_code == 200
            assert client.get(issued[key]).status_code == 200  # the old URL works again


@pytest.mark.parametrize("mode", ["event-loop", "threads", "data-listener"])
def test_htsget_refuses_tickets_and_data_of_a_person_who_opted_out_even_when_issued_before(
    node: Node, mode: str
) -> None:
    with client_of(node.settings, mode) as client:
        issued = {key: ticket_url(client, node.ids[key]) for key in (*WITHHELD, *SERVED)}
        node.opt_out(OPTED_OUT)
        for key in WITHHELD:
            object_id = node.ids[key]
            assert REFUSAL in refused(client.get(f"/htsget/reads/{object_id}")), key
            assert REFUSAL in refused(client.post(f"/htsget/reads/{object_id}", json={}))
            assert REFUSAL in refused(client.get(issued[key]))
            assert client.get(issued[key]).json()["htsget"]["error"] == "PermissionDenied"
        for key in SERVED:
            assert client.get(issued[key]).status_code == 200
            assert ticket_url(client, node.ids[key])
        node.opt_in(OPTED_OUT)
        for key in WITHHELD:
            assert client.get(issued[key]).status_code == 200
            assert ticket_url(client, node.ids[key])


def test_a_joint_vcf_holding_an_opted_out_persons_sample_is_withheld_whole(node: Node) -> None:
    """The VCF of S1..S10 loaded into the Beacon is the same file as the registered one
    (same SHA-256): one opt-out among its ten people withholds it whole."""
    object_id = node.ids["joint_vcf"]
    with client_of(node.settings) as client:
        issued = ticket_url(client, object_id, "variants")
        node.opt_out(["IND-9"])
        assert REFUSAL in refused(client.get(f"/htsget/variants/{object_id}"))
        assert REFUSAL in refused(client.get(issued))
        assert REFUSAL in refused(client.get(f"{DRS}/objects/{object_id}"))
        assert client.get(f"{DRS}/objects/{node.ids['individual']}").status_code == 200
        node.opt_in(["IND-9"])
        assert client.get(issued).status_code == 200


def test_a_consent_refusal_is_audited_as_a_deny_for_the_object(node: Node) -> None:
    object_id = node.ids["run"]
    with client_of(node.settings) as client:
        issued = ticket_url(client, object_id)
        node.opt_out(["IND-4"])
        refused(client.get(f"{DRS}/objects/{object_id}", headers={"X-Request-ID": "drs-1"}))
        refused(client.get(f"/htsget/reads/{object_id}", headers={"X-Request-ID": "ticket-1"}))
        refused(client.get(issued, headers={"X-Request-ID": "data-1"}))
        client.app.app.config["GDI_NODE_RUNTIME"].authorization.audit.flush()
    rows = {r["request_id"]: r for r in audit_rows(node.settings) if r["request_id"]}
    for request_id, operation in (
        ("drs-1", "drs.GetObject"),
        ("ticket-1", "htsget.searchReads"),
        ("data-1", "htsget.getData"),
    ):
        row = rows[request_id]
        assert (row["decision"], row["disclosure"]) == ("deny", "file"), row
        assert (row["operation"], row["object_id"], row["dataset_id"]) == (
            operation,
            object_id,
            "OPEN",
        )


def test_a_caller_without_a_file_permit_learns_nothing_of_consent(node: Node) -> None:
    object_id = node.ids["controlled"]
    grant = bearer(node, ["CTRL"])
    with client_of(node.settings) as client:
        node.opt_out(["IND-2"])
        anonymous = client.get(f"{DRS}/objects/{object_id}")
        assert REFUSAL not in refused(anonymous, 401)  # what it answers without an opt-out
        foreign = client.get(f"{DRS}/objects/{object_id}", headers=bearer(node, ["OPEN"]))
        assert REFUSAL not in refused(foreign, 403)
        assert REFUSAL not in refused(client.get(f"/htsget/reads/{object_id}"), 401)
        assert REFUSAL in refused(client.get(f"{DRS}/objects/{object_id}", headers=grant))
        assert REFUSAL in refused(client.get(f"/htsget/reads/{object_id}", headers=grant))


def test_beacon_hands_over_no_file_that_drs_withholds(node: Node) -> None:
    """The dataset's handovers leave out the files of IND-5 (an analysis of a run that names
    only IND-5's biosample) and the joint VCF holding IND-5's sample."""
    with client_of(node.settings) as client:

        def handed_over() -> set[str]:
            document = client.get(f"{BEACON}/datasets/OPEN").json()
            return {h["url"].rsplit("/", 1)[-1] for h in document.get("beaconHandovers", [])}

        before = handed_over()
        assert {node.ids["biosample_only_run"], node.ids["joint_vcf"]} <= before
        node.opt_out(["IND-5"])
        after = handed_over()
        assert before - after == {node.ids["biosample_only_run"], node.ids["joint_vcf"]}


@pytest.mark.slow
def test_an_opt_out_reaches_every_worker_of_a_served_node_at_the_next_request(
    tmp_path: Path, database_url: str
) -> None:
    """``gdi-node serve`` with two workers and the data listener; ``gdi-node consent opt-out``
    from another process; no restart. Every request is a fresh connection, so the kernel
    spreads them over both workers, whose consent state was warmed before the opt-out."""
    node = build_node(tmp_path, database_url)
    port, data_port = free_port(), free_port()
    config = write_config(tmp_path / "node.yaml", node.settings, port)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["server"]["workers"] = 2
    data["htsget"]["data_listener"] = {"port": data_port}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    object_id = node.ids["individual"]

    def consent(command: str) -> None:
        args = [str(GDI_NODE), "--config", str(config), "consent", command, "--individual", "IND-2"]
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr

    with running_node(["--config", str(config), "serve"], port, tmp_path) as served:
        base = served.base_url
        ticket = httpx.get(f"{base}/htsget/reads/{object_id}").json()
        data_url = ticket["htsget"]["urls"][0]["url"]
        assert data_url.startswith(f"http://127.0.0.1:{data_port}/")
        access_url = httpx.get(f"{base}{DRS}/objects/{object_id}/access/https").json()["url"]
        urls = {
            "drs object": f"{base}{DRS}/objects/{object_id}",
            "htsget ticket": f"{base}/htsget/reads/{object_id}",
            "ticket url (listener)": data_url,
            "ticket url (main port)": data_url.replace(f":{data_port}/", f":{port}/", 1),
            "drs access url": access_url,
        }

        def statuses() -> dict[str, set[int]]:
            found: dict[str, set[int]] = {}
            for _ in range(8):
                for name, url in urls.items():
                    reply = httpx.get(url, headers={"Range": "bytes=0-99"})
                    found.setdefault(name, set()).add(reply.status_code)
            return found

        assert all(codes <= {200, 206} for codes in statuses().values())
        consent("opt-out")
        assert statuses() == {name: {403} for name in urls}
        consent("opt-in")
        assert all(codes <= {200, 206} for codes in statuses().values())


def test_beacon_lists_no_record_linked_to_a_person_who_opted_out(node: Node) -> None:
    """RUN-5B names only IND-5's biosample and AN-5B only that run: after IND-5 opts out,
    Beacon lists neither, as DRS withholds their files; opting in lists them again."""
    with client_of(node.settings) as client:

        def listed(path: str) -> set[str]:
            answer = client.get(f"{BEACON}/{path}?requestedGranularity=record&limit=100")
            assert answer.status_code == 200, answer.text
            return {
                record["id"]
                for result_set in answer.json()["response"]["resultSets"]
                for record in result_set["results"]
            }

        assert {"RUN-5B", "RUN-5"} <= listed("runs")
        assert {"AN-5B", "AN-5"} <= listed("analyses")
        node.opt_out(["IND-5"])
        assert not {"RUN-5B", "RUN-5"} & listed("runs")
        assert not {"AN-5B", "AN-5"} & listed("analyses")
        assert "RUN-4" in listed("runs")
        node.opt_in(["IND-5"])
        assert "RUN-5B" in listed("runs")
