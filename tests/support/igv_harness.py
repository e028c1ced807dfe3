"""Render tracks in igv.js inside headless Debian Chromium and report what was drawn.

``render_igv(tracks, locus, chrom_sizes)`` serves ``tests/clients/igv/page.html``, its script,
igv.js (from ``tests/clients/igv/node_modules``) and the chrom.sizes file from a loopback HTTP
server; starts ``/usr/bin/chromium`` with exactly :data:`CHROMIUM_FLAGS` (plus a new
``--user-data-dir`` and a loopback ``--remote-debugging-port`` to drive it); and runs
``tests/clients/igv/drive.mjs`` (playwright-core connected over the DevTools protocol; it never
downloads a browser), which waits until the page has written its result and takes an optional
screenshot. The page lets no request leave loopback (see ``blockedRequests``). Returns a dict:

- ``status``: ``"done"``, ``"error"`` (igv.js could not start, e.g. a bad reference) or
  ``"timeout"`` (not settled within ``timeout``; the partial state is still reported);
- ``tracks``: one entry per requested track, in order: ``name``, ``type``, ``loaded`` (igv.js
  added the track), ``error`` (the track's load failure, the data-load failure igv.js shows in
  it, or that it was still loading at a timeout; None when fine), ``drawn`` (features igv.js
  painted that overlap the visible window: alignments for alignment tracks, variants for variant
  tracks), ``loadedFeatures`` and ``viewports`` (one per locus: ``chr``, ``start``, ``end``,
  ``zoomedOut``, ``painted``, ``paintedPixels``, ``drawCalls``, ``drawnFromCache``, ``message``;
  alignment tracks add ``rows``, ``downsampled``, ``coverageMax``);
- ``frames`` (the loci igv.js shows), ``alerts`` (igv.js alert texts), ``pageErrors``,
  ``blockedRequests`` (off-machine URLs igv.js tried), ``console`` (browser console messages),
  ``requests`` (every request the page made: method, url, Range/Authorization/Cache-Control/
  Origin headers, status, Content-Range and CORS response headers, failure), ``igvVersion``,
  ``browserVersion``, ``elapsedMs``, ``pageUrl``.

See ``tests/clients/igv/harness.js`` for how "drawn" is measured.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

IGV_DIR = Path(__file__).resolve().parents[1] / "clients" / "igv"
NODE_MODULES = IGV_DIR / "node_modules"
IGV_DIST = NODE_MODULES / "igv" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 900}
REQUIRE_ENV = "GDI_NODE_TEST_REQUIRE_BROWSER"
_NPM_PACKAGES = ("igv", "playwright-core")
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".css": "text/css",
}


def browser_tools_missing() -> str | None:
    """Why the harness cannot run here (Chromium, node or npm missing), or None when it can."""
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    missing.extend(tool for tool in ("node", "npm") if shutil.which(tool) is None)
    if not missing:
        return None
    return "igv.js harness needs " + ", ".join(missing) + "; run scripts/install-browser-deps"


def skip_unless_browser_tools() -> None:
    """Skip the calling test when the tools are missing; fail instead when REQUIRE_ENV=1 (CI)."""
    reason = browser_tools_missing()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)")
    pytest.skip(reason)


def installed_matches_lock(folder: Path, packages: tuple[str, ...]) -> bool:
    """Whether ``folder/node_modules`` holds each of ``packages`` at its locked version."""
    lock = json.loads((folder / "package-lock.json").read_text(encoding="utf-8"))
    for name in packages:
        manifest = folder / "node_modules" / name / "package.json"
        if not manifest.is_file():
            return False
        installed = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        if installed != lock.get("packages", {}).get(f"node_modules/{name}", {}).get("version"):
            return False
    return True


def ensure_npm_installed(folder: Path, packages: tuple[str, ...]) -> None:
    """Run ``npm ci`` in ``folder`` unless node_modules already holds the locked versions."""
    if installed_matches_lock(folder, packages):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed; run scripts/install-browser-deps")
    completed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0 or not installed_matches_lock(folder, packages):
        raise RuntimeError(f"npm ci in {folder} failed:\n{completed.stdout}\n{completed.stderr}")


def ensure_igv_installed() -> Path:
    """igv.js and playwright-core, locked, in tests/clients/igv/node_modules."""
    ensure_npm_installed(IGV_DIR, _NPM_PACKAGES)
    if not (IGV_DIST / "igv.min.js").is_file():
        raise RuntimeError(f"{IGV_DIST / 'igv.min.js'} is missing after npm ci")
    return NODE_MODULES


def run_driver(script: Path, job: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """Run the node driver ``script`` (playwright-core) with ``job`` on stdin; its JSON report.
    A driver that fails, or does not finish within ``timeout`` seconds, is a RuntimeError."""
    try:
        completed = subprocess.run(
            ["node", str(script)],
            input=json.dumps(job),
            cwd=script.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{script.name} did not finish within {timeout:.0f} s") from exc
    if completed.returncode != 0:
        raise RuntimeError(f"{script.name} failed ({completed.returncode}):\n{completed.stderr}")
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


class _AssetHandler(BaseHTTPRequestHandler):
    """Serves the page, its script, igv.js and the per-run files (same origin, GET/HEAD only)."""

    server: _AssetServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _resolve(self) -> Path | bytes | None:
        path = unquote(urlsplit(self.path).path)
        if path in self.server.files:
            return self.server.files[path]
        prefix = "/node_modules/igv/dist/"
        if path.startswith(prefix):
            candidate = (IGV_DIST / path[len(prefix) :]).resolve()
            if candidate.is_file() and candidate.is_relative_to(IGV_DIST.resolve()):
                return candidate
        return None

    def _send(self, head_only: bool) -> None:
        target = self._resolve()
        if target is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        if isinstance(target, bytes):
            body, suffix = target, Path(urlsplit(self.path).path).suffix
        else:
            body, suffix = target.read_bytes(), target.suffix
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", _CONTENT_TYPES.get(suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(head_only=False)

    def do_HEAD(self) -> None:
        self._send(head_only=True)


class _AssetServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files: Mapping[str, Path | bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _AssetHandler)
        self.files = dict(files)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


@contextlib.contextmanager
def _serving(files: Mapping[str, Path | bytes]) -> Iterator[_AssetServer]:
    server = _AssetServer(files)
    thread = threading.Thread(target=server.serve_forever, name="igv-assets", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop Chromium and its children (it runs in its own session, so its group id is its pid)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # Renderer/GPU helpers may outlive the browser process for a moment; they share its group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_chromium(workdir: Path) -> Iterator[str]:
    """Start headless Chromium; yield its DevTools HTTP endpoint on loopback."""
    profile = workdir / "profile"
    profile.mkdir()
    log_path = workdir / "chromium.log"
    command = [
        str(CHROMIUM),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while True:
            lines = port_file.read_text().splitlines() if port_file.is_file() else []
            if len(lines) >= 2 and lines[0].strip().isdigit():
                break
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"Chromium did not start (exit {process.poll()}):\n{tail}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{int(lines[0])}"
    finally:
        _stop_process_group(process)


def _reference_config(reference_chrom_sizes: Path | str) -> tuple[dict[str, str], bytes | None]:
    text = str(reference_chrom_sizes)
    if text.startswith(("http://", "https://")):
        return {"id": "reference", "name": "reference", "format": "chromsizes", "url": text}, None
    path = Path(reference_chrom_sizes)
    url = "reference.chrom.sizes"
    return {
        "id": path.stem,
        "name": path.stem,
        "format": "chromsizes",
        "url": url,
    }, path.read_bytes()


def render_igv(
    tracks: list[dict[str, Any]],
    locus: str | list[str],
    reference_chrom_sizes: Path | str,
    *,
    screenshot: Path | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    """Show ``tracks`` at ``locus`` in igv.js in headless Chromium; return what was drawn.

    ``tracks`` are igv.js track configs (``type``, ``format``, ``url``, ``indexURL``,
    ``sourceType: "htsget"``, ``oauthToken``, ``name``, ...), passed through unchanged; a missing
    ``name`` becomes ``track<i>``. ``locus`` is an igv locus string or a list (multi-locus view).
    ``reference_chrom_sizes`` is a chrom.sizes file (served by the harness) or an http(s) URL.
    ``timeout`` bounds how long the page waits for the tracks to settle; the whole call is also
    bounded (``timeout`` + 60 s for starting the browser). A track that fails is reported in its
    ``error``; the call raises only when the harness itself cannot run.
    """
    reason = browser_tools_missing()
    if reason is not None:
        raise RuntimeError(reason)
    ensure_igv_installed()
    reference, reference_bytes = _reference_config(reference_chrom_sizes)
    timeout_ms = max(1000, int(timeout * 1000))
    config = {"reference": reference, "locus": locus, "tracks": tracks, "timeoutMs": timeout_ms}
    files: dict[str, Path | bytes] = {
        "/page.html": IGV_DIR / "page.html",
        "/harness.js": IGV_DIR / "harness.js",
        "/config.json": json.dumps(config).encode(),
    }
    if reference_bytes is not None:
        files["/reference.chrom.sizes"] = reference_bytes

    workdir = Path(tempfile.mkdtemp(prefix="gdi-igv-"))
    try:
        with _serving(files) as server, running_chromium(workdir) as endpoint:
            job = {
                "cdpEndpoint": endpoint,
                "pageUrl": f"{server.base_url}/page.html?config=config.json",
                "timeoutMs": timeout_ms,
                "screenshot": str(Path(screenshot).resolve()) if screenshot else None,
                "viewport": VIEWPORT,
            }
            if screenshot:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            result = run_driver(IGV_DIR / "drive.mjs", job, timeout + 60)
            result["pageUrl"] = job["pageUrl"]
            return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def track_result(result: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The entry of ``result["tracks"]`` for the track called ``name``."""
    for track in result["tracks"]:
        if track["name"] == name:
            return dict(track)
    raise KeyError(f"no track {name!r} in result (tracks: {[t['name'] for t in result['tracks']]})")


def render_page(
    page_url: str, *, screenshot: Path | None = None, timeout: float = 60
) -> dict[str, Any]:
    """Open ``page_url``, a page that makes its own igv.js browser and keeps it (or the promise
    of it) in ``window.igvBrowser`` (the demo's ``igv.html``), in headless Chromium with every
    request off this machine refused; return what igv.js drew (``tests/clients/igv/
    demo_page.mjs``): ``status``, ``tracks`` (``name``, ``type``, ``loaded``, ``drawn``,
    ``paintedPixels``), ``blockedRequests``, ``requests``, ``pageErrors``, ``igvVersion``."""
    reason = browser_tools_missing()
    if reason is not None:
        raise RuntimeError(reason)
    ensure_igv_installed()
    workdir = Path(tempfile.mkdtemp(prefix="gdi-igv-page-"))
    try:
        with running_chromium(workdir) as endpoint:
            job = {
                "cdpEndpoint": endpoint,
                "pageUrl": page_url,
                "timeoutMs": max(1000, int(timeout * 1000)),
                "screenshot": str(Path(screenshot).resolve()) if screenshot else None,
                "viewport": VIEWPORT,
            }
            if screenshot:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            result = run_driver(IGV_DIR / "demo_page.mjs", job, timeout + 90)
            return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
