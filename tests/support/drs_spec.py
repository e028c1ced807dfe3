"""The official DRS 1.5 OpenAPI (``../shared/specs/drs-1.5.0``), its relative ``$ref``s
resolved, for validating the node's DRS responses against it.

The one remote ``$ref`` (GA4GH service-info 1.0 ``Service``, part of DRS service-info) is not
fetched offline; it accepts anything here, and test_node_api checks the node's service-info
documents against the service-info schema its own OpenAPI carries."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.conftest import shared_path


class _Resolver:
    """Inline file ``$ref``s, except schema files (they may be recursive): those become
    ``#/$defs/<name>`` references, collected in ``defs``."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def load(self, path: Path) -> Any:
        return self.resolve(yaml.safe_load(path.read_text(encoding="utf-8")), path.parent)

    def resolve(self, node: Any, folder: Path) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(("http://", "https://")):
                return {}  # service-info 1.0's Service: not fetched offline (see module doc)
            if isinstance(ref, str) and not ref.startswith("#"):
                target = (folder / ref).resolve()
                if target.suffix != ".yaml":
                    return target.name  # a Markdown description
                if target.parent.name == "schemas":
                    if target.stem not in self.defs:
                        self.defs[target.stem] = {}  # placeholder while it is being loaded
                        self.defs[target.stem] = self.load(target)
                    return {"$ref": f"#/$defs/{target.stem}"}
                return self.load(target)
            return {key: self.resolve(value, folder) for key, value in node.items()}
        if isinstance(node, list):
            return [self.resolve(item, folder) for item in node]
        return node


@functools.lru_cache(maxsize=1)
def official_drs_spec() -> tuple[dict[str, Any], dict[str, Any]]:
    """The resolved document and its schema definitions."""
    root = shared_path("specs", "drs-1.5.0", "openapi", "data_repository_service.openapi.yaml")
    resolver = _Resolver()
    spec: dict[str, Any] = resolver.load(root)
    return spec, resolver.defs


def check_against_official(path: str, method: str, status: int, body: Any) -> None:
    """Validate ``body`` against the official response schema of ``method path status``."""
    spec, defs = official_drs_spec()
    response = spec["paths"][path][method]["responses"][status]
    schema = response["content"]["application/json"]["schema"]
    jsonschema.Draft7Validator({**schema, "$defs": defs}).validate(body)
