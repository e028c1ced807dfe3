"""htsget 1.3 over HTTP (in-process): tickets, the signed data endpoint, errors, CORS,
authorization and transcoding. Responses are validated against openapi/htsget.yaml."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pysam
import pytest

from gdi_node.app import create_app
from gdi_node.config.settings import DataListenerSettings
from gdi_node.passport.local_issuer import LocalIssuer
from tests.conftest import shared_path
from tests.support.htsget_setup import ListenerRoutingClient, Registered, node_settings, register
from tests.support.processes import free_port

BASE = "http://testserver"


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    shared_path("data", "htsget")
    tmp = tmp_path_factory.mktemp("htsget")
    return register(node_settings(tmp, BASE), tmp / "store")


@pytest.fixture(params=["object id", "accession"])
def node(registered: Registered, request: pytest.FixtureRequest) -> Registered:
    """The files addressed by the ids the node minted, or by the accessions they were
    registered under: every ticket test runs through both (one id space, decision record
    0029)."""
    return registered.addressed_by(request.param)


@pytest.fixture(scope="module", params=["event-loop", "threads", "data-listener"])
def client(registered: Registered, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The app, with the data endpoint served on the event loop, through the handler, or by
    the zero-copy data listener on a port of its own (ticket URLs then point there)."""
    update: dict[str, Any] = {"data_in_event_loop": request.param == "event-loop"}
    if request.param == "data-listener":
        update["data_listener"] = DataListenerSettings(port=free_port())
    htsget = registered.settings.htsget.model_copy(update=update)
    settings = registered.settings.model_copy(update={"htsget": htsget})
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40000)) as test_client:
        if htsget.data_listener is None:
            yield test_client
            return
        routing = ListenerRoutingClient(test_client, htsget.data_listener.base_url)
        yield routing
        routing.close()


def fetch(client: Any, ticket: dict[str, Any], headers: dict[str, str] | None = None) -> bytes:
    """Concatenate the ticket's URLs as a client would (data: URIs decoded)."""
    import base64

    out = b""
    for entry in ticket["htsget"]["urls"]:
        url = entry["url"]
        if url.startswith("data:"):
            out += base64.b64decode(url.split(",", 1)[1])
            continue
        response = client.get(url, headers={**entry.get("headers", {}), **(headers or {})})
        assert response.status_code == 200, response.text
        out += response.content
    return out


ReadKey = tuple[str | None, int, int]  # name (a read may have none), flag, position


def reads_of(data: bytes, tmp_path: Path, suffix: str = ".bam") -> list[ReadKey]:
    path = tmp_path / f"slice{suffix}"
    path.write_bytes(data)
    with pysam.AlignmentFile(str(path), check_sq=False) as reader:
        return [(r.query_name, r.flag, r.reference_start) for r in reader.fetch(until_eof=True)]


def expected_reads(path: Path, contig: str, start: int, end: int) -> list[ReadKey]:
    with pysam.AlignmentFile(str(path)) as reader:
        return [(r.query_name, r.flag, r.reference_start) for r in reader.fetch(contig, start, end)]


def error_of(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()["htsget"]
    assert body["error"] == code
    message: str = body["message"]
    return message


def token_for(
    node: Registered, datasets: list[str], *, registered: bool = False, ttl: int = 600
) -> str:
    issuer = LocalIssuer.for_settings(node.settings)
    return issuer.passport(node.settings, "tester", datasets, registered=registered, ttl=ttl)


# -- service-info ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("datatype", "formats"), [("reads", ["BAM", "CRAM"]), ("variants", ["VCF", "BCF"])]
)
def test_service_info_advertises_exactly_what_is_honoured(
    client: Any, datatype: str, formats: list[str]
) -> None:
    info = client.get(f"/htsget/{datatype}/service-info").json()
    assert info["type"] == {"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"}
    assert info["htsget"]["datatype"] == datatype
    assert info["htsget"]["formats"] == formats
    assert info["htsget"]["fieldsParameterEffective"] is False
    assert info["htsget"]["tagsParametersEffective"] is False
    modes = {(t["stored"], t["served"]): t["mode"] for t in info["htsget"]["transcoding"]}
    if datatype == "reads":
        assert modes == {
            ("BAM", "BAM"): "native",
            ("CRAM", "CRAM"): "native",
            ("CRAM", "BAM"): "transcoded",
        }
    else:
        assert modes == {
            ("VCF", "VCF"): "native",
            ("BCF", "BCF"): "native",
            ("BCF", "VCF"): "transcoded",
        }


def test_the_registry_lists_htsget(client: Any) -> None:
    types = client.get("/services/types").json()
    assert "org.ga4gh:htsget:1.3.0" in types


# -- tickets and bytes ------------------------------------------------------------------------


def test_bam_region_ticket_streams_every_record_of_the_region(
    client: Any, node: Registered, tmp_path: Path
) -> None:
    ticket = client.get(
        f"/htsget/reads/{node.ids['bam']}?format=BAM&referenceName=11&start=4999976&end=5003000"
    ).json()
    assert ticket["htsget"]["format"] == "BAM"
    got = reads_of(fetch(client, ticket), tmp_path)
    wanted = expected_reads(node.paths["bam"], "11", 4999976, 5003000)
    assert wanted
    assert set(wanted) <= set(got)


def test_whole_file_is_one_range(client: Any, node: Registered) -> None:
    ticket = client.get(f"/htsget/reads/{node.ids['bam']}").json()
    assert len(ticket["htsget"]["urls"]) == 1
    assert fetch(client, ticket) == node.paths["bam"].read_bytes()


def test_header_class_returns_a_header_only_file(
    client: Any, node: Registered, tmp_path: Path
) -> None:
    ticket = client.get(f"/htsget/reads/{node.ids['bam']}?class=header").json()
    assert all(u.get("class") == "header" for u in ticket["htsget"]["urls"])
    data = fetch(client, ticket)
    path = tmp_path / "header.bam"
    path.write_bytes(data)
    with pysam.AlignmentFile(str(path), check_sq=False) as reader:
        assert "11" in reader.references
        assert list(reader.fetch(until_eof=True)) == []


def test_post_with_several_regions(client: Any, node: Registered, tmp_path: Path) -> None:
    body = {
        "format": "BAM",
        "regions": [
            {"referenceName": "11", "start": 5000000, "end": 5001000},
            {"referenceName": "20", "start": 0, "end": 2000000},
            {"referenceName": "*"},
        ],
    }
    ticket = client.post(f"/htsget/reads/{node.ids['bam']}", json=body).json()
    got = set(reads_of(fetch(client, ticket), tmp_path))
    assert set(expected_reads(node.paths["bam"], "11", 5000000, 5001000)) <= got
    assert set(expected_reads(node.paths["bam"], "20", 0, 2000000)) <= got
    assert sum(1 for name, flag, pos in got if pos == -1) >= 12000  # unplaced unmapped reads


def test_vcf_region_ticket(client: Any, node: Registered, tmp_path: Path) -> None:
    with pysam.VariantFile(str(node.paths["vcf"])) as source:
        contig = next(iter(source.fetch())).chrom
        wanted = [(r.chrom, r.pos) for r in source.fetch(contig)]
    ticket = client.get(f"/htsget/variants/{node.ids['vcf']}?referenceName={contig}").json()
    path = tmp_path / "slice.vcf.gz"
    path.write_bytes(fetch(client, ticket))
    with pysam.VariantFile(str(path)) as got:
        received = [(r.chrom, r.pos) for r in got]
    assert set(wanted) <= set(received)  # whole blocks may bring neighbours (allowed)


def test_cram_asked_as_bam_is_transcoded(client: Any, node: Registered, tmp_path: Path) -> None:
    ticket = client.get(
        f"/htsget/reads/{node.ids['cram']}?format=BAM&referenceName=11&start=5000000&end=5010000"
    ).json()
    assert ticket["htsget"]["format"] == "BAM"
    data = fetch(client, ticket)
    assert data[:2] == b"\x1f\x8b"
    got = reads_of(data, tmp_path)
    with pysam.AlignmentFile(str(node.paths["cram"])) as cram:
        wanted = [
            (r.query_name, r.flag, r.reference_start) for r in cram.fetch("11", 5000000, 5010000)
        ]
    assert got == wanted


def test_bcf_asked_as_vcf_is_transcoded(client: Any, node: Registered, tmp_path: Path) -> None:
    ticket = client.get(f"/htsget/variants/{node.ids['bcf']}?format=VCF").json()
    path = tmp_path / "t.vcf.gz"
    path.write_bytes(fetch(client, ticket))
    with pysam.VariantFile(str(path)) as got, pysam.VariantFile(str(node.paths["bcf"])) as src:
        assert [(r.chrom, r.pos, r.alts) for r in got] == [(r.chrom, r.pos, r.alts) for r in src]


def test_cram_natively(client: Any, node: Registered, tmp_path: Path) -> None:
    ticket = client.get(
        f"/htsget/reads/{node.ids['cram']}?format=CRAM&referenceName=11&start=5000000&end=5010000"
    ).json()
    got = reads_of(fetch(client, ticket), tmp_path, ".cram")
    with pysam.AlignmentFile(str(node.paths["cram"])) as cram:
        wanted = {
            (r.query_name, r.flag, r.reference_start) for r in cram.fetch("11", 5000000, 5010000)
        }
    assert wanted <= set(got)


# -- errors in the htsget envelope -------------------------------------------------------------


def test_unknown_object_is_not_found(client: Any) -> None:
    error_of(client.get("/htsget/reads/no-such-object"), 404, "NotFound")


def test_variants_object_is_not_a_reads_object(client: Any, node: Registered) -> None:
    error_of(client.get(f"/htsget/reads/{node.ids['vcf']}"), 404, "NotFound")


def test_unknown_reference_is_not_found(client: Any, node: Registered) -> None:
    error_of(client.get(f"/htsget/reads/{node.ids['bam']}?referenceName=chrZZ"), 404, "NotFound")


def test_unsupported_format(client: Any, node: Registered) -> None:
    error_of(client.get(f"/htsget/reads/{node.ids['bam']}?format=CRAM"), 400, "UnsupportedFormat")
    error_of(client.get(f"/htsget/variants/{node.ids['vcf']}?format=BCF"), 400, "UnsupportedFormat")
    error_of(client.get(f"/htsget/reads/{node.ids['bam']}?format=SAM"), 400, "InvalidInput")


def test_start_after_end_is_invalid_range(client: Any, node: Registered) -> None:
    response = client.get(f"/htsget/reads/{node.ids['bam']}?referenceName=11&start=10&end=5")
    error_of(response, 400, "InvalidRange")


@pytest.mark.parametrize(
    "query",
    [
        "start=10",  # no referenceName
        "referenceName=*&start=1",  # * takes no range
        "tags=MD&notags=MD",  # both
        "fields=NOPE",  # not a SAM field
        "start=-1&referenceName=11",
    ],
)
def test_invalid_input(client: Any, node: Registered, query: str) -> None:
    error_of(client.get(f"/htsget/reads/{node.ids['bam']}?{query}"), 400, "InvalidInput")


def test_fields_and_tags_are_accepted_and_ignored(client: Any, node: Registered) -> None:
    plain = client.get(f"/htsget/reads/{node.ids['bam']}?referenceName=11").json()
    filtered = client.get(
        f"/htsget/reads/{node.ids['bam']}?referenceName=11&fields=QNAME,POS&tags=MD&notags=OQ"
    ).json()
    assert [u["url"].split("&exp")[0] for u in plain["htsget"]["urls"]] == [
        u["url"].split("&exp")[0] for u in filtered["htsget"]["urls"]
    ]


# -- authorization -------------------------------------------------------------------------------


def test_controlled_object_needs_a_grant(client: Any, node: Registered) -> None:
    url = f"/htsget/reads/{node.ids['ctrl_bam']}?referenceName=11"
    error_of(client.get(url), 401, "InvalidAuthentication")
    registered = token_for(node, [], registered=True)
    error_of(
        client.get(url, headers={"Authorization": f"Bearer {registered}"}), 403, "PermissionDenied"
    )
    granted = token_for(node, ["CTRL"], ttl=300)
    ticket = client.get(url, headers={"Authorization": f"Bearer {granted}"}).json()
    exps = [
        int(u["url"].split("exp=")[1].split("&")[0])
        for u in ticket["htsget"]["urls"]
        if not u["url"].startswith("data:")
    ]
    assert exps
    assert max(exps) <= int(time.time()) + 300  # no later than the visa
    assert fetch(client, ticket)  # the data URLs need no token


def test_passports_in_the_post_body(client: Any, node: Registered) -> None:
    granted = token_for(node, ["CTRL"])
    response = client.post(
        f"/htsget/reads/{node.ids['ctrl_bam']}",
        json={"passports": [granted], "regions": [{"referenceName": "11"}]},
    )
    assert response.status_code == 200


def test_tampered_or_expired_data_url_is_refused(client: Any, node: Registered) -> None:
    ticket = client.get(f"/htsget/reads/{node.ids['bam']}?referenceName=11").json()
    url = next(u["url"] for u in ticket["htsget"]["urls"] if not u["url"].startswith("data:"))
    error_of(client.get(url.replace("sig=", "sig=x")), 401, "InvalidAuthentication")
    error_of(client.get(url.replace("sig=", "sig=%C3%A9")), 401, "InvalidAuthentication")
    widened = url.replace("part=b%3A", "part=b%3A0")
    error_of(client.get(widened), 401, "InvalidAuthentication")
    exp = int(url.split("exp=")[1].split("&")[0])
    error_of(
        client.get(url.replace(f"exp={exp}", f"exp={exp + 1000}")), 401, "InvalidAuthentication"
    )


def test_data_endpoint_supports_range(client: Any, node: Registered) -> None:
    ticket = client.get(f"/htsget/reads/{node.ids['bam']}").json()
    url = ticket["htsget"]["urls"][0]["url"]
    whole = node.paths["bam"].read_bytes()
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    assert part.content == whole[100:200]
    tail = client.get(url, headers={"Range": "bytes=-28"})
    assert tail.content == whole[-28:]
    error_of(client.get(url, headers={"Range": f"bytes={len(whole)}-"}), 416, "InvalidRange")


# -- CORS ---------------------------------------------------------------------------------------


def test_cors_preflight_allows_authorization(client: Any, node: Registered) -> None:
    response = client.options(
        f"/htsget/reads/{node.ids['bam']}",
        headers={
            "Origin": "https://igv.example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization,cache-control",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://igv.example.org"
    assert "authorization" in response.headers["access-control-allow-headers"]
    assert int(response.headers["access-control-max-age"]) >= 3600


def test_cors_headers_on_tickets_data_and_errors(client: Any, node: Registered) -> None:
    origin = {"Origin": "https://igv.example.org"}
    ticket = client.get(f"/htsget/reads/{node.ids['bam']}", headers=origin)
    assert ticket.headers["access-control-allow-origin"] == "https://igv.example.org"
    data = client.get(
        ticket.json()["htsget"]["urls"][0]["url"], headers={**origin, "Range": "bytes=0-9"}
    )
    assert data.headers["access-control-allow-origin"] == "https://igv.example.org"
    assert "Content-Range" in data.headers["access-control-expose-headers"]
    missing = client.get("/htsget/reads/nope", headers=origin)
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == "https://igv.example.org"


def test_cram_without_its_reference_is_refused_before_streaming(tmp_path: Path) -> None:
    from gdi_node.bootstrap import open_ingestor
    from gdi_node.demo.synthetic import generate_demo_data

    files = generate_demo_data(tmp_path / "files")  # its CRAM does not embed the reference
    settings = node_settings(tmp_path, BASE)
    with open_ingestor(settings) as ingestor:
        cram_id = ingestor.ingest([files.cram], "OPEN")[0].object_id
    url = f"/htsget/reads/{cram_id}?format=BAM&referenceName=chr1&start=0&end=5000"
    with create_app(settings).test_client(client=("127.0.0.1", 1)) as bare:
        message = error_of(bare.get(url), 503, "Unavailable")
        assert "reference_fasta" in message
    with_reference = settings.model_copy(
        update={"htsget": settings.htsget.model_copy(update={"reference_fasta": files.reference})}
    )
    with create_app(with_reference).test_client(client=("127.0.0.1", 1)) as configured:
        ticket = configured.get(url).json()
        got = reads_of(fetch(configured, ticket), tmp_path)
    with pysam.AlignmentFile(str(files.cram), reference_filename=str(files.reference)) as cram:
        assert got == [
            (r.query_name, r.flag, r.reference_start) for r in cram.fetch("chr1", 0, 5000)
        ]


def test_ids_with_slashes_reach_htsget(client: Any) -> None:
    message = error_of(client.get("/htsget/reads/cohort/sample-1/run-2"), 404, "NotFound")
    assert "cohort/sample-1/run-2" in message


def test_oversized_post_body_is_413_in_the_htsget_envelope(client: Any, node: Registered) -> None:
    regions = [{"referenceName": "11", "start": n, "end": n + 1} for n in range(60_000)]
    response = client.post(f"/htsget/reads/{node.ids['bam']}", json={"regions": regions})
    error_of(response, 413, "PayloadTooLarge")


def test_a_file_changed_on_disk_is_not_served(
    client: Any, node: Registered, tmp_path: Path
) -> None:
    import shutil

    from gdi_node.bootstrap import open_ingestor

    copy = tmp_path / "changing.vcf.gz"
    shutil.copy(node.paths["spec_vcf"], copy)
    shutil.copy(f"{node.paths['spec_vcf']}.tbi", f"{copy}.tbi")
    with open_ingestor(node.settings) as ingestor:
        object_id = ingestor.ingest([copy], "OPEN")[0].object_id
    ticket = client.get(f"/htsget/variants/{object_id}").json()
    url = ticket["htsget"]["urls"][0]["url"]
    assert client.get(url).status_code == 200
    with copy.open("ab") as handle:
        handle.write(b"tampered")
    message = error_of(client.get(url), 404, "NotFound")
    assert "changed since registration" in message
