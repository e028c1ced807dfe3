"""Bounded HTTP calls to brokers and visa issuers: HTTPS only, size and time limits,
redirects followed only within the same origin (scheme, host and port)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from gdi_node.passport.errors import CredentialError

_MAX_REDIRECTS = 3


class TrustedHttp:
    """One httpx client per app, with the clearinghouse's transport rules applied."""

    def __init__(self, *, timeout: float, allow_insecure_http: bool) -> None:
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
        self._allow_http = allow_insecure_http

    def close(self) -> None:
        self._client.close()

    def _check_scheme(self, url: str) -> None:
        scheme = urlsplit(url).scheme
        if scheme != "https" and not (scheme == "http" and self._allow_http):
            raise CredentialError(f"refusing to fetch {url}: only https is allowed")

    def request_json(
        self,
        method: str,
        url: str,
        *,
        max_bytes: int,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Send one request; return (status, parsed JSON or None). Raises CredentialError on
        transport failures, oversized bodies, cross-origin redirects and non-JSON bodies."""
        origin = urlsplit(url)[:2]
        for _ in range(_MAX_REDIRECTS + 1):
            self._check_scheme(url)
            try:
                with self._client.stream(
                    method, url, headers=headers, data=data, auth=auth
                ) as response:
                    if response.is_redirect and method == "GET":
                        target = urljoin(url, response.headers.get("location", ""))
                        if urlsplit(target)[:2] != origin:
                            raise CredentialError(f"{url} redirects to another host: refused")
                        url = target
                        continue
                    body = self._read_bounded(response, url, max_bytes)
                    status = response.status_code
            except httpx.HTTPError as exc:
                raise CredentialError(f"{url} could not be fetched: {type(exc).__name__}") from None
            return status, self._parse(body, url)
        raise CredentialError(f"{url}: too many redirects")

    @staticmethod
    def _read_bounded(response: httpx.Response, url: str, max_bytes: int) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise CredentialError(f"{url} answered more than {max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise CredentialError(f"{url} answered more than {max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _parse(body: bytes, url: str) -> Any:
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise CredentialError(f"{url} did not answer JSON") from None
