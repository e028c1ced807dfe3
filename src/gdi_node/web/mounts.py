"""The table of APIs this node mounts: one OpenAPI document, base path and handler table each.

Every document in ``openapi/`` appears here exactly once (a test checks it), and every
operationId of a document resolves through its table; nothing is looked up by module name.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import Engine

from gdi_node.beacon import api as beacon_api
from gdi_node.beacon.framework import documents as beacon_framework
from gdi_node.beacon.queries import service as beacon_service
from gdi_node.beacon.queries.metadata import MetadataQueries
from gdi_node.db.consent import ConsentGate
from gdi_node.db.engine import (
    database_reachable,
    make_read_session_factory,
    make_session_factory,
)
from gdi_node.db.migrate import current_revision, head_revision
from gdi_node.drs import api as drs_api
from gdi_node.drs import service as drs_service
from gdi_node.errors import (
    Envelope,
    beacon_envelope,
    drs_envelope,
    htsget_envelope,
    service_registry_envelope,
)
from gdi_node.htsget import api as htsget_api
from gdi_node.htsget import service as htsget_service
from gdi_node.htsget.data import DataService
from gdi_node.htsget.planner import IndexCache
from gdi_node.node import api as node_api
from gdi_node.node.service import NodeService, ServiceEntry, ServiceType
from gdi_node.passport.wiring import AuthorizationStack
from gdi_node.resources import openapi_document
from gdi_node.secrets import load_or_create_secret
from gdi_node.settings import Settings
from gdi_node.storage.signing import UrlSigner
from gdi_node.web.observability import RequestMetrics

Handler = Callable[..., Any]
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class OperationTableError(RuntimeError):
    """A document's operationIds and its handler table disagree; the node must not start."""


@dataclass(frozen=True)
class ApiMount:
    """One mounted API: its document, where it lives, who answers, how errors look."""

    name: str
    document: str
    base_path: str
    operations: Mapping[str, Handler]
    envelope: Envelope


@functools.lru_cache(maxsize=16)
def _parsed(document: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
    text = openapi_document(document).read_text(encoding="utf-8")
    spec: dict[str, Any] = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    return spec


def openapi_spec(document: str) -> dict[str, Any]:
    """A fresh copy of a shipped document, parsed once per process (the files are static)."""
    return copy.deepcopy(_parsed(document))


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


class MethodIndex:
    """Which HTTP methods each path of the mounted documents accepts (for ``Allow`` on 405).

    connexion's router answers 405 with the methods of the first route that matched the path
    only; the node answers with every method its documents declare for it (RFC 9110 §15.5.6).
    """

    def __init__(self, mounts: list[ApiMount]) -> None:
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


@dataclass(frozen=True)
class HtsgetParts:
    """The htsget services of one app (the data service is also used by a middleware), with
    the URL signer and the consent gate DRS shares."""

    tickets: htsget_service.HtsgetService
    data: DataService
    signer: UrlSigner
    consent: ConsentGate

    @classmethod
    def build(
        cls, settings: Settings, engine: Engine, authorization: AuthorizationStack, started: str
    ) -> HtsgetParts:
        objects = htsget_service.ObjectLookup(make_session_factory(engine))
        signer = UrlSigner(load_or_create_secret(settings.url_signing_key_file))
        consent = ConsentGate(make_read_session_factory(engine))
        authorizer = authorization.authorizer
        tickets = htsget_service.HtsgetService(
            settings,
            objects=objects,
            indexes=IndexCache(),
            signer=signer,
            authorizer=authorizer,
            consent=consent,
            started_at=lambda: started,
        )
        data = DataService(settings, objects, signer, consent=consent, authorizer=authorizer)
        return cls(tickets, data, signer, consent)


@dataclass(frozen=True)
class NodeRuntime:
    """Objects created once per app by ``create_app`` and shared by the APIs."""

    settings: Settings
    engine: Engine
    metrics: RequestMetrics
    started_at: datetime
    authorization: AuthorizationStack
    htsget: HtsgetParts


def _schema_is_current(engine: Engine, head: str | None) -> bool:
    try:
        return current_revision(engine) == head
    except Exception:  # an unreachable database is reported by the other check
        return False


def registry_entries() -> list[ServiceEntry]:
    """The GA4GH APIs this node serves, as its Service Registry lists them."""
    return [
        ServiceEntry(
            type=ServiceType("beacon", "2.1.1"),
            name="gdi-node Beacon",
            description="Beacon v2: variant discovery and the allele-frequency database",
            base_path=beacon_service.BASE_PATH,
        ),
        ServiceEntry(
            type=ServiceType("drs", "1.5.0"),
            name="gdi-node DRS",
            description="DRS 1.5: genomic files and their indexes, access per passport",
            base_path=drs_service.BASE_PATH,
        ),
        ServiceEntry(
            type=ServiceType("htsget", "1.3.0"),
            name="gdi-node htsget",
            description="htsget 1.3 reads (BAM, CRAM) and variants (VCF, BCF)",
            base_path=htsget_service.BASE_PATH,
        ),
        ServiceEntry(
            type=ServiceType("service-registry", "1.0.0"),
            name="gdi-node service registry",
            description="GA4GH Service Registry of the APIs this node serves",
            base_path="",
        ),
    ]


def drs_issuers(settings: Settings, stack: AuthorizationStack) -> drs_service.Issuers:
    """Visa issuers and token issuers the node trusts, for DRS ``Authorizations``."""
    local = (stack.local_issuer.issuer,) if stack.local_issuer is not None else ()
    trust = settings.trust
    return drs_service.Issuers(
        passport=(*(i.issuer for i in trust.visa_issuers), *local),
        bearer=(*(i.issuer for i in trust.passport_issuers), *local),
    )


def build_mounts(runtime: NodeRuntime) -> list[ApiMount]:
    """Mounts in routing order: more specific base paths first, the node API (``""``) last."""
    head = head_revision()
    node_service = NodeService(
        runtime.settings,
        registry_entries(),
        runtime.started_at,
        {
            "database": lambda: database_reachable(runtime.engine),
            "schema": lambda: _schema_is_current(runtime.engine, head),
            "audit": lambda: not runtime.authorization.audit.health().stuck,
        },
    )
    authorizer = runtime.authorization.authorizer
    drs = drs_service.DrsService(
        runtime.settings,
        make_session_factory(runtime.engine),
        runtime.htsget.signer,
        authorizer,
        consent=runtime.htsget.consent,
        issuers=drs_issuers(runtime.settings, runtime.authorization),
        started_at=runtime.started_at.isoformat,
    )
    beacon = beacon_service.BeaconService(
        runtime.settings,
        make_session_factory(runtime.engine),
        authorizer,
        base_url=runtime.settings.public_url + beacon_service.BASE_PATH,
        started_at=runtime.started_at.isoformat,
        read_sessions=make_read_session_factory(runtime.engine),
    )
    return [
        ApiMount(
            name="beacon",
            document="beacon.yaml",
            base_path=beacon_service.BASE_PATH,
            operations=beacon_api.operations(
                beacon,
                authorizer,
                MetadataQueries(beacon, runtime.settings.public_url),
            ),
            envelope=beacon_envelope(
                beacon_framework.beacon_id(runtime.settings), beacon_framework.API_VERSION
            ),
        ),
        ApiMount(
            name="drs",
            document="drs.yaml",
            base_path=drs_service.BASE_PATH,
            operations=drs_api.operations(drs, authorizer),
            envelope=drs_envelope,
        ),
        ApiMount(
            name="htsget",
            document="htsget.yaml",
            base_path=htsget_service.BASE_PATH,
            operations=htsget_api.operations(
                runtime.htsget.tickets, runtime.htsget.data, authorizer
            ),
            envelope=htsget_envelope,
        ),
        ApiMount(
            name="node",
            document="node.yaml",
            base_path="",
            operations=node_api.operations(
                node_service,
                runtime.metrics,
                runtime.authorization.authorizer,
                runtime.authorization.local_issuer,
            ),
            envelope=service_registry_envelope,
        ),
    ]
