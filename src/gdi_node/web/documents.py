"""The shipped OpenAPI documents as the app serves them: parsed once, every operationId resolved
through its API's explicit table (nothing is looked up by module name), and the methods each path
declares, for ``Allow``.

Every document in ``openapi/`` is mounted exactly once (a test checks it), and start-up fails
when a document's operationIds and its handler table disagree.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Sequence
from typing import Any

import jsonschema
import yaml
from connexion.exceptions import ResolverError
from connexion.resolver import Resolver

from gdi_node.resources import openapi_document
from gdi_node.web.mounts import ApiMount, Handler

_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class OperationTableError(RuntimeError):
    """A document's operationIds and its handler table disagree; the node must not start."""


@functools.lru_cache(maxsize=16)
def _parsed(document: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
    text = openapi_document(document).read_text(encoding="utf-8")
    spec: dict[str, Any] = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    return spec


def openapi_spec(document: str) -> dict[str, Any]:
    """A fresh copy of a shipped document, parsed once per process (the files are static)."""
    return copy.deepcopy(_parsed(document))


@functools.cache
def _schema_validator(document: str, schema: str) -> jsonschema.protocols.Validator:
    components = _parsed(document)["components"]
    validator: jsonschema.protocols.Validator = jsonschema.Draft4Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": components}
    )
    return validator


def schema_problem(document: str, schema: str, value: Any) -> str | None:
    """None when ``value`` is valid by ``components.schemas[schema]`` of a shipped OpenAPI
    document (a hub checks its members' answers this way); else what is wrong, in one line."""
    error = jsonschema.exceptions.best_match(_schema_validator(document, schema).iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "the document"
    return f"not a valid {schema}: {where}: {error.message}"[:300]


def _paths(document: str) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = _parsed(document).get("paths", {})
    return paths


def document_operation_ids(document: str) -> set[str]:
    """Every operationId declared in one of the node's OpenAPI documents."""
    return {
        operation["operationId"]
        for item in _paths(document).values()
        for method, operation in item.items()
        if method in _HTTP_METHODS
    }


def check_operation_table(mount: ApiMount) -> None:
    """Fail start-up unless every operationId has a handler and every handler an operationId."""
    declared = document_operation_ids(mount.document)
    missing = sorted(declared - set(mount.operations))
    unused = sorted(set(mount.operations) - declared)
    if missing or unused:
        raise OperationTableError(
            f"{mount.document}: operationIds without handler: {missing or 'none'};"
            f" handlers without operationId: {unused or 'none'}"
        )


class OperationTableResolver(Resolver):  # type: ignore[misc]
    """Resolve each operationId through an explicit table; an unknown id fails start-up."""

    def __init__(self, api_name: str, table: dict[str, Handler]) -> None:
        self._api_name = api_name
        self._table = table
        super().__init__(function_resolver=self._lookup)

    def resolve_operation_id(self, operation: Any) -> str:
        return str(operation.operation_id)

    def _lookup(self, operation_id: str) -> Handler:
        try:
            return self._table[operation_id]
        except KeyError:
            raise ResolverError(
                f"{self._api_name}: operationId {operation_id!r} has no handler"
            ) from None


class MethodIndex:
    """Which HTTP methods each path of the mounted documents accepts (for ``Allow`` on 405).

    connexion's router answers 405 with the methods of the first route that matched the path
    only; the node answers with every method its documents declare for it (RFC 9110 §15.5.6).
    """

    def __init__(self, mounts: Sequence[ApiMount]) -> None:
        self._routes: list[tuple[int, re.Pattern[str], frozenset[str]]] = []
        for mount in mounts:
            for template, item in _paths(mount.document).items():
                pattern = re.sub(r"\\\{[^}]+\\\}", ".+", re.escape(mount.base_path + template))
                methods = frozenset(m.upper() for m in item if m in _HTTP_METHODS)
                self._routes.append((template.count("{"), re.compile(pattern), methods))

    def allowed(self, path: str) -> list[str]:
        """Methods of the most specific template matching ``path`` (literal beats templated)."""
        matching = [(params, declared) for params, p, declared in self._routes if p.fullmatch(path)]
        fewest = min((params for params, _ in matching), default=0)
        methods: set[str] = set()
        for params, declared in matching:
            if params == fewest:
                methods |= declared
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)
