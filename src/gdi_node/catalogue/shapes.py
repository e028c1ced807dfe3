"""The GDI metadata shapes (HealthDCAT-AP release 5 profile, commit 3f1085d) the catalogue's
graphs are checked against, vendored unmodified in the service home ``catalogue/shapes/`` with
their SHA256SUMS (design note §2.1, §2.5).

All nine files make one shapes graph (``sh:node`` references cross files). ``Identifier.ttl``
uses ``foaf:`` without declaring it, so each file is parsed behind a shared prefix preamble
rather than edited."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from rdflib import Graph

from gdi_node.resources import shipped_dir

SHAPES_RELEASE = "gdi-metadata-3f1085d"
_PREAMBLE = "@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n"


class ShapesIntegrityError(RuntimeError):
    """A vendored shape file is missing or differs from its recorded checksum."""


def shapes_dir() -> Path:
    return shipped_dir("catalogue") / "shapes" / SHAPES_RELEASE


def _checked_files() -> list[Path]:
    folder = shapes_dir()
    files = []
    for line in (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        path = folder / name.strip()
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise ShapesIntegrityError(f"{path} is missing or differs from SHA256SUMS")
        files.append(path)
    return files


@cache
def gdi_shapes() -> Graph:
    """The nine shape files as one graph (parsed once per process; do not modify it)."""
    graph = Graph()
    for path in _checked_files():
        graph.parse(data=_PREAMBLE + path.read_text(encoding="utf-8"), format="turtle")
    return graph
