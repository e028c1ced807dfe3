"""``gdi-node demo`` without serving: repeatable. Serving and every printed command:
tests/clients/test_demo_first_hour.py."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import GDI_NODE

pytestmark = pytest.mark.slow


def test_demo_can_prepare_without_serving_and_is_repeatable(tmp_path: Path) -> None:
    args = [
        str(GDI_NODE),
        "demo",
        "--no-serve",
        "--data-dir",
        str(tmp_path / "d"),
        "--port",
        "8999",
    ]
    first = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    assert "Once served, try:" in first.stdout
    facts = json.loads((tmp_path / "d" / "demo.json").read_text())
    second = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    again = json.loads((tmp_path / "d" / "demo.json").read_text())
    assert second.returncode == 0
    assert [o["id"] for o in again["objects"]] == [o["id"] for o in facts["objects"]]
    assert [o["sha256"] for o in again["objects"]] == [o["sha256"] for o in facts["objects"]]


def test_the_demo_names_samtools_and_bcftools_before_the_commands_that_need_them(
    tmp_path: Path,
) -> None:
    """Issue 17: the printed htsget commands need samtools and bcftools, which `pip install`
    does not bring: without them on PATH the demo says how to get them, first."""
    empty = tmp_path / "bin"
    empty.mkdir()
    args = [str(GDI_NODE), "demo", "--no-serve", "--data-dir", str(tmp_path / "d")]
    env = {**os.environ, "PATH": str(empty)}
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True, env=env)
    advice = "The htsget commands need samtools bcftools, not installed here: sudo apt-get"
    assert advice in out.stdout
    assert out.stdout.index(advice) < out.stdout.index("samtools view")
    facts = json.loads((tmp_path / "d" / "demo.json").read_text())
    assert facts["missing_tools"] == ["samtools", "bcftools"]
