"""Drive the frequency browser's pages in headless Debian Chromium.

``drive(steps)`` starts ``/usr/bin/chromium`` with the igv.js harness's flags
(tests/support/igv_harness.py), runs ``tests/clients/web/steps.mjs`` (playwright-core over the
DevTools protocol; it never downloads a browser) with ``steps``, and returns its report:
``results`` (one per step), ``console``, ``pageErrors``, ``offMachine`` (requests the page
tried to send off this machine, refused) and ``browserVersion``. ``axe-core`` comes from
``tests/clients/web/node_modules`` (npm ci, locked).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support.igv_harness import (
    VIEWPORT,
    browser_tools_missing,
    ensure_npm_installed,
    run_driver,
    running_chromium,
)

WEB_DIR = Path(__file__).resolve().parents[1] / "clients" / "web"
_PACKAGES = ("playwright-core", "axe-core")


def drive(
    steps: Sequence[Mapping[str, Any]],
    *,
    timeout: float = 30,
    locale: str = "en-GB",
    viewport: Mapping[str, int] = VIEWPORT,
) -> dict[str, Any]:
    """Run ``steps`` (see steps.mjs) in one fresh browser context; a failed step ends the run
    and is reported as ``{"error": …}`` in its place."""
    reason = browser_tools_missing()
    if reason is not None:
        raise RuntimeError(reason)
    ensure_npm_installed(WEB_DIR, _PACKAGES)
    workdir = Path(tempfile.mkdtemp(prefix="gdi-web-"))
    try:
        with running_chromium(workdir) as endpoint:
            job = {
                "cdpEndpoint": endpoint,
                "viewport": dict(viewport),
                "steps": list(steps),
                "timeoutMs": int(timeout * 1000),
                "locale": locale,
            }
            return run_driver(WEB_DIR / "steps.mjs", job, timeout * max(4, len(steps)) + 60)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def step_results(report: Mapping[str, Any]) -> list[Any]:
    """The steps' results, after checking none failed (its error is the assertion message)."""
    results: list[Any] = list(report["results"])
    failed = [r for r in results if isinstance(r, dict) and "error" in r]
    assert not failed, failed[0]
    return results
