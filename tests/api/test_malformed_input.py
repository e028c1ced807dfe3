"""Malformed input is refused at the boundary, with 400 in the envelope of the API it was sent
to, in one line, before any handler or the audit trail sees it (gdi_node.web.guards): text that is
not Unicode (a lone UTF-16 surrogate in a JSON string, percent-encoded octets in the path or
query that are not UTF-8), JSON nested deeper than the limit, integers over Python's conversion
limit; Beacon integers too large for the databases are a 400 naming the parameter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from gdi_node.app import create_app
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine, make_session_factory
from gdi_node.passport.audit_chain import export_jsonl
from gdi_node.web.guards import MAX_JSON_DEPTH
from tests.api.test_beacon_api import loaded_node
from tests.support.beacon_spec import assert_valid_response
from tests.support.htsget_setup import node_settings

BEACON = "/ga4gh/beacon/v2"
JSON = {"Content-Type": "application/json"}
# One POST per API, with the place where a caller's text goes marked by @ (raw JSON text).
POSTS = {
    "beacon": (
        f"{BEACON}/g_variants",
        '{"query": {"requestParameters": {"referenceName": "@", "start": [1], "end": [9]}}}',
    ),
    "drs": ("/ga4gh/drs/v1/objects", '{"bulk_object_ids": ["@"]}'),
    "htsget": ("/htsget/reads/some-id", '{"format": "BAM", "regions": [{"referenceName": "@"}]}'),
    "node": ("/permissions", '{"passports": ["@"]}'),
}
# Where a caller's text goes in the URL of each API: a query parameter and a path segment.
URLS = {
    "beacon": (f"{BEACON}/g_variants?referenceName=@&start=1&end=9", f"{BEACON}/individuals/@"),
    "drs": ("/ga4gh/drs/v1/objects/x?expand=@", "/ga4gh/drs/v1/objects/@"),
    "htsget": ("/htsget/reads/x?referenceName=@", "/htsget/reads/@"),
    "node": ("/permissions?x=@", "/services/@"),
}


HTSGET_CODES = {
    400: "InvalidInput",
    401: "InvalidAuthentication",
    404: "NotFound",
    413: "PayloadTooLarge",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    prepared = node_settings(tmp_path, "http://testserver")
    with migrated_sessions(prepared):
        pass
    return prepared


@pytest.fixture
def app(settings: Settings) -> Any:
    return create_app(settings, validate_responses=True)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    with app.test_client(client=("127.0.0.1", 40000)) as test_client:
        yield test_client


def refusal(response: Any, api: str, status: int = 400) -> str:
    """The one-line message of a refusal in ``api``'s own error envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    if api == "beacon":
        assert_valid_response(body, "error")
        assert body["error"]["errorCode"] == status
        message = body["error"]["errorMessage"]
    elif api == "drs":
        assert body["status_code"] == status
        message = body["msg"]
    elif api == "htsget":
        assert body["htsget"]["error"] == HTSGET_CODES[status]
        message = body["htsget"]["message"]
    else:
        assert body["code"] == status
        assert body["errors"][0]["message"] == body["message"]
        message = body["message"]
    assert isinstance(message, str)
    assert "\n" not in message
    return message


def audited_request_ids(app: Any, settings: Settings) -> set[str]:
    app.app.config["GDI_NODE_RUNTIME"].authorization.audit.flush()
    engine = make_engine(settings.effective_database_url)
    out = StringIO()
    export_jsonl(make_session_factory(engine), out)
    engine.dispose()
    return {json.loads(line)["request_id"] for line in out.getvalue().splitlines()}


@pytest.mark.parametrize("api", sorted(POSTS))
def test_a_lone_surrogate_in_a_json_body_is_400_in_each_apis_envelope_and_never_audited(
    app: Any, client: Any, settings: Settings, api: str
) -> None:
    path, template = POSTS[api]
    for n, text in enumerate(["\\ud800", "x\\udfffy", "\\uDBFF"]):
        response = client.post(
            path,
            content=template.replace("@", text).encode(),
            headers={**JSON, "X-Request-ID": f"refused-{api}-{n}"},
        )
        assert "surrogate" in refusal(response, api)
    keyed = client.post(  # in a member name too
        path, content=b'{"\\ud800": 1}', headers={**JSON, "X-Request-ID": f"refused-{api}-key"}
    )
    assert "surrogate" in refusal(keyed, api)
    # a surrogate pair is one character: not refused for being text
    paired = client.post(
        path, content=template.replace("@", "\\ud83d\\ude00").encode(), headers=JSON
    )
    assert "surrogate" not in paired.text
    # the same request with text is audited where the operation decides on access
    accepted = client.post(
        path, content=template.replace("@", "22").encode(),
        headers={**JSON, "X-Request-ID": f"accepted-{api}"},
    )  # fmt: skip
    audited = audited_request_ids(app, settings)
    assert not {i for i in audited if i and i.startswith("refused-")}
    if api in ("beacon", "node"):
        assert accepted.status_code in (200, 401), accepted.text
        assert f"accepted-{api}" in audited


@pytest.mark.parametrize("api", sorted(URLS))
def test_percent_encoded_octets_that_are_not_utf8_are_400_in_each_apis_envelope(
    app: Any, client: Any, settings: Settings, api: str
) -> None:
    # an encoded surrogate, an octet that is never UTF-8, a sequence cut short
    for n, octets in enumerate(["%ED%A0%80", "%FF", "a%C3"]):
        for m, template in enumerate(URLS[api]):
            response = client.get(
                template.replace("@", octets), headers={"X-Request-ID": f"refused-{api}-{n}{m}"}
            )
            assert "not UTF-8" in refusal(response, api)
    for template in URLS[api]:  # UTF-8 in the same places is not refused for its text
        assert "not UTF-8" not in client.get(template.replace("@", "%C3%A6bler")).text
    audited = audited_request_ids(app, settings)
    assert not {i for i in audited if i and i.startswith("refused-")}


@pytest.mark.parametrize("api", sorted(POSTS))
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
def test_json_nested_deeper_than_the_limit_is_400_in_each_apis_envelope(
    client: Any, api: str, depth: int
) -> None:
    path, _ = POSTS[api]
    body = b'{"x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    message = refusal(client.post(path, content=body, headers=JSON), api)
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in message
    within = b'{"x": ' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    assert "nested" not in client.post(path, content=within, headers=JSON).text


@pytest.mark.parametrize("api", sorted(POSTS))
def test_integers_over_the_conversion_limit_are_400_in_each_apis_envelope(
    client: Any, api: str
) -> None:
    path, template = POSTS[api]
    huge = template.replace('"@"', "9" * 5000)
    message = refusal(client.post(path, content=huge.encode(), headers=JSON), api)
    assert "more than 4300 digits" in message
    # also without a Content-Type (connexion reads such a body as JSON)
    bare = client.post(path, content=huge.encode())
    assert "more than 4300 digits" in refusal(bare, api)


def test_a_body_that_is_not_utf8_is_400(client: Any) -> None:
    response = client.post("/permissions", content=b'{"passports": ["\xff"]}', headers=JSON)
    assert "not UTF-8" in refusal(response, "node")


@pytest.fixture
def beacon(tmp_path: Path, database_url: str) -> Iterator[Any]:
    settings = loaded_node(tmp_path, database_url)
    with create_app(settings, validate_responses=True).test_client() as test_client:
        yield test_client


@pytest.mark.parametrize("value", [2**53, 2**63 - 1, 2**63, 2**64 + 5])
def test_beacon_integers_beyond_2_53_are_400_naming_the_parameter(beacon: Any, value: int) -> None:
    g_variants = f"{BEACON}/g_variants?referenceName=22&requestedGranularity=record"
    for query, name in [
        (f"&start={value}&end={value + 9}", "start"),
        (f"&start=1&end={value}", "end"),
        (f"&start=1,{value}&end=5,9", "start"),
        (f"&start={value}&alternateBases=G", "start"),
        (f"&start=1&end=900&variantMinLength={value}", "variantMinLength"),
        (f"&start=1&end=900&skip={value}", "skip"),
    ]:
        assert name in refusal(beacon.get(g_variants + query), "beacon"), query
    assert "skip" in refusal(beacon.get(f"{BEACON}/individuals?skip={value}"), "beacon")
    for parameters, name in [
        ({"referenceName": "22", "start": [value], "end": [value + 9]}, "start"),
        ({"referenceName": "22", "start": [1], "end": [value]}, "end"),
        ({"g_variant": {"referenceName": "22", "start": [1, value], "end": [5, 9]}}, "start"),
    ]:
        body = {"query": {"requestParameters": parameters, "requestedGranularity": "record"}}
        posted = beacon.post(f"{BEACON}/g_variants", json=body)
        assert name in refusal(posted, "beacon"), parameters
    paged = {"query": {"requestParameters": {"referenceName": "22", "start": [1], "end": [900]},
                       "pagination": {"skip": value, "limit": 10}}}  # fmt: skip
    assert "skip" in refusal(beacon.post(f"{BEACON}/g_variants", json=paged), "beacon")


def test_beacon_integers_up_to_2_53_minus_1_are_answered(beacon: Any) -> None:
    top = 2**53 - 1
    g_variants = f"{BEACON}/g_variants?referenceName=22&requestedGranularity=record"
    for query in [
        f"&start={top - 9}&end={top}",
        f"&start=1&end={top}",
        f"&start=1&end=900&skip={top}",
    ]:
        response = beacon.get(g_variants + query)
        assert response.status_code == 200, (query, response.text)
    found = beacon.get(g_variants + f"&start=1&end={top}").json()
    assert found["responseSummary"]["exists"] is True


# --- credentials in a body: the statuses of GET, never the token in the message ----------------


def jwt_shaped(issuer: str, padding: int = 0) -> str:
    from base64 import urlsafe_b64encode

    def part(value: dict[str, Any]) -> str:
        return urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    header = {"alg": "ES256", "typ": "vnd.ga4gh.passport+jwt", "kid": "k1"}
    claims = {"iss": issuer, "sub": "someone", "pad": "p" * padding}
    return f"{part(header)}.{part(claims)}.SECRETSIGNATURE"


@pytest.mark.parametrize(
    ("api", "path"), [("node", "/permissions"), ("drs", "/ga4gh/drs/v1/objects/any-id")]
)
def test_posted_passports_that_cannot_be_verified_are_401_and_never_repeated(
    client: Any, api: str, path: str
) -> None:
    for token in [
        "SECRETTOKENTEXTwithoutdots",
        "SECRET.TOKEN.TEXT",
        jwt_shaped("https://untrusted.example.org/"),
    ]:
        response = client.post(path, json={"passports": [token]})
        refusal(response, api, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "SECRET" not in response.text
    for body in [{"passports": "SECRET.TOKEN.TEXT"}, {"passports": [7, "SECRET.TOKEN.TEXT"]}]:
        response = client.post(path, json=body)  # not a list of strings: the request is wrong
        assert "passports" in refusal(response, api, 400)
        assert "SECRET" not in response.text


@pytest.mark.parametrize(
    ("api", "path"), [("node", "/permissions"), ("drs", "/ga4gh/drs/v1/objects/any-id")]
)
def test_too_many_or_too_large_posted_passports_are_413_and_never_repeated(
    client: Any, settings: Settings, api: str, path: str
) -> None:
    limits = settings.trust.limits
    many = [jwt_shaped(f"https://issuer.example.org/{n}") for n in range(101)]
    for count in (limits.max_passports + 1, 101):
        response = client.post(path, json={"passports": many[:count]})
        refusal(response, api, 413)
        assert "SECRET" not in response.text
    large = jwt_shaped("https://issuer.example.org/", padding=limits.max_token_bytes)
    response = client.post(path, json={"passports": [large]})
    refusal(response, api, 413)
    assert "SECRET" not in response.text


# --- ids with an encoded slash: routed as sent, or a 404; a redirect always says where ----------


@pytest.mark.parametrize(
    ("api", "path"),
    [
        ("drs", "/ga4gh/drs/v1/objects/a%2Fb"),
        ("drs", "/ga4gh/drs/v1/objects/%2Fa"),
        ("drs", "/ga4gh/drs/v1/objects/a%2F"),
        ("drs", "/ga4gh/drs/v1/objects//a"),
        ("drs", "/ga4gh/drs/v1/objects/a%2Fb/access/https"),
        ("htsget", "/htsget/reads/a%2Fb"),
        ("htsget", "/htsget/reads/%2Fa"),
        ("htsget", "/htsget/variants/a%2F"),
        ("beacon", f"{BEACON}/individuals/a%2Fb"),
        ("beacon", f"{BEACON}/individuals/%2Fa"),
        ("beacon", f"{BEACON}/datasets/a%2F"),
        ("node", "/services/"),
        ("node", "/services/a%2Fb"),
    ],
)
def test_an_id_with_an_encoded_slash_is_404_in_its_apis_envelope_never_a_redirect(
    client: Any, api: str, path: str
) -> None:
    response = client.get(path, follow_redirects=False)
    refusal(response, api, 404)
    assert "location" not in response.headers


def test_the_one_redirect_left_carries_its_location(client: Any) -> None:
    response = client.get(BEACON, follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == f"http://testserver{BEACON}/"
    assert client.get(response.headers["location"]).status_code == 200
