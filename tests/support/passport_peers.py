"""Real GA4GH Passport brokers and visa issuers on loopback HTTP, for tests.

A :class:`PeerServer` is one ``ThreadingHTTPServer`` on ``127.0.0.1`` (port 0) serving any number of
:class:`Authority` objects, each under ``/{name}/``. It emulates, from ga4gh/data-security:

* AAI OIDC Profile 1.2 (``AAI/AAIConnectProfile.md``): Broker discovery metadata and ``jwks_uri``
  ("Conformance for Brokers" 1.2), the UserInfo Endpoint (ibid. 2.2), Passport-Scoped Access Tokens
  ("GA4GH JWT Formats"), Passport issuing by RFC 8693 Token Exchange ("Conformance for Passport
  Issuers" 3), Visa Document/Access Tokens ("Conformance for Visa Issuers" 1) and Access Token
  Polling ("Conformance for Passport Clearinghouses" 6); ES256/RS256 only ("Signing Algorithms").
* GA4GH Passport v1.2 (``AAI/ga4gh_passport_v1.md``): "Visa Format" (``ga4gh_visa_v1`` object).

Times are Unix seconds. Everything an authority issues is remembered so revocation and expiry are
decided by the server, as a real broker would. Misbehaviour (slow, failing, redirecting, garbage
answers) is injected per path with :meth:`PeerServer.misbehave`.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, Self
from urllib.parse import parse_qs, unquote_plus, urlsplit

from joserfc import jwk, jws

TOKEN_EXCHANGE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:jwt"
#: What AAI 1.2 "Conformance for Passport Issuers" 3.3 prescribes; accepted as well as JWT.
PASSPORT_TOKEN_TYPE: Final = "urn:ga4gh:params:oauth:token-type:passport"
VISA_TYP: Final = "vnd.ga4gh.visa+jwt"
PASSPORT_TYP: Final = "vnd.ga4gh.passport+jwt"
#: Headers for responses carrying tokens (AAI 1.2 "Conformance for Clients/Applications" 2.2).
NO_STORE: Final = {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"}


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


#: Put as a value in ``extra_claims``/``extra_visa``/``header_overrides`` (or ``sign``'s header) to
#: delete that member instead of setting it, e.g. ``extra_claims={"exp": REMOVE}``.
REMOVE: Final = _Remove()

Response = tuple[int, dict[str, str], bytes]
Claims = dict[str, Any]
SigningKey = jwk.RSAKey | jwk.ECKey


def _now() -> int:
    return int(time.time())


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _merged(base: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    out = {**base, **(extra or {})}
    return {k: v for k, v in out.items() if v is not REMOVE}


def _json(status: int, doc: object, headers: dict[str, str] | None = None) -> Response:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(doc).encode()


def _expiry(claims: Claims, default: int) -> int:
    exp = claims.get("exp")
    return exp if isinstance(exp, int) else default


def _path_of(path_or_url: str) -> str:
    return urlsplit(path_or_url).path


@dataclass
class _Issued:
    """Server-side record of an access token (Passport-Scoped or Visa Access Token)."""

    sub: str
    exp: int
    kind: str  # "access" (Passport-Scoped Access Token) or "visa" (Visa Access Token)
    client_id: str | None = None
    scope: str = ""
    visas: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it (header names lower-cased; query kept apart from path)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class _Override:
    delay: float = 0
    status: int | None = None
    body: bytes | None = None
    redirect_to: str | None = None
    content_type: str | None = None

    def apply(self, response: Response) -> Response:
        status, headers, body = response
        if self.redirect_to is not None:
            status, headers, body = self.status or 302, {"Location": self.redirect_to}, b""
        elif self.status is not None:
            status = self.status
        if self.body is not None:
            body = self.body
        if self.content_type is not None:
            headers = {**headers, "Content-Type": self.content_type}
        return status, headers, body


class Authority:
    """One issuer (Broker, Visa Issuer or both) with its own rotating keys, tokens and clients.

    Create with :meth:`PeerServer.authority`. ``invalid_subject_error`` is the ``error`` code the
    token endpoint gives for an unusable ``subject_token``: RFC 8693 section 2.2.2 says
    ``invalid_request``; set it to ``"invalid_grant"`` to mimic brokers that follow RFC 6749 5.2.
    """

    def __init__(self, base_url: str, name: str, alg: str = "RS256") -> None:
        if alg not in ("RS256", "ES256"):
            raise ValueError("AAI 1.2 'Signing Algorithms': only RS256 and ES256")
        self.name, self.alg = name, alg
        self.issuer = f"{base_url}/{name}"
        self.configuration_url = f"{self.issuer}/.well-known/openid-configuration"
        self.jwks_url = f"{self.issuer}/jwks"
        self.userinfo_url = f"{self.issuer}/userinfo"
        self.token_url = f"{self.issuer}/token"
        self.invalid_subject_error = "invalid_request"
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey] = {}  # every key ever made (retired ones still sign)
        self._published: list[str] = []
        self._issued: dict[str, _Issued] = {}
        self._revoked: set[str] = set()
        self._clients: dict[str, str] = {}
        self.active_kid = self.rotate()

    def rotate(self, keep_old: bool = False) -> str:
        """Make a new active signing key and return its kid; unless ``keep_old``, the JWKS then
        lists only the new key (the old private keys stay usable via ``sign(key_kid=...)``)."""
        kid = f"{self.name}-{uuid.uuid4().hex[:12]}"
        params: jwk.KeyParameters = {"kid": kid, "alg": self.alg, "use": "sig"}
        key: SigningKey = (
            jwk.RSAKey.generate_key(2048, parameters=params)
            if self.alg == "RS256"
            else jwk.ECKey.generate_key("P-256", parameters=params)
        )
        with self._lock:
            self._keys[kid] = key
            self._published = [*self._published, kid] if keep_old else [kid]
            self.active_kid = kid
        return kid

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set served at ``jwks_url`` (RFC 7517 section 5)."""
        with self._lock:
            return {"keys": [self._keys[kid].as_dict(private=False) for kid in self._published]}

    def key_set(self) -> jwk.KeySet:
        """The published public keys as a joserfc ``KeySet`` (for verifying in tests)."""
        return jwk.KeySet.import_key_set(self.jwks())  # type: ignore[arg-type]

    def sign(
        self,
        header: dict[str, Any],
        claims: dict[str, Any],
        *,
        key_kid: str | None = None,
        key: Any = None,
    ) -> str:
        """Raw JWS compact signing (RFC 7515 section 7.1) with no checks, for forging tests.

        ``alg``/``kid`` default to this authority's active key; anything in ``header`` wins, and
        unknown or ``crit`` members are kept. ``alg: none`` yields an unsigned token. ``key_kid``
        picks another (possibly retired) key of this authority; ``key`` any joserfc key instead
        (e.g. an ``OctKey`` made from the public key for algorithm-confusion attacks).
        """
        kid = key_kid or self.active_kid
        full = _merged({"alg": self.alg, "kid": kid}, header)
        signing_input = _b64(json.dumps(full).encode()) + b"." + _b64(json.dumps(claims).encode())
        signature = b""
        if full.get("alg") != "none":
            with self._lock:
                signer = key if key is not None else self._keys[kid]
            signature = jws.JWSRegistry.algorithms[full["alg"]].sign(signing_input, signer)
        return (signing_input + b"." + _b64(signature)).decode()

    def visa(
        self,
        sub: str,
        type: str,
        value: str,
        source: str,
        *,
        by: str | None = None,
        conditions: list[Any] | None = None,
        asserted: int | None = None,
        iat: int | None = None,
        exp: int | None = None,
        jti: str | None = None,
        form: str = "document",
        extra_claims: dict[str, Any] | None = None,
        extra_visa: dict[str, Any] | None = None,
        header_overrides: dict[str, Any] | None = None,
    ) -> str:
        """A Visa (Passport v1.2 "Visa Format"; AAI 1.2 "Conformance for Visa Issuers" 1).

        ``form="document"``: Visa Document Token, header ``typ`` vnd.ga4gh.visa+jwt and ``jku``.
        ``form="access"``: Visa Access Token, header ``typ`` JWT, no ``jku``, ``scope`` with
        ``openid``; it is remembered so the userinfo endpoint can be polled with it.
        """
        asserted = _now() - 86400 if asserted is None else asserted
        visa_object = {"type": type, "asserted": asserted, "value": value, "source": source}
        optional = {"by": by, "conditions": conditions}
        visa_object |= {k: v for k, v in optional.items() if v is not None}
        base = self._claims(sub, iat, exp, jti)
        base["ga4gh_visa_v1"] = _merged(visa_object, extra_visa)
        if form == "document":
            header: dict[str, Any] = {"typ": VISA_TYP, "jku": self.jwks_url}
        elif form == "access":
            header, base["scope"] = {"typ": "JWT"}, "openid ga4gh_passport_v1"
        else:
            raise ValueError(f"form must be 'document' or 'access', not {form!r}")
        claims = _merged(base, extra_claims)
        token = self.sign(_merged(header, header_overrides), claims)
        if form == "access":
            self._remember(token, _Issued(sub, _expiry(claims, base["exp"]), "visa"))
        return token

    def passport(
        self,
        sub: str,
        visas: list[str],
        *,
        iat: int | None = None,
        exp: int | None = None,
        aud: str | list[str] | None = None,
        typ: str = PASSPORT_TYP,
        jti: str | None = None,
        extra_claims: dict[str, Any] | None = None,
        header_overrides: dict[str, Any] | None = None,
    ) -> str:
        """A Passport JWT (AAI 1.2 "Passport Format"): ``iss, sub, iat, exp, jti[, aud]`` and
        ``ga4gh_passport_v1``, header ``typ`` vnd.ga4gh.passport+jwt."""
        claims = self._claims(sub, iat, exp, jti) | {"ga4gh_passport_v1": list(visas)}
        if aud is not None:
            claims["aud"] = aud
        return self.sign(_merged({"typ": typ}, header_overrides), _merged(claims, extra_claims))

    def access_token(
        self,
        sub: str,
        *,
        visas: list[str] | None = None,
        exp: int | None = None,
        scope: str = "openid ga4gh_passport_v1",
        client_id: str = "gdi-node",
        typ: str = "at+jwt",
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        """A Passport-Scoped Access Token (AAI 1.2 "GA4GH JWT Formats"; RFC 9068 claims, no GA4GH
        claims inside). The server remembers ``visas`` for its userinfo and token endpoints."""
        claims = self._claims(sub, None, exp, None)
        claims |= {"aud": client_id, "client_id": client_id, "scope": scope}
        final = _merged(claims, extra_claims)
        token = self.sign({"typ": typ}, final)
        expires = _expiry(final, claims["exp"])
        self._remember(token, _Issued(sub, expires, "access", client_id, scope, list(visas or [])))
        return token

    def revoke(self, token: str) -> None:
        """Revoke an issued access token: userinfo and token exchange refuse it from now on."""
        with self._lock:
            self._revoked.add(token)

    def register_client(self, client_id: str, secret: str) -> None:
        """Allow ``client_id``/``secret`` to authenticate at the token endpoint (HTTP Basic)."""
        with self._lock:
            self._clients[client_id] = secret

    def _claims(self, sub: str, iat: int | None, exp: int | None, jti: str | None) -> Claims:
        """The registered claims every token here carries (RFC 7519 section 4.1)."""
        now = _now()
        times = {"iat": now if iat is None else iat, "exp": now + 3600 if exp is None else exp}
        return {"iss": self.issuer, "sub": sub, **times, "jti": jti or uuid.uuid4().hex}

    def _remember(self, token: str, record: _Issued) -> None:
        with self._lock:
            self._issued[token] = record

    def _valid(self, token: str) -> _Issued | None:
        with self._lock:
            record = None if token in self._revoked else self._issued.get(token)
        return record if record is not None and record.exp > _now() else None

    def handle(self, method: str, route: str, headers: dict[str, str], body: bytes) -> Response:
        """Serve ``/{name}/{route}``: discovery, JWKS, userinfo, token; anything else 404."""
        handlers: dict[str, tuple[str, Callable[[], Response]]] = {
            ".well-known/openid-configuration": ("GET", lambda: _json(200, self._discovery())),
            "jwks": ("GET", lambda: _json(200, self.jwks())),
            "userinfo": ("GET POST", lambda: self._userinfo(headers)),
            "token": ("POST", lambda: self._token(headers, body)),
        }
        if route not in handlers:
            return _json(404, {"error": "not_found"})
        allowed, handler = handlers[route]
        if method not in allowed.split():
            return _json(
                405, {"error": "method_not_allowed"}, {"Allow": allowed.replace(" ", ", ")}
            )
        return handler()

    def _discovery(self) -> dict[str, Any]:
        """OIDC Discovery 1.0 section 3 metadata (AAI 1.2 "Conformance for Brokers" 1.2)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",  # not served: no browser flows
            "jwks_uri": self.jwks_url,
            "userinfo_endpoint": self.userinfo_url,
            "token_endpoint": self.token_url,
            "grant_types_supported": ["authorization_code", TOKEN_EXCHANGE],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [self.alg],
            "scopes_supported": ["openid", "ga4gh_passport_v1"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "claims_parameter_supported": False,
        }

    def _userinfo(self, headers: dict[str, str]) -> Response:
        """OIDC Core 5.3 UserInfo with RFC 6750 errors; AAI 1.2 "Visas provided by a Broker via
        UserInfo Endpoint", and Access Token Polling with a Visa Access Token."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _json(401, {"error": "invalid_request"}, {"WWW-Authenticate": "Bearer"})
        record = self._valid(token.strip())
        if record is None:
            challenge = (
                'Bearer error="invalid_token", error_description="unknown, expired or revoked"'
            )
            return _json(401, {"error": "invalid_token"}, {"WWW-Authenticate": challenge})
        doc: dict[str, Any] = {"sub": record.sub}
        if record.kind == "access" and "ga4gh_passport_v1" in record.scope.split():
            doc["ga4gh_passport_v1"] = record.visas
        return _json(200, doc, NO_STORE)

    def _client(self, authorization: str) -> str | None:
        """RFC 6749 section 2.3.1 client_secret_basic (id and secret form-encoded first)."""
        scheme, _, credentials = authorization.partition(" ")
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except ValueError:
            return None
        client_id, sep, secret = (unquote_plus(part) for part in decoded.partition(":"))
        with self._lock:
            expected = self._clients.get(client_id)
        ok = scheme.lower() == "basic" and sep and expected is not None
        return client_id if ok and secrets.compare_digest(expected or "", secret) else None

    def _token(self, headers: dict[str, str], body: bytes) -> Response:
        """RFC 8693 Token Exchange issuing a Passport (AAI 1.2 "Conformance for Passport Issuers"
        3); errors per RFC 6749 section 5.2 and RFC 8693 section 2.2.2."""

        def error(code: str, description: str, status: int = 400) -> Response:
            extra = {"WWW-Authenticate": 'Basic realm="token"'} if status == 401 else {}
            doc = {"error": code, "error_description": description}
            return _json(status, doc, {**NO_STORE, **extra})

        client_id = self._client(headers.get("authorization", ""))
        if client_id is None:
            return error("invalid_client", "HTTP Basic client authentication failed", 401)
        if (
            headers.get("content-type", "").split(";")[0].strip()
            != "application/x-www-form-urlencoded"
        ):
            return error("invalid_request", "body must be application/x-www-form-urlencoded")
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        repeated = [k for k, v in form.items() if len(v) > 1 and k not in ("audience", "resource")]
        if repeated:
            return error("invalid_request", f"repeated parameters: {repeated}")
        one = {k: v[0] for k, v in form.items()}
        if not one.get("grant_type"):
            return error("invalid_request", "grant_type is required")
        if one["grant_type"] != TOKEN_EXCHANGE:
            return error("unsupported_grant_type", f"only {TOKEN_EXCHANGE}")
        if one.get("subject_token_type") != ACCESS_TOKEN_TYPE:
            return error("invalid_request", f"subject_token_type must be {ACCESS_TOKEN_TYPE}")
        requested = one.get("requested_token_type")
        if requested not in (JWT_TOKEN_TYPE, PASSPORT_TOKEN_TYPE):
            return error("invalid_request", "requested_token_type must ask for a Passport")
        record = self._valid(one.get("subject_token", ""))
        if (
            record is None
            or record.kind != "access"
            or record.client_id != client_id
            or "ga4gh_passport_v1" not in record.scope.split()
        ):
            reason = "subject_token is not a valid Passport-Scoped Access Token for this client"
            return error(self.invalid_subject_error, reason)
        audiences = form.get("audience", []) + form.get("resource", [])
        passport = self.passport(record.sub, record.visas, aud=audiences or None)
        doc = {
            "access_token": passport,
            "issued_token_type": requested,
            "token_type": "N_A",  # RFC 8693 section 2.2.1: not an OAuth access token
            "expires_in": 3600,
        }
        return _json(200, doc, NO_STORE)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler thread: nothing outlives close()

    def __init__(self, peers: PeerServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.peers = peers

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # client gave up: not our fault
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads
    timeout = 5  # bounds how long close() can wait for a client that never sends its request

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out, payload = self.server.peers.dispatch(self.command, self.path, headers, body)
        self.send_response(status)
        for name, value in out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log."""


class PeerServer:
    """A loopback HTTP server hosting :class:`Authority` peers; use as a context manager."""

    def __init__(self) -> None:
        self.base_url = ""
        self._lock = threading.Lock()
        self._authorities: dict[str, Authority] = {}
        self._counts: Counter[str] = Counter()
        self._log: list[RecordedRequest] = []
        self._overrides: dict[str, _Override] = {}
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind 127.0.0.1 port 0 and serve from a background thread (once per instance)."""
        if self._httpd is not None or self._stopping.is_set():
            raise RuntimeError("a PeerServer can be started only once")
        self._httpd = _HTTPServer(self)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, cut short any injected delays, close the socket and join all threads."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def authority(self, name: str, alg: str = "RS256") -> Authority:
        """Create an issuer served under ``/{name}/`` (``alg`` RS256 or ES256)."""
        if not self.base_url:
            raise RuntimeError("start the PeerServer (enter its context) before adding authorities")
        if not name or "/" in name or name in self._authorities:
            raise ValueError(f"bad or duplicate authority name {name!r}")
        created = Authority(self.base_url, name, alg)
        with self._lock:
            self._authorities[name] = created
        return created

    def requests_to(self, path: str) -> int:
        """How many requests hit exactly this path (a path or a full URL; query ignored)."""
        with self._lock:
            return self._counts[_path_of(path)]

    def recorded(self, path: str | None = None) -> list[RecordedRequest]:
        """Requests received (optionally only those to ``path``), oldest first."""
        with self._lock:
            return [r for r in self._log if path is None or r.path == _path_of(path)]

    def reset_counts(self) -> None:
        """Forget all counted and recorded requests."""
        with self._lock:
            self._counts.clear()
            self._log.clear()

    def misbehave(
        self,
        path: str,
        *,
        delay: float = 0,
        status: int | None = None,
        body: bytes | None = None,
        redirect_to: str | None = None,
        content_type: str | None = None,
    ) -> None:
        """Override one path's answer until :meth:`heal`: wait ``delay`` seconds, then send the
        normal response with ``status``/``body``/``content_type`` replaced, or a redirect (302
        unless ``status`` says otherwise) to ``redirect_to``."""
        with self._lock:
            self._overrides[_path_of(path)] = _Override(
                delay, status, body, redirect_to, content_type
            )

    def heal(self, path: str) -> None:
        """Remove the override of ``path``."""
        with self._lock:
            self._overrides.pop(_path_of(path), None)

    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Record, route and (mis)answer one request; used by the HTTP handler."""
        parts = urlsplit(target)
        with self._lock:
            self._counts[parts.path] += 1
            self._log.append(RecordedRequest(method, parts.path, parts.query, headers, body))
            override = self._overrides.get(parts.path)
            name, _, route = parts.path.removeprefix("/").partition("/")
            owner = self._authorities.get(name)
        if override is not None and override.delay > 0:
            self._stopping.wait(override.delay)
        try:
            response = (
                owner.handle(method, route, headers, body)
                if owner is not None
                else _json(404, {"error": "not_found"})
            )
        except Exception as exc:  # a bug in a peer must show up as a 500, not a hung client
            response = _json(500, {"error": "server_error", "error_description": repr(exc)})
        return override.apply(response) if override is not None else response
