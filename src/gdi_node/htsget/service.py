"""htsget 1.3 protocol logic: tickets for catalogue objects (§Ticket response).

Native formats are byte ranges of the original file computed from its index; a CRAM asked for
as BAM or a BCF asked for as VCF is transcoded by the data endpoint (igv.js reads BAM and VCF
only over htsget). Every ticket is authorised by the passport layer for file bytes and expires
no later than the visas that granted it, and none is issued for a file withheld from research
use by an opt-out (gdi_node.db.consent, decision record 0012).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gdi_node.config.settings import Settings
from gdi_node.config.trust import Disclosure
from gdi_node.db.catalogue import CatalogueRepository
from gdi_node.db.consent import ConsentGate
from gdi_node.db.models import DataObject
from gdi_node.errors import NotFoundError, UnsupportedFormatError
from gdi_node.expiring_lru import ExpiringLru
from gdi_node.htsget.planner import FileRange, IndexCache, InlineBytes, Part, Region
from gdi_node.htsget.requests import FORMATS, Datatype, TicketRequest
from gdi_node.htsget.transcode import check_decodable
from gdi_node.passport.authorizer import Authorizer, RequestFacts
from gdi_node.passport.principal import Principal
from gdi_node.service_info import service_info
from gdi_node.storage.formats import FileFormat
from gdi_node.storage.names import choose, objects_named
from gdi_node.storage.signing import HTSGET_PATH, UrlSigner

BASE_PATH = HTSGET_PATH
TRANSCODES = {("CRAM", "BAM"), ("BCF", "VCF")}  # (stored, served)


def transcoding_table(datatype: Datatype) -> list[dict[str, str]]:
    """Which stored format is served how, for service-info and the README."""
    rows = []
    for stored in FORMATS[datatype]:
        for served in FORMATS[datatype]:
            if stored == served:
                rows.append({"stored": stored, "served": served, "mode": "native"})
            elif (stored, served) in TRANSCODES:
                rows.append({"stored": stored, "served": served, "mode": "transcoded"})
    return rows


def encode_regions(regions: tuple[Region, ...] | None) -> str:
    data = None if regions is None else [[r.reference_name, r.start, r.end] for r in regions]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def decode_regions(text: str) -> tuple[Region, ...] | None:
    raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    return None if raw is None else tuple(Region(n, s, e) for n, s, e in raw)


@dataclass(frozen=True)
class ResolvedObject:
    """A catalogue object as htsget needs it."""

    id: str
    dataset_id: str
    path: Path
    index_path: Path
    format: FileFormat
    size: int

    @classmethod
    def of(cls, row: DataObject) -> ResolvedObject:
        if row.index_path is None:
            raise NotFoundError(f"object {row.id!r} has no index")
        return cls(
            row.id,
            row.dataset_id,
            Path(row.path),
            Path(row.index_path),
            FileFormat(row.format),
            row.size,
        )


@dataclass(frozen=True)
class StoredFile:
    """Any file the data endpoint may serve bytes of: a data object or an index object
    (``data_object_id`` names the data object itself, or the one the index belongs to)."""

    id: str
    dataset_id: str
    path: Path
    size: int
    data_object_id: str


class ObjectLookup:
    """Catalogue access shared by the ticket and data endpoints (and DRS's byte URLs).

    Found objects are remembered for ``ttl`` seconds (a ticket's URLs are fetched in a burst);
    the data endpoint still compares the file's size with the catalogue on every request.
    """

    def __init__(
        self, sessions: sessionmaker[Session], ttl: float = 10.0, max_entries: int = 10_000
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._objects = ExpiringLru(max_entries)
        self._files = ExpiringLru(max_entries)
        self._names = ExpiringLru(max_entries)

    def named(self, name: str) -> dict[str, str]:
        """The data objects a client's name (id or alias) names, object id -> dataset id
        (gdi_node.storage.names: the id space DRS resolves too)."""
        found: dict[str, str] = self._cached(self._names, name, self._load_named)
        return found

    def get(self, object_id: str) -> ResolvedObject:
        found: ResolvedObject = self._cached(self._objects, object_id, self._load_object)
        return found

    def stored_file(self, file_id: str) -> StoredFile:
        """A data object's or an index object's file (DRS serves both through signed URLs)."""
        found: StoredFile = self._cached(self._files, file_id, self._load_file)
        return found

    def _cached(self, cache: ExpiringLru, key: str, load: Callable[[str], object]) -> Any:
        now = time.monotonic()
        found = cache.get(key, now)
        if found is None:
            found = load(key)
            cache.put(key, now + self._ttl, found)
        return found

    def _load_named(self, name: str) -> dict[str, str]:
        with self._sessions() as session:
            named = objects_named(session, [name]).get(name)
        if named is None:  # not remembered: a file registered a moment later resolves at once
            raise NotFoundError(f"no object {name!r}")
        return named

    def _load_object(self, object_id: str) -> ResolvedObject:
        with self._sessions() as session:
            row = CatalogueRepository(session).get_object(object_id)
            if row is None:
                raise NotFoundError(f"no object {object_id!r}")
            return ResolvedObject.of(row)

    def _load_file(self, file_id: str) -> StoredFile:
        with self._sessions() as session:
            repo = CatalogueRepository(session)
            row = repo.get_object(file_id)
            if row is not None:
                return StoredFile(row.id, row.dataset_id, Path(row.path), row.size, row.id)
            index = repo.get_index(file_id)
            if index is None:
                raise NotFoundError(f"no object {file_id!r}")
            owner = index.data_object
            return StoredFile(index.id, owner.dataset_id, Path(index.path), index.size, owner.id)


class HtsgetService:
    """Tickets and service-info for the reads and variants endpoints."""

    def __init__(
        self,
        settings: Settings,
        *,
        objects: ObjectLookup,
        indexes: IndexCache,
        signer: UrlSigner,
        authorizer: Authorizer,
        consent: ConsentGate,
        started_at: Callable[[], str],
    ) -> None:
        self._settings = settings
        self._objects = objects
        self._indexes = indexes
        self._signer = signer
        self._authorizer = authorizer
        self._consent = consent
        self._started_at = started_at

    def service_info(self, datatype: Datatype) -> dict[str, Any]:
        return {
            **service_info(
                self._settings,
                suffix=f"htsget.{datatype}",
                name=f"htsget ({datatype})",
                artifact="htsget",
                version="1.3.0",
                description=f"htsget 1.3 {datatype} over the node's object catalogue",
                started_at=self._started_at(),
            ),
            "htsget": {
                "datatype": datatype,
                "formats": list(FORMATS[datatype]),
                "fieldsParameterEffective": False,
                "tagsParametersEffective": False,
                "transcoding": transcoding_table(datatype),
            },
        }

    def ticket(
        self, object_id: str, request: TicketRequest, principal: Principal, facts: RequestFacts
    ) -> dict[str, Any]:
        """A ticket for the object ``object_id`` names: its id or any alias DRS resolves too
        (decision record 0029); the permit is decided for the object, whatever name was used."""
        obj = self._resolve(object_id, request.datatype, principal, facts)
        permit = self._authorizer.decide(
            principal,
            obj.dataset_id,
            facts,
            level=Disclosure.FILE,
            object_id=obj.id,
            withheld=self._consent.withheld(obj.id),
        )
        now = self._signer.now()
        exp = now + self._settings.htsget.ticket_ttl_seconds
        if permit.expires_at is not None:
            exp = min(exp, permit.expires_at)
        regions = (
            None
            if request.regions is None
            else tuple(Region(r.reference_name, r.start, r.end) for r in request.regions)
        )
        if obj.format.value == request.format:
            plan = self._indexes.plan(
                obj.path, obj.index_path, obj.format, regions, header_only=request.header_only
            )
            parts = plan.header if request.header_only else plan.body
            urls = [self._url(obj.id, part, exp) for part in parts]
        elif (obj.format.value, request.format) in TRANSCODES:
            check_decodable(
                obj.path, obj.index_path, obj.format, self._settings.htsget.reference_fasta
            )
            if regions is not None:  # validates reference names and ranges
                self._indexes.plan(obj.path, obj.index_path, obj.format, regions)
            kind = "header" if request.header_only else "body"
            part = f"t:{request.format}:{kind}:{encode_regions(regions)}"
            urls = [{"url": self._signed(obj.id, part, exp)}]
        else:
            raise UnsupportedFormatError(
                f"object {object_id!r} is stored as {obj.format.value} and cannot be served"
                f" as {request.format}"
            )
        if request.header_only:
            urls = [{**u, "class": "header"} for u in urls]
        return {"htsget": {"format": request.format, "urls": urls}}

    def _resolve(
        self, name: str, datatype: Datatype, principal: Principal, facts: RequestFacts
    ) -> ResolvedObject:
        """The one object of ``datatype`` that ``name`` names (gdi_node.storage.names): a
        sample id naming the sample's CRAM and VCF names one object at each endpoint; a name
        naming two of one datatype is 409 (404 to a caller who may not know of one of them)."""
        candidates = {
            object_id: dataset_id
            for object_id, dataset_id in self._objects.named(name).items()
            if self._objects.get(object_id).format.value in FORMATS[datatype]
        }
        if not candidates:
            raise NotFoundError(f"no {datatype} object {name!r}")
        policy = self._authorizer.policy
        return self._objects.get(
            choose(
                name,
                candidates,
                lambda dataset_id: policy.visible(principal, dataset_id, facts.client_address),
            )
        )

    def _url(self, object_id: str, part: Part, exp: int) -> dict[str, Any]:
        if isinstance(part, InlineBytes):
            encoded = base64.b64encode(part.data).decode("ascii")
            return {"url": f"data:application/octet-stream;base64,{encoded}"}
        assert isinstance(part, FileRange)
        return {"url": self._signed(object_id, f"b:{part.start}-{part.end}", exp)}

    def _signed(self, object_id: str, part: str, exp: int) -> str:
        # Byte ranges go to the zero-copy listener when there is one; transcoded slices are
        # CPU-bound and gain nothing from sendfile, so they stay on the main port.
        transcoded = part.startswith("t:")
        base = self._settings.public_url if transcoded else self._settings.data_base_url
        return self._signer.data_url(base, object_id, part, exp)
