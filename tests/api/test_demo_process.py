"""``gdi-node demo`` on a fresh folder: files generated, registered, served; commands work."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.processes import GDI_NODE, free_port, running_node

pytestmark = pytest.mark.slow


def test_demo_serves_its_data_and_every_printed_command_works(tmp_path: Path) -> None:
    port = free_port()
    workdir = tmp_path / "elsewhere"  # far from the repository: ../shared is not reachable
    workdir.mkdir()
    with running_node(["demo", "--port", str(port), "--data-dir", "demo"], port, workdir) as node:
        facts = json.loads((workdir / "demo" / "demo.json").read_text())
        assert facts["base_url"] == node.base_url
        assert {o["format"] for o in facts["objects"]} == {"BAM", "CRAM", "VCF", "BCF"}
        for obj in facts["objects"]:
            assert obj["drs_uri"] == f"drs://127.0.0.1:{port}/{obj['id']}"
            assert Path(obj["path"]).is_relative_to(workdir / "demo")
        assert httpx.get(facts["urls"]["service_info"]).json()["name"] == "gdi-node demo"
        token = facts["tokens"]["controlled"]
        assert token in node.log_path.read_text(), "the ready token is printed"
        mine = httpx.get(
            f"{node.base_url}/permissions", headers={"Authorization": f"Bearer {token}"}
        ).json()
        granted = {p["datasetId"]: p for p in mine["permissions"]}
        assert granted["demo-controlled"]["audience"] == "controlled"
        assert granted["demo-controlled"]["disclosure"] == "file"
        anonymous = httpx.get(f"{node.base_url}/permissions").json()["permissions"]
        assert {p["datasetId"]: p["disclosure"] for p in anonymous}["demo-controlled"] == "boolean"
        printed = node.log_path.read_text()
        for command in facts["commands"]:
            assert command["run"] in printed, "the person sees the same commands as scripts"
            result = subprocess.run(
                shlex.split(command["run"]), capture_output=True, text=True, timeout=60, check=False
            )
            assert result.returncode == 0, (command, result.stderr)
            assert result.stdout.strip(), command
        assert node.stop() == 0


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
