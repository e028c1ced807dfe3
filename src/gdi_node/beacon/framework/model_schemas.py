"""Validation of metadata records against the Beacon v2.1.1 default-model schemas shipped in
``beacon/schemas/`` (model ``{individuals,biosamples,runs,analyses,cohorts,datasets}/
defaultSchema.json``; see beacon/schemas/NOTICE.md).

The schemas refer to each other by GitHub raw URLs and by relative paths; both resolve to the
shipped copies, so validation never touches the network.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012, specification_with

from gdi_node.beacon.framework.documents import METADATA_TYPES
from gdi_node.resources import shipped_dir

RAW = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/"
MODEL = "models/json/beacon-v2-default-model/"
ENTRY_FOLDERS = tuple(entry.folder for entry in METADATA_TYPES)


def _root() -> Path:
    return shipped_dir("beacon") / "schemas" / "beacon-v2.1.1"


def _retrieve(uri: str) -> Resource[Any]:
    if not uri.startswith(RAW):
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
    relative = uri.removeprefix(RAW).split("#", 1)[0]
    path = _root() / relative
    if not path.is_file() and path.name == "info.json":  # the model's info is the framework's
        path = _root() / "framework" / "json" / "common" / "info.json"
    if not path.is_file():
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
    contents = json.loads(path.read_text(encoding="utf-8"))
    schema_uri = contents.get("$schema") if isinstance(contents, dict) else None
    spec = specification_with(schema_uri, default=DRAFT202012) if schema_uri else DRAFT202012
    return Resource.from_contents(contents, default_specification=spec)


@functools.cache
def _validator(folder: str) -> Any:
    if folder not in ENTRY_FOLDERS:
        raise ValueError(f"no model schema for {folder!r}")
    uri = f"{RAW}{MODEL}{folder}/defaultSchema.json"
    registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    schema = _retrieve(uri).contents
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls({"$ref": uri}, registry=registry)


def violations(folder: str, record: Any, *, limit: int = 5) -> list[str]:
    """At most ``limit`` violations of ``record`` against the default schema of ``folder``
    (``individuals``, ``biosamples``, …), each as ``path: message``; empty when valid."""
    out = []
    for error in _validator(folder).iter_errors(record):
        where = "/".join(str(p) for p in error.absolute_path) or "(record)"
        out.append(f"{where}: {error.message[:300]}")
        if len(out) >= limit:
            break
    return out
