"""Project rules enforced by tooling: the ban on top-level ``beacon``/``htsget``/``drs`` imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")


def ruff_import_ban(source: str) -> subprocess.CompletedProcess[str]:
    """Lint ``source`` as if it were a module of the package, with only the import-ban rule."""
    module = REPO / "src" / "gdi_node" / "_ban_probe.py"
    command = [str(RUFF), "check", "--no-cache", "--select", "TID251"]
    return subprocess.run(
        [*command, "--stdin-filename", str(module), "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )


@pytest.mark.parametrize(
    "source",
    [
        "import htsget\n",
        "from beacon import api\n",
        "import drs.client\n",
        "from htsget import get\n",
    ],
)
def test_top_level_service_names_cannot_be_imported(source: str) -> None:
    result = ruff_import_ban(source)
    assert result.returncode == 1, result.stdout
    assert "TID251" in result.stdout


def test_our_own_subpackages_may_be_imported() -> None:
    result = ruff_import_ban("from gdi_node.storage import formats\nimport gdi_node.errors\n")
    assert result.returncode == 0, result.stdout
