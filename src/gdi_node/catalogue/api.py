"""HTTP handlers of ``openapi/catalogue.yaml``: the FAIR Data Point at ``/fdp``. Each handler
negotiates the representation (gdi_node.catalogue.negotiation), serialises the record the
service built, and answers conditional requests: a strong ``ETag`` (the body's SHA-256),
``Last-Modified`` when known, 304 for a matching ``If-None-Match`` (or, without one, an
``If-Modified-Since`` not older than the record), ``Vary: Accept`` always (FDP Core draft
"Read"; RFC 9110 §13). :func:`mount` builds the service from the app's runtime."""

from __future__ import annotations

import hashlib
import json
import logging
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from gdi_node.catalogue import html
from gdi_node.catalogue.iris import BASE_PATH
from gdi_node.catalogue.negotiation import HTML, JSON_LD, Form, negotiate
from gdi_node.catalogue.service import CatalogueService, Document
from gdi_node.catalogue.store import FactsStore
from gdi_node.config.identifiers import SHAPE_CONFORMING, identifier_form
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_session_factory
from gdi_node.errors import catalogue_envelope
from gdi_node.service_info import ServiceEntry, ServiceType
from gdi_node.web.mounts import ApiMount, Handler
from gdi_node.web.request import request_header
from gdi_node.web.runtime import NodeRuntime

log = logging.getLogger(__name__)
# JSON-LD is handed over parsed: connexion serialises every JSON media type itself
Answer = tuple[bytes | Any, int, dict[str, str]]


def _body(document: Document, form: Form) -> bytes:
    if form is HTML:
        return html.render(document.graph, document.iri, document.title)
    assert form.serializer is not None
    serialised: bytes = document.graph.serialize(format=form.serializer, encoding="utf-8")
    return serialised


def _not_modified(etag: str, document: Document) -> bool:
    wanted = request_header("If-None-Match")
    if wanted is not None:
        tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
        return "*" in tags or etag in tags
    since = request_header("If-Modified-Since")
    if since is None or document.modified is None:
        return False
    try:
        stamp = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an invalid date is ignored (RFC 9110 §13.1.3)
    return stamp.tzinfo is not None and document.modified.replace(microsecond=0) <= stamp


def answer(document: Document, format_key: str | None) -> Answer:
    """The negotiated representation of ``document``, or 304."""
    form = negotiate(request_header("Accept"), format_key)
    body = _body(document, form)
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"Content-Type": form.media_type, "ETag": etag, "Vary": "Accept"}
    if document.modified is not None:
        headers["Last-Modified"] = format_datetime(
            document.modified.replace(microsecond=0), usegmt=True
        )
    if _not_modified(etag, document):
        return b"", 304, headers
    if form is JSON_LD:
        return json.loads(body), 200, headers
    return body, 200, headers


def operations(service: CatalogueService) -> dict[str, Handler]:
    """The operationId -> handler table of the FAIR Data Point."""

    def get_fdp(format: str | None = None) -> Answer:
        return answer(service.index(), format)

    def get_catalog(catalogId: str, format: str | None = None) -> Answer:
        return answer(service.catalog(catalogId), format)

    def get_dataset(datasetId: str, format: str | None = None) -> Answer:
        return answer(service.dataset(datasetId), format)

    def get_distribution(datasetId: str, api: str, format: str | None = None) -> Answer:
        return answer(service.distribution(datasetId, api), format)

    return {
        "getFairDataPoint": get_fdp,
        "getCatalog": get_catalog,
        "getDataset": get_dataset,
        "getDistribution": get_distribution,
    }


def warn_nonconforming(settings: Settings) -> None:
    """Log, once at start, the catalogued identifiers the GDI shape's pattern rejects
    (accepted all the same: decision record 0026)."""
    if settings.catalogue is None:
        return
    for dataset in settings.datasets:
        form = identifier_form(dataset.public_id)
        if form is not None and form not in SHAPE_CONFORMING:
            log.warning(
                "dataset %s: identifier %r (%s) is accepted but fails the sh:pattern of the GDI"
                " metadata shape (gdi-metadata 3f1085d); decision record 0026",
                dataset.id,
                dataset.public_id,
                form.value,
            )


def mount(runtime: NodeRuntime) -> ApiMount:
    """The FAIR Data Point of one app; listed in the Service Registry only when configured."""
    settings = runtime.settings
    warn_nonconforming(settings)
    service = CatalogueService(settings, FactsStore(make_session_factory(runtime.engine)))
    entry = ServiceEntry(
        type=ServiceType("fair-data-point", "1.2.0", group="org.fairdatapoint"),
        name="gdi-node FAIR Data Point",
        description="FAIR Data Point: the node's datasets as HealthDCAT-AP (GDI profile)",
    )
    return ApiMount(
        name="catalogue",
        document="catalogue.yaml",
        base_path=BASE_PATH,
        operations=operations(service),
        envelope=catalogue_envelope,
        cors=True,
        service=entry if settings.catalogue is not None else None,
    )
