"""Find the files the node ships next to its code: ``openapi/`` and the service homes.

In a source checkout (editable install) they sit at the top of the repository; in an installed
wheel they are packaged under ``gdi_node/_shipped/``. One resolver serves both, so no other module
needs to know how the node was installed.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_DIRS = ("openapi", "beacon", "htsget", "drs", "catalogue")

_PACKAGE_DIR = Path(__file__).resolve().parent


class ResourceNotFoundError(FileNotFoundError):
    """A shipped folder or file is missing from both the wheel layout and the source layout."""


def shipped_dir(name: str) -> Path:
    """Return the folder ``name`` (one of :data:`SHIPPED_DIRS`), wherever this install keeps it."""
    if name not in SHIPPED_DIRS:
        raise ValueError(f"unknown shipped folder {name!r}; expected one of {SHIPPED_DIRS}")
    candidates = (
        _PACKAGE_DIR / "_shipped" / name,  # installed wheel
        _PACKAGE_DIR.parent.parent / name,  # src/gdi_node -> repository root
    )
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    searched = ", ".join(str(c) for c in candidates)
    raise ResourceNotFoundError(f"shipped folder {name!r} not found (looked in {searched})")


def openapi_document(filename: str) -> Path:
    """Path of one of the node's own OpenAPI documents, e.g. ``node.yaml``."""
    path = shipped_dir("openapi") / filename
    if not path.is_file():
        raise ResourceNotFoundError(f"OpenAPI document {filename!r} not found at {path}")
    return path
