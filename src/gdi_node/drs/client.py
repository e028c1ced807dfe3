"""Resolve ``drs://`` URIs against any DRS server and download with checksum verification
(``gdi-node drs resolve``; the national hub uses it too).

URIs (DRS 1.5 appendices "Hostname-based URIs" and "Compact identifier-based URIs"):

* ``drs://<host>/<id>`` resolves to ``https://<host>/ga4gh/drs/v1/objects/<id>``; for the host
  of a hub's member (``through_hub``), to the hub's ``objects/<member prefix>:<id>``; for a
  host in ``nodes`` (a node's ``drs_hostname`` mapped to its public URL, which may be http on
  another port, as the demo's is), to ``<public URL>/ga4gh/drs/v1/objects/<id>``. A port in
  the URI is invalid in DRS 1.5 but still followed, for servers that mint such URIs;
* ``drs://[provider/]<prefix>:<accession>`` names a prefix registered at identifiers.org: the
  registry gives a URL pattern containing ``{$id}`` (two calls, as the appendix describes), or
  the caller pins the pattern with ``patterns`` (for environments that must not consult an
  external registry). The accession is percent-encoded into the pattern.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from gdi_node.errors import DomainError, InvalidInputError, NotFoundError

IDENTIFIERS_ORG = "https://registry.api.identifiers.org/restApi"
DRS_PATH = "/ga4gh/drs/v1"
_HOST = re.compile(r"^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$")
_NAMESPACE_ID = re.compile(r"/namespaces/(\d+)")
_DIGESTS = {"sha-256": "sha256", "sha256": "sha256", "md5": "md5"}


class ResolveError(DomainError):
    status = 502
    code = "ResolveFailed"


class UnreachableError(ResolveError):
    """The server could not be reached at all (no HTTP answer)."""


@dataclass(frozen=True)
class DrsUri:
    """A parsed ``drs://`` URI: a hostname-based one, or a compact identifier."""

    host: str | None
    object_id: str
    prefix: str | None = None

    @classmethod
    def parse(cls, text: str) -> DrsUri:
        if not text.startswith("drs://"):
            raise InvalidInputError(f"{text!r} is not a drs:// URI")
        rest = text[len("drs://") :]
        head, slash, tail = rest.partition("/")
        if slash and tail and _HOST.match(head):
            return cls(host=head, object_id=tail)
        # [provider/]prefix:accession; the accession itself may hold "/" and ":"
        compact = tail if slash and ":" not in head else rest
        prefix, colon, accession = compact.partition(":")
        if not colon or not prefix or not accession:
            raise InvalidInputError(
                f"{text!r} is neither drs://<host>/<id> nor drs://<prefix>:<accession>"
            )
        return cls(host=None, object_id=accession, prefix=prefix)


@dataclass(frozen=True)
class Download:
    path: Path
    size: int
    checksum_type: str
    checksum: str


class DrsClient:
    """Talks to DRS servers over HTTPS (``scheme="http"`` only for loopback tests and labs)."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        scheme: str = "https",
        registry: str = IDENTIFIERS_ORG,
        patterns: Mapping[str, str] | None = None,
        bearer: str | None = None,
        passports: list[str] | None = None,
        nodes: Mapping[str, str] | None = None,
        through_hub: Mapping[str, str] | None = None,
    ) -> None:
        """``nodes``: a host of hostname-based URIs -> the node's public URL;
        ``through_hub``: a host (``host`` or ``host:port``) of a hub's member -> the member's
        prefix, whose pattern in ``patterns`` points at the hub."""
        self._http = http
        self._through_hub = {h.lower(): p for h, p in (through_hub or {}).items()}
        self._scheme = scheme
        self._nodes = {host.lower(): url.rstrip("/") for host, url in (nodes or {}).items()}
        self._registry = registry.rstrip("/")
        self._patterns = dict(patterns or {})
        self._bearer = bearer
        self._passports = passports

    def object_url(self, uri: DrsUri) -> str:
        """The URL of the object's ``GET /objects/{id}``."""
        if uri.host is not None and uri.host.lower() in self._through_hub:
            uri = DrsUri(None, uri.object_id, self._through_hub[uri.host.lower()])
        if uri.host is not None:
            base = self._nodes.get(uri.host.lower(), f"{self._scheme}://{uri.host}")
            return f"{base}{DRS_PATH}/objects/{quote(uri.object_id, safe='')}"
        assert uri.prefix is not None
        pattern = self._patterns.get(uri.prefix) or self._registry_pattern(uri.prefix)
        return pattern.replace("{$id}", quote(uri.object_id, safe=""))

    def _registry_pattern(self, prefix: str) -> str:
        try:
            found = self._json(
                f"{self._registry}/namespaces/search/findByPrefix", params={"prefix": prefix}
            )
        except UnreachableError as exc:
            raise ResolveError(
                f"the identifiers.org registry {self._registry} could not be reached ({exc});"
                f" pin the prefix with --prefix {prefix}=URL_PATTERN (no registry call) or name"
                " another registry with --registry"
            ) from None
        except ResolveError as exc:
            raise ResolveError(f"prefix {prefix!r} not found at {self._registry}: {exc}") from None
        match = _NAMESPACE_ID.search(str(found.get("_links", {}).get("namespace", {})))
        if match is None:
            raise ResolveError(f"the registry knows no namespace for prefix {prefix!r}")
        resources = self._json(
            f"{self._registry}/resources/search/findAllByNamespaceId", params={"id": match[1]}
        )
        for resource in resources.get("_embedded", {}).get("resources", []):
            pattern = resource.get("urlPattern", "")
            if "{$id}" in pattern:
                return str(pattern)
        raise ResolveError(f"the registry has no URL pattern for prefix {prefix!r}")

    def get_object(self, uri: DrsUri) -> tuple[str, dict[str, Any]]:
        """The object's URL and its DrsObject (POST with passports when they were given)."""
        url = self.object_url(uri)
        if self._passports is not None:
            return url, self._json(url, method="POST", body={"passports": self._passports})
        return url, self._json(url)

    def access_url(self, object_url: str, obj: dict[str, Any]) -> tuple[str, list[str]]:
        """URL and headers for the object's bytes over https (DRS 1.5 §AccessMethod)."""
        for method in obj.get("access_methods", []):
            if method.get("type") != "https":
                continue
            if "access_url" in method:
                found = method["access_url"]
            else:
                target = f"{object_url}/access/{quote(method['access_id'], safe='')}"
                body = {"passports": self._passports} if self._passports is not None else None
                found = self._json(target, method="POST" if body else "GET", body=body)
            return str(found["url"]), list(found.get("headers", []))
        raise NotFoundError(f"object {obj.get('id')!r} offers no https access method")

    def download(
        self,
        obj: dict[str, Any],
        url: str,
        headers: list[str],
        target: Path,
        progress: Callable[[int], None] = lambda _n: None,
    ) -> Download:
        """Stream the bytes to ``target``; keep them only if size and checksum match."""
        kind, expected = _best_checksum(obj)
        digest = hashlib.new(_DIGESTS[kind])
        partial = target.with_name(target.name + ".part")
        size = 0
        extra = dict(h.split(":", 1) for h in headers)
        try:
            with (
                self._http.stream("GET", url, headers=extra) as response,
                partial.open("wb") as out,
            ):
                if response.status_code != 200:
                    raise ResolveError(f"download failed: HTTP {response.status_code}")
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    progress(len(chunk))
            if size != obj.get("size") or digest.hexdigest() != expected.lower():
                raise ResolveError(
                    f"downloaded {size} bytes with {kind} {digest.hexdigest()}; the object has"
                    f" {obj.get('size')} bytes and {kind} {expected}: nothing kept"
                )
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return Download(target, size, kind, expected)

    def _json(
        self, url: str, *, method: str = "GET", params: Any = None, body: Any = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._bearer}"} if self._bearer else {}
        try:
            response = self._http.request(method, url, params=params, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise UnreachableError(f"{url}: {exc}{_hint(url, exc)}") from None
        if response.status_code != 200:
            detail = response.text[:300]
            raise ResolveError(f"{method} {url}: HTTP {response.status_code}: {detail}")
        try:
            found: dict[str, Any] = response.json()
        except ValueError:
            raise ResolveError(f"{url} did not answer JSON") from None
        return found


def _hint(url: str, exc: httpx.HTTPError) -> str:
    """What to do when https was refused or spoken to a plain-http server."""
    if url.startswith("https://") and isinstance(exc, httpx.ConnectError | httpx.ProtocolError):
        return (
            "; a node served over plain http (a demo, a lab) needs --config with its settings"
            " file, or --scheme http"
        )
    return ""


def _best_checksum(obj: dict[str, Any]) -> tuple[str, str]:
    checksums = {c.get("type", "").lower(): c.get("checksum", "") for c in obj.get("checksums", [])}
    for kind in ("sha-256", "sha256", "md5"):
        if checksums.get(kind):
            return kind, checksums[kind]
    raise ResolveError("the object has no sha-256 or md5 checksum to verify a download against")
