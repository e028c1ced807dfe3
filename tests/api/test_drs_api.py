"""DRS 1.5 over HTTP (in-process): objects, indexes, bundles, aliases, access methods per caller,
signed access URLs, bulk requests, Authorizations and CORS. Every response is validated against
openapi/drs.yaml (by connexion) and against the official DRS 1.5 OpenAPI in ../shared/specs."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from gdi_node.app import create_app
from gdi_node.bootstrap import open_ingestor
from gdi_node.passport.local_issuer import LocalIssuer
from tests.conftest import shared_path
from tests.support.drs_spec import check_against_official
from tests.support.htsget_setup import Registered, node_settings, register

BASE = "http://testserver"
DRS = "/ga4gh/drs/v1"
ODD_ALIAS = "EGAF 0001:ä#?x"  # characters a client must percent-encode


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    shared_path("data", "htsget")
    tmp = tmp_path_factory.mktemp("drs")
    registered = register(node_settings(tmp, BASE), tmp / "store")
    with open_ingestor(registered.settings) as ingestor:  # same file again, with an accession
        ingestor.ingest([registered.paths["vcf"]], "OPEN", aliases=[ODD_ALIAS])
    return registered


@pytest.fixture(scope="module")
def app(node: Registered) -> Any:
    return create_app(node.settings, validate_responses=True)


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[Any]:
    """A caller inside the residency networks (127.0.0.0/8)."""
    with app.test_client(client=("127.0.0.1", 40000)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def outsider(app: Any) -> Iterator[Any]:
    """A caller from outside the residency networks."""
    with app.test_client(client=("203.0.113.9", 40000)) as test_client:
        yield test_client


def token(node: Registered, datasets: list[str], ttl: int = 600) -> str:
    issuer = LocalIssuer.for_settings(node.settings)
    return issuer.passport(node.settings, "drs-user", datasets, ttl=ttl)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def ok(response: Any, path: str, method: str = "get") -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    check_against_official(path, method, 200, body)
    return body


def drs_error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status_code"] == status
    message: str = body["msg"]
    return message


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- service-info --------------------------------------------------------------------------------


def test_service_info_has_the_1_5_drs_block(client: Any) -> None:
    info = ok(client.get(f"{DRS}/service-info"), "/service-info")
    assert info["type"] == {"group": "org.ga4gh", "artifact": "drs", "version": "1.5.0"}
    assert info["drs"]["maxBulkRequestLength"] == info["maxBulkRequestLength"] == 1000
    assert info["drs"]["objectCount"] == 6 * 3  # 6 files, 6 indexes, 6 bundles
    assert info["drs"]["totalObjectSize"] > 0


def test_the_registry_lists_drs(client: Any) -> None:
    services = client.get("/services").json()
    drs = next(s for s in services if s["type"]["artifact"] == "drs")
    assert drs["url"] == f"{BASE}{DRS}"


# -- objects -------------------------------------------------------------------------------------


def test_a_file_object_carries_checksums_aliases_and_access_methods(
    client: Any, node: Registered
) -> None:
    object_id = node.ids["bam"]
    obj = ok(client.get(f"{DRS}/objects/{object_id}"), "/objects/{object_id}")
    path = node.paths["bam"]
    assert obj["id"] == object_id
    assert obj["self_uri"] == f"drs://testserver/{object_id}"
    assert obj["size"] == path.stat().st_size
    assert {"type": "sha-256", "checksum": sha256_of(path)} in obj["checksums"]
    assert {c["type"] for c in obj["checksums"]} == {"sha-256", "md5"}
    assert obj["name"] == path.name
    assert path.name in obj["aliases"]
    assert obj["mime_type"] == "application/vnd.ga4gh.bam"
    methods = {m["type"]: m for m in obj["access_methods"]}
    assert set(methods) == {"https", "htsget", "file"}
    assert methods["https"] == {"type": "https", "access_id": "https", "available": True}
    assert methods["htsget"]["access_url"]["url"] == f"{BASE}/htsget/reads/{object_id}"
    assert methods["file"]["access_url"]["url"] == f"file://{path}"


def test_post_with_an_empty_body_is_like_get(client: Any, node: Registered) -> None:
    got = ok(
        client.post(f"{DRS}/objects/{node.ids['vcf']}", json={}), "/objects/{object_id}", "post"
    )
    assert got["id"] == node.ids["vcf"]


def test_aliases_resolve_even_with_characters_to_escape(client: Any, node: Registered) -> None:
    by_name = ok(client.get(f"{DRS}/objects/{node.paths['cram'].name}"), "/objects/{object_id}")
    assert by_name["id"] == node.ids["cram"]
    odd = client.get(f"{DRS}/objects/{quote(ODD_ALIAS, safe='')}")
    assert ok(odd, "/objects/{object_id}")["id"] == node.ids["vcf"]
    assert ODD_ALIAS in odd.json()["aliases"]


def test_an_index_is_an_object_and_the_bundle_holds_both(client: Any, node: Registered) -> None:
    object_id = node.ids["bam"]
    index_path = node.paths["bam"].with_name(node.paths["bam"].name + ".bai")
    index = ok(client.get(f"{DRS}/objects/{object_id}.bai"), "/objects/{object_id}")
    assert index["size"] == index_path.stat().st_size
    assert {"type": "sha-256", "checksum": sha256_of(index_path)} in index["checksums"]
    assert {m["type"] for m in index["access_methods"]} == {"https", "file"}  # no htsget
    bundle = ok(client.get(f"{DRS}/objects/{object_id}.bundle"), "/objects/{object_id}")
    assert [c["id"] for c in bundle["contents"]] == [object_id, f"{object_id}.bai"]
    assert bundle["size"] == node.paths["bam"].stat().st_size + index["size"]
    member_md5 = sorted(
        hashlib.md5(p.read_bytes()).hexdigest() for p in (node.paths["bam"], index_path)
    )
    expected = hashlib.md5("".join(member_md5).encode()).hexdigest()
    assert {"type": "md5", "checksum": expected} in bundle["checksums"]
    assert "access_methods" not in bundle
    expanded = client.get(f"{DRS}/objects/{object_id}.bundle?expand=true").json()
    assert expanded["contents"] == bundle["contents"]


def test_unknown_objects_are_404_in_the_drs_error_shape(client: Any) -> None:
    response = client.get(f"{DRS}/objects/no-such-object")
    assert "no-such-object" in drs_error(response, 404)
    check_against_official("/objects/{object_id}", "get", 404, response.json())


# -- access --------------------------------------------------------------------------------------


def test_https_access_downloads_the_exact_bytes_with_range(client: Any, node: Registered) -> None:
    object_id = node.ids["bcf"]
    access = ok(
        client.get(f"{DRS}/objects/{object_id}/access/https"),
        "/objects/{object_id}/access/{access_id}",
    )
    whole = client.get(access["url"])
    assert whole.status_code == 200
    assert hashlib.sha256(whole.content).hexdigest() == sha256_of(node.paths["bcf"])
    part = client.get(access["url"], headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == node.paths["bcf"].read_bytes()[10:20]
    index = client.get(f"{DRS}/objects/{object_id}.csi/access/https").json()
    csi = node.paths["bcf"].with_name(node.paths["bcf"].name + ".csi")
    assert client.get(index["url"]).content == csi.read_bytes()


def test_unknown_access_ids_and_bundles_have_no_access_url(client: Any, node: Registered) -> None:
    drs_error(client.get(f"{DRS}/objects/{node.ids['bam']}/access/s3"), 404)
    drs_error(client.get(f"{DRS}/objects/{node.ids['bam']}.bundle/access/https"), 404)


def test_controlled_objects_need_a_grant(client: Any, node: Registered) -> None:
    object_id = node.ids["ctrl_bam"]
    url = f"{DRS}/objects/{object_id}"
    anonymous = client.get(url)
    drs_error(anonymous, 401)
    assert "size" not in anonymous.text
    assert node.paths["ctrl_bam"].name not in anonymous.text
    drs_error(client.get(url, headers=bearer(token(node, ["OPEN"]))), 403)  # a foreign visa
    granted = token(node, ["CTRL"])
    assert ok(client.get(url, headers=bearer(granted)), "/objects/{object_id}")["id"] == object_id
    posted = client.post(url, json={"passports": [granted]})
    assert ok(posted, "/objects/{object_id}", "post")["id"] == object_id
    access = client.post(f"{url}/access/https", json={"passports": [granted]})
    assert ok(access, "/objects/{object_id}/access/{access_id}", "post")["url"]
    drs_error(client.get(f"{url}/access/https"), 401)


def test_access_urls_expire_with_the_visas(client: Any, node: Registered) -> None:
    short = token(node, ["CTRL"], ttl=120)
    before = int(time.time())
    access = client.get(
        f"{DRS}/objects/{node.ids['ctrl_bam']}/access/https", headers=bearer(short)
    ).json()
    exp = int(access["url"].split("exp=")[1].split("&")[0])
    assert exp <= before + 121  # not the 900 s default: the visas end first
    public = client.get(f"{DRS}/objects/{node.ids['bam']}/access/https").json()
    assert int(public["url"].split("exp=")[1].split("&")[0]) >= before + 899


def test_an_expired_or_forged_passport_is_401(client: Any, node: Registered) -> None:
    url = f"{DRS}/objects/{node.ids['ctrl_bam']}"
    expired = token(node, ["CTRL"], ttl=-3600)
    assert "expired" in drs_error(client.post(url, json={"passports": [expired]}), 401)
    forged = token(node, ["CTRL"])[:-6] + "AAAAAA"
    drs_error(client.post(url, json={"passports": [forged]}), 401)
    drs_error(client.get(url, headers=bearer("not-a-jwt")), 401)


def test_outside_the_residency_networks_no_file_method_and_no_controlled_bytes(
    outsider: Any, node: Registered
) -> None:
    public = outsider.get(f"{DRS}/objects/{node.ids['bam']}").json()
    assert {m["type"] for m in public["access_methods"]} == {"https", "htsget"}
    granted = bearer(token(node, ["CTRL"]))
    drs_error(outsider.get(f"{DRS}/objects/{node.ids['ctrl_bam']}", headers=granted), 403)


def test_a_changed_file_is_unavailable(client: Any, node: Registered, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "changing.vcf.gz"
    shutil.copy(node.paths["spec_vcf"], copy)
    shutil.copy(f"{node.paths['spec_vcf']}.tbi", f"{copy}.tbi")
    with open_ingestor(node.settings) as ingestor:
        object_id = ingestor.ingest([copy], "OPEN")[0].object_id
    url = client.get(f"{DRS}/objects/{object_id}/access/https").json()["url"]
    with copy.open("ab") as handle:
        handle.write(b"tampered")
    obj = client.get(f"{DRS}/objects/{object_id}").json()
    assert {m["available"] for m in obj["access_methods"]} == {False}
    assert "changed" in drs_error(client.get(f"{DRS}/objects/{object_id}/access/https"), 404)
    assert client.get(url).status_code == 404  # the data endpoint refuses it too


# -- bulk ----------------------------------------------------------------------------------------


def test_bulk_objects_resolve_what_the_caller_may_see(client: Any, node: Registered) -> None:
    ids = [node.ids["bam"], f"{node.ids['vcf']}.tbi", "missing", node.ids["ctrl_bam"]]
    body = ok(client.post(f"{DRS}/objects", json={"bulk_object_ids": ids}), "/objects", "post")
    assert body["summary"] == {"requested": 4, "resolved": 2, "unresolved": 2}
    assert [o["id"] for o in body["resolved_drs_object"]] == ids[:2]
    assert body["unresolved_drs_objects"] == [
        {"error_code": 401, "object_ids": [node.ids["ctrl_bam"]]},
        {"error_code": 404, "object_ids": ["missing"]},
    ]
    granted = client.post(
        f"{DRS}/objects",
        json={"bulk_object_ids": ids, "passports": [token(node, ["CTRL"])]},
    ).json()
    assert granted["summary"]["resolved"] == 3


def test_bulk_access_resolves_each_object_and_access_id_pair_on_its_own(
    client: Any, node: Registered
) -> None:
    """Issue 17: an unknown access id next to a valid one withholds only its own URL."""
    wanted = [
        {"bulk_object_id": node.ids["bam"], "bulk_access_ids": ["https"]},
        {"bulk_object_id": node.ids["vcf"], "bulk_access_ids": ["https", "s3"]},
        {"bulk_object_id": "no-such-object", "bulk_access_ids": ["https"]},
    ]
    body = ok(
        client.post(f"{DRS}/objects/access", json={"bulk_object_access_ids": wanted}),
        "/objects/access",
        "post",
    )
    assert body["summary"] == {"requested": 4, "resolved": 2, "unresolved": 2}
    urls = {
        (u["drs_object_id"], u["drs_access_id"]): u for u in body["resolved_drs_object_access_urls"]
    }
    assert set(urls) == {(node.ids["bam"], "https"), (node.ids["vcf"], "https")}
    for (object_id, _), url in urls.items():
        kind = "bam" if object_id == node.ids["bam"] else "vcf"
        assert client.get(url["url"]).content == node.paths[kind].read_bytes()
    unresolved = {e["error_code"]: e["object_ids"] for e in body["unresolved_drs_objects"]}
    assert sorted(unresolved[404]) == sorted([node.ids["vcf"], "no-such-object"])


def test_bulk_requests_beyond_the_limit_are_413(node: Registered) -> None:
    settings = node.settings.model_copy(
        update={"drs": node.settings.drs.model_copy(update={"max_bulk_request_length": 3})}
    )
    with create_app(settings).test_client(client=("127.0.0.1", 1)) as small:
        assert small.get(f"{DRS}/service-info").json()["drs"]["maxBulkRequestLength"] == 3
        too_many = {"bulk_object_ids": ["a", "b", "c", "d"]}
        response = small.post(f"{DRS}/objects", json=too_many)
        assert "at most 3" in drs_error(response, 413)
        check_against_official("/objects", "post", 413, response.json())
        drs_error(small.request("OPTIONS", f"{DRS}/objects", json=too_many), 413)
        access = [{"bulk_object_id": i, "bulk_access_ids": ["https"]} for i in "abcd"]
        drs_error(small.post(f"{DRS}/objects/access", json={"bulk_object_access_ids": access}), 413)


def test_an_empty_or_malformed_bulk_body_is_400(client: Any) -> None:
    drs_error(client.post(f"{DRS}/objects", json={"bulk_object_ids": []}), 400)
    drs_error(client.post(f"{DRS}/objects", json={"ids": ["x"]}), 400)


# -- Authorizations and CORS ---------------------------------------------------------------------


def test_options_answers_authorizations(client: Any, node: Registered) -> None:
    public = client.options(f"{DRS}/objects/{node.ids['bam']}")
    assert public.status_code == 200
    check_against_official("/objects/{object_id}", "options", 200, public.json())
    assert public.json()["supported_types"][0] == "None"
    controlled = client.options(f"{DRS}/objects/{node.ids['ctrl_bam']}").json()
    assert "None" not in controlled["supported_types"]
    assert "PassportAuth" in controlled["supported_types"]
    assert controlled["passport_auth_issuers"] == [f"{BASE}/passport"]  # the local issuer
    assert controlled["bearer_auth_issuers"] == [f"{BASE}/passport"]
    drs_error(client.options(f"{DRS}/objects/nothing"), 404)
    bulk = client.request(
        "OPTIONS", f"{DRS}/objects", json={"bulk_object_ids": [node.ids["bam"], "nothing"]}
    )
    body = bulk.json()
    check_against_official("/objects", "options", 200, body)
    assert body["summary"] == {"requested": 2, "resolved": 1, "unresolved": 1}


def test_a_browser_preflight_gets_cors_not_authorizations(client: Any, node: Registered) -> None:
    response = client.options(
        f"{DRS}/objects/{node.ids['bam']}",
        headers={
            "Origin": "https://portal.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://portal.example.org"
    assert "authorization" in response.headers["access-control-allow-headers"]
    answered = client.get(
        f"{DRS}/objects/{node.ids['bam']}", headers={"Origin": "https://portal.example.org"}
    )
    assert answered.headers["access-control-allow-origin"] == "https://portal.example.org"
