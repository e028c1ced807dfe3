"""Files the node serves as they are (``openapi/node.yaml`` ``/static/…``): igv.js 3.8.10, the
unmodified ``dist/igv.min.js`` of the npm package ``igv`` with its MIT licence (``igv.LICENSE``),
so that the demo's ``igv.html`` draws the node's htsget data offline. To update it, copy both
files from ``tests/clients/igv/node_modules/igv`` after changing the version pinned in
``tests/clients/igv/package.json`` (a test checks the two agree)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_TYPES = {".js": "text/javascript", ".LICENSE": "text/plain"}
# the files change only with the package: browsers may keep them a day
CACHE_CONTROL = "public, max-age=86400"


@cache
def _read(name: str) -> bytes:
    return (_HERE / name).read_bytes()


def static_asset(name: str) -> tuple[bytes, int, dict[str, str]]:
    """The body, status and headers of one shipped file."""
    content_type = _TYPES[Path(name).suffix]
    return _read(name), 200, {"Content-Type": content_type, "Cache-Control": CACHE_CONTROL}
