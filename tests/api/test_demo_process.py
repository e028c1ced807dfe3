"""``gdi-node demo`` without serving: repeatable. Serving and every printed command:
tests/clients/test_demo_first_hour.py."""

from __future__ import annotations

import json
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
