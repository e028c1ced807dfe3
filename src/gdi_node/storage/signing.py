"""Short-lived signed data URLs (htsget 1.3 §Ticket URLs: clients such as htslib never forward
the API token to data URLs, so the URL itself carries the authorisation).

A URL authorises one ``part`` of one object until ``exp``; the signature is HMAC-SHA256 over
the object id, the part and the expiry with a key kept in the data directory. htsget tickets
and DRS ``https`` access URLs (DRS 1.5 §AccessURL) are both such URLs, so the signer and the
paths they name live here, beside the files they serve, not in either API.
"""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Callable
from urllib.parse import quote

from gdi_node.errors import UnauthorizedError

HTSGET_PATH = "/htsget"  # the htsget API's base path; DRS's ``htsget`` access method points here
DATA_PATH = f"{HTSGET_PATH}/data"  # the data endpoint, on the main port and on the data listener


class UrlSigner:
    """Sign and check (object id, part, expiry) triples."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock

    def now(self) -> int:
        return int(self._clock())

    def signature(self, object_id: str, part: str, exp: int) -> str:
        message = f"{object_id}\n{part}\n{exp}".encode()
        digest = hmac.digest(self._key, message, "sha256")  # one-shot, in C
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def data_url(self, base_url: str, object_id: str, part: str, exp: int) -> str:
        """The signed URL of ``part`` of ``object_id`` at the data endpoint under ``base_url``."""
        sig = self.signature(object_id, part, exp)
        return (
            f"{base_url}{DATA_PATH}/{quote(object_id, safe='/')}"
            f"?part={quote(part, safe='')}&exp={exp}&sig={sig}"
        )

    def check(self, object_id: str, part: str, exp: int, sig: str) -> None:
        """Raise UnauthorizedError unless ``sig`` is valid and ``exp`` is in the future."""
        expected = self.signature(object_id, part, exp)
        if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
            raise UnauthorizedError("the data URL's signature is not valid")
        if exp <= self.now():
            raise UnauthorizedError("the data URL has expired; ask for a new ticket")
