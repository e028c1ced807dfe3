"""The code maps (the docstrings of ``gdi_node.beacon`` and ``gdi_node.web``) and the README's
Beacon layer table name every module and layer that exists, so they cannot drift from the tree
(issue #16: "README's architecture section and the code map match the tree")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import gdi_node.beacon
import gdi_node.web

SRC = Path(gdi_node.beacon.__file__).resolve().parents[1]
README = SRC.parents[1] / "README.md"


def modules(package: Path) -> set[str]:
    return {p.stem for p in package.glob("*.py") if p.stem != "__init__"}


def named(docstring: str | None) -> set[str]:
    return set(re.findall(r"``(\w+)``", docstring or ""))


@pytest.mark.parametrize("layer", ["model", "framework", "store", "queries", "ingest"])
def test_the_beacon_code_map_names_every_module_of_each_layer(layer: str) -> None:
    missing = modules(SRC / "beacon" / layer) - named(gdi_node.beacon.__doc__)
    assert not missing, f"beacon/{layer}: {sorted(missing)} not in the code map"


def test_the_web_code_map_names_every_module() -> None:
    missing = modules(SRC / "web") - named(gdi_node.web.__doc__)
    assert not missing, f"web: {sorted(missing)} not in the code map"


def test_the_readme_lists_every_beacon_layer() -> None:
    layers = {p.name for p in (SRC / "beacon").iterdir() if (p / "__init__.py").exists()}
    listed = set(re.findall(r"^beacon/(\w+)/", README.read_text(encoding="utf-8"), re.M))
    assert layers == listed
