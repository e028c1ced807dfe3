"""The demo's igv.js view (written to ``igv.html`` and ``demo.json``) draws its data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.igv_harness import render_igv, skip_unless_browser_tools, track_result
from tests.support.processes import free_port, running_node

pytestmark = pytest.mark.slow


def test_demo_igv_view_draws_reads_cram_as_bam_and_variants(tmp_path: Path) -> None:
    skip_unless_browser_tools()
    port = free_port()
    with running_node(["demo", "--port", str(port), "--data-dir", "demo"], port, tmp_path):
        facts = json.loads((tmp_path / "demo" / "demo.json").read_text())
        view = facts["igv"]
        page = Path(facts["igv_page"]).read_text()
        assert json.dumps(view) in page
        shot = REPO_ROOT / "artifacts" / "igv" / "demo.png"
        sizes = Path(view["reference"]["file"])
        assert sizes.read_text() == view["reference"]["chromSizes"]
        result = render_igv(view["tracks"], view["locus"], sizes, screenshot=shot)
    for track in view["tracks"]:
        drawn = track_result(result, track["name"])
        assert drawn["error"] is None, drawn
        assert drawn["drawn"] > 0, drawn
    assert (
        track_result(result, "demo CRAM (as BAM)")["drawn"]
        == track_result(result, "demo BAM")["drawn"]
    )
