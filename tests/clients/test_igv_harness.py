"""The igv.js harness (tests/support/igv_harness.py) reports what igv.js really drew.

Plain indexed BAM and VCF files are served by a Range-capable loopback HTTP server (igv.js reads
them directly, as it will read htsget data URLs later); the counts igv.js drew in the visible window
are checked against pysam's counts for the same window. A stand-in htsget ticket endpoint on the
same server shows the harness handles ``sourceType: "htsget"`` tracks and bearer tokens.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pysam
import pytest

from tests.conftest import shared_path
from tests.support.igv_harness import (
    ensure_igv_installed,
    render_igv,
    skip_unless_browser_tools,
    track_result,
)

pytestmark = pytest.mark.slow

BAM = "htsnexus_test_NA12878.bam"
VCF = "sample1-bcbio-cancer.vcf.gz"
READS_LOCUS = "11:5,010,001-5,011,000"  # the BAM has reads on 11:5.0-5.1 Mb and 20:6.0-6.1 Mb
EMPTY_LOCUS = "11:1,000,001-1,001,000"
VARIANTS_LOCUS = "MT:1-5,000"  # the VCF names it chrM (hg19 header); igv.js aliases chrM <-> MT
IGV_FILTERED_FLAGS = 0x4 | 0x200 | 0x400  # igv.js hides unmapped, QC-failed and duplicate reads
TOKEN = "test-token"
TICKETS = {"/htsget/reads/NA12878": ("BAM", BAM), "/htsget/variants/sample1": ("VCF", VCF)}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeHandler(BaseHTTPRequestHandler):
    """GET/HEAD with single byte ranges, CORS for the harness page's origin, and a request log.

    Paths in TICKETS answer like an htsget endpoint whose ticket is the whole file (a complete
    stream; the region is ignored); the variants ticket needs ``Authorization: Bearer TOKEN``.
    """

    server: RangeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _record(self) -> None:
        self.server.log.append(
            {
                "method": self.command,
                "path": unquote(urlsplit(self.path).path),
                "range": self.headers.get("Range"),
                "origin": self.headers.get("Origin"),
                "preflight_headers": self.headers.get("Access-Control-Request-Headers"),
                "authorization": self.headers.get("Authorization"),
            }
        )

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header(
            "Access-Control-Expose-Headers", "Content-Range, Content-Length, Accept-Ranges"
        )

    def do_OPTIONS(self) -> None:
        self._record()
        self.send_response(HTTPStatus.NO_CONTENT)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        requested = self.headers.get("Access-Control-Request-Headers")
        if requested:
            self.send_header("Access-Control-Allow-Headers", requested)
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self._serve(head_only=True)

    def do_GET(self) -> None:
        if urlsplit(self.path).path in TICKETS:
            self._ticket()
        else:
            self._serve(head_only=False)

    def _ticket(self) -> None:
        self._record()
        fmt, name = TICKETS[urlsplit(self.path).path]
        body: dict[str, Any]
        if fmt == "VCF" and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            status, body = HTTPStatus.UNAUTHORIZED, {"error": "InvalidAuthentication"}
        else:
            status, body = HTTPStatus.OK, {"format": fmt, "urls": [{"url": self.server.url(name)}]}
        data = json.dumps({"htsget": body}).encode()
        self.send_response(status)
        self._cors()
        self.send_header("Content-Type", "application/vnd.ga4gh.htsget.v1.3.0+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _serve(self, head_only: bool) -> None:
        self._record()
        name = unquote(urlsplit(self.path).path).lstrip("/")
        path = self.server.files.get(name)
        if path is None:
            self.send_response(HTTPStatus.NOT_FOUND)
            self._cors()
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = path.stat().st_size
        start, end, status = 0, size - 1, HTTPStatus.OK
        header = self.headers.get("Range")
        match = _RANGE.match(header.strip()) if header else None
        if match and (match.group(1) or match.group(2)):
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last), size - 1) if last else size - 1
            else:
                start, end = max(0, size - int(last)), size - 1
            if start >= size or start > end:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self._cors()
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = HTTPStatus.PARTIAL_CONTENT
        length = end - start + 1
        self.send_response(status)
        self._cors()
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not head_only:
            with path.open("rb") as handle:
                handle.seek(start)
                self.wfile.write(handle.read(length))


class RangeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files: dict[str, Path]) -> None:
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.files = files
        self.log: list[dict[str, str | None]] = []

    def url(self, name: str) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/{name}"


@contextlib.contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def data_server() -> Iterator[RangeServer]:
    skip_unless_browser_tools()
    ensure_igv_installed()
    bam = shared_path("data", "htsget", "bam", BAM)
    vcf = shared_path("data", "htsget", "vcf", VCF)
    files = {p.name: p for p in (bam, Path(f"{bam}.bai"), vcf, Path(f"{vcf}.tbi"))}
    server = RangeServer(files)
    with serving(server):
        yield server


@pytest.fixture(scope="module")
def chrom_sizes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hs37d5 names and lengths, from the BAM header (offline reference for igv.js)."""
    bam = shared_path("data", "htsget", "bam", BAM)
    path = tmp_path_factory.mktemp("reference") / "hs37d5.chrom.sizes"
    with pysam.AlignmentFile(str(bam), "rb") as reads:
        lines = [
            f"{name}\t{length}\n"
            for name, length in zip(reads.references, reads.lengths, strict=True)
        ]
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def vcf_chrom_sizes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The VCF's own contig names and lengths (hg19: chrM, chr22), from its header."""
    vcf = shared_path("data", "htsget", "vcf", VCF)
    path = tmp_path_factory.mktemp("reference") / "hg19-vcf.chrom.sizes"
    with pysam.VariantFile(str(vcf)) as variants:
        lines = [f"{c.name}\t{c.length}\n" for c in variants.header.contigs.values()]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def bam_track(server: RangeServer, name: str = "reads") -> dict[str, Any]:
    return {
        "type": "alignment",
        "format": "bam",
        "name": name,
        "url": server.url(BAM),
        "indexURL": server.url(f"{BAM}.bai"),
    }


def vcf_track(server: RangeServer, name: str = "variants") -> dict[str, Any]:
    return {
        "type": "variant",
        "format": "vcf",
        "name": name,
        "url": server.url(VCF),
        "indexURL": server.url(f"{VCF}.tbi"),
    }


def pysam_read_count(chrom: str, start: int, end: int) -> int:
    bam = shared_path("data", "htsget", "bam", BAM)
    with pysam.AlignmentFile(str(bam), "rb") as reads:
        return sum(1 for r in reads.fetch(chrom, start, end) if not r.flag & IGV_FILTERED_FLAGS)


def pysam_variant_count(chrom: str, start: int, end: int) -> int:
    vcf = shared_path("data", "htsget", "vcf", VCF)
    with pysam.VariantFile(str(vcf)) as variants:
        return sum(1 for _ in variants.fetch(chrom, start, end))


def render(*args: Any, **kwargs: Any) -> dict[str, Any]:
    started = time.monotonic()
    result = render_igv(*args, **kwargs)
    print(f"render_igv {args[1]!r}: {result['status']} in {time.monotonic() - started:.1f} s")
    return result


def test_reads_drawn_where_the_bam_has_data(
    data_server: RangeServer, chrom_sizes: Path, tmp_path: Path
) -> None:
    screenshot = tmp_path / "igv-reads.png"
    result = render(
        [bam_track(data_server), vcf_track(data_server)],
        READS_LOCUS,
        chrom_sizes,
        screenshot=screenshot,
    )
    print(f"screenshot: {screenshot}")
    assert result["status"] == "done", result
    assert result["igvVersion"].startswith("3.")
    reads = track_result(result, "reads")
    assert reads["loaded"], reads
    assert reads["error"] is None, reads
    (view,) = reads["viewports"]
    assert view["chr"] == "11"
    assert view["painted"]
    assert view["drawnFromCache"]
    assert view["drawCalls"] >= 1
    assert view["paintedPixels"] > 1000
    assert view["coverageMax"] > 0
    # What igv.js drew in the visible window is exactly what the file holds there.
    assert reads["drawn"] == pysam_read_count("11", view["start"], view["end"]) > 0
    # The VCF has no chromosome 11: the track loads and draws nothing.
    variants = track_result(result, "variants")
    assert variants["loaded"]
    assert variants["error"] is None
    assert variants["drawn"] == 0
    assert screenshot.stat().st_size > 10_000
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # igv.js read the BAM by byte ranges from the loopback server, and nothing else off-origin.
    ranged = [r for r in result["requests"] if r["url"] == data_server.url(BAM)]
    assert ranged
    assert all(r["headers"].get("range", "").startswith("bytes=") for r in ranged)
    loopback = ("http://127.0.0.1:", "data:", "blob:")
    assert all(r["url"].startswith(loopback) for r in result["requests"]), result["requests"]


def test_variants_drawn_where_the_vcf_has_data(
    data_server: RangeServer, chrom_sizes: Path, tmp_path: Path
) -> None:
    screenshot = tmp_path / "igv-variants.png"
    result = render(
        [bam_track(data_server), vcf_track(data_server)],
        VARIANTS_LOCUS,
        chrom_sizes,
        screenshot=screenshot,
    )
    print(f"screenshot: {screenshot}")
    assert result["status"] == "done", result
    variants = track_result(result, "variants")
    assert variants["error"] is None, variants
    (view,) = variants["viewports"]
    assert view["chr"] == "MT"
    assert view["painted"]
    assert view["drawnFromCache"]
    assert variants["drawn"] == pysam_variant_count("chrM", view["start"], view["end"]) > 0
    reads = track_result(result, "reads")
    assert reads["error"] is None
    assert reads["drawn"] == 0
    assert screenshot.stat().st_size > 10_000


def test_nothing_drawn_at_an_empty_locus(data_server: RangeServer, chrom_sizes: Path) -> None:
    result = render([bam_track(data_server), vcf_track(data_server)], EMPTY_LOCUS, chrom_sizes)
    assert result["status"] == "done", result
    for name in ("reads", "variants"):
        track = track_result(result, name)
        assert track["loaded"], track
        assert track["error"] is None, track
        assert track["drawn"] == 0, track
        (view,) = track["viewports"]
        assert view["chr"] == "11"
        assert view["zoomedOut"] is False
    (view,) = track_result(result, "reads")["viewports"]
    assert view["paintedPixels"] == 0
    assert pysam_read_count("11", view["start"], view["end"]) == 0


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_broken_urls_are_reported_not_hung_on(data_server: RangeServer, chrom_sizes: Path) -> None:
    missing = bam_track(data_server, "missing")
    missing["url"] = data_server.url("no-such.bam")
    missing["indexURL"] = data_server.url("no-such.bam.bai")
    refused = vcf_track(data_server, "refused")
    refused["url"] = f"http://127.0.0.1:{closed_port()}/{VCF}"
    refused["indexURL"] = f"{refused['url']}.tbi"
    result = render([missing, refused, bam_track(data_server)], READS_LOCUS, chrom_sizes)
    assert result["status"] == "done", result  # settled, not given up at the page's timeout
    for name in ("missing", "refused"):
        track = track_result(result, name)
        assert track["error"], track
        assert track["drawn"] == 0
        print(f"{name}: {track['error']}")
    assert "404" in track_result(result, "missing")["error"] or any(
        "404" in a for a in result["alerts"]
    )
    # A broken track does not stop the others from drawing.
    assert track_result(result, "reads")["drawn"] > 0


def test_a_server_that_never_answers_gives_a_timeout_result(chrom_sizes: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/{BAM}"
        track = {"type": "alignment", "format": "bam", "name": "silent", "url": url}
        track["indexURL"] = f"{url}.bai"
        # the page gives up after 5 s; render's own bound (timeout + 60 s) guards against a hang
        result = render([track], READS_LOCUS, chrom_sizes, timeout=5)
    assert result["status"] == "timeout", result
    silent_track = track_result(result, "silent")
    # igv.js adds a BAM track before reading anything; the index read is what never finishes.
    assert silent_track["error"] == "not loaded: igv.js was still loading its data", silent_track
    assert [v["loading"] for v in silent_track["viewports"]] == [True]
    assert silent_track["drawn"] == 0


def test_htsget_tracks_and_bearer_token(
    data_server: RangeServer, chrom_sizes: Path, vcf_chrom_sizes: Path, tmp_path: Path
) -> None:
    reads = {
        "type": "alignment",
        "sourceType": "htsget",
        "format": "bam",
        "name": "reads",
        "url": data_server.url("htsget/reads/NA12878"),
    }
    variants = {
        "type": "variant",
        "sourceType": "htsget",
        "format": "vcf",
        "name": "variants",
        "url": data_server.url("htsget/variants/sample1"),
        "oauthToken": TOKEN,
    }
    result = render([reads], READS_LOCUS, chrom_sizes)
    assert result["status"] == "done", result
    track = track_result(result, "reads")
    (view,) = track["viewports"]
    assert track["error"] is None, track
    assert track["drawn"] == pysam_read_count("11", view["start"], view["end"]) > 0
    tickets = [r["url"] for r in result["requests"] if "/htsget/" in r["url"]]
    assert tickets[0].endswith("/htsget/reads/NA12878?class=header&format=BAM"), tickets
    assert any("format=BAM&referenceName=11&start=" in url for url in tickets), tickets

    # igv.js maps the reference's names to the VCF header's for the query but not the records
    # back (3.8.10): over htsget, variants show only with a reference named like the VCF.
    screenshot = tmp_path / "igv-htsget-variants.png"
    result = render([variants], "chrM:1-5,000", vcf_chrom_sizes, screenshot=screenshot)
    print(f"screenshot: {screenshot}")
    assert result["status"] == "done", result
    track = track_result(result, "variants")
    (view,) = track["viewports"]
    assert track["error"] is None, track
    assert track["drawn"] == pysam_variant_count("chrM", view["start"], view["end"]) > 0
    sent = [(r["url"], r["headers"].get("authorization")) for r in result["requests"]]
    ticket_auth = {auth for url, auth in sent if "/htsget/variants/" in url}
    data_auth = {auth for url, auth in sent if url == data_server.url(VCF)}
    assert ticket_auth == {f"Bearer {TOKEN}"}
    assert data_auth == {None}  # the token goes to the ticket endpoint only
