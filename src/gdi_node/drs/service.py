"""DRS 1.5 protocol logic: resolve ids and aliases, authorise through the passport layer, choose
access methods per caller (DRS 1.5 §AccessMethod), sign access URLs, answer bulk requests.

A DrsObject of a file or index carries bytes, so it needs the dataset's ``file`` disclosure;
a caller without it gets the passport layer's 401/403/404 (docs/authorization.md), never the
object's metadata. ``https`` access is a signed, Range-capable URL of the node's data endpoint
expiring no later than the visas used; ``htsget`` the object's htsget endpoint; ``file`` the
path on the node's file system, offered only to requests from the residency networks.

An object (file, index or bundle) holding the data of a person who opted out of research use
is refused with 403 to callers otherwise permitted it, and audited as a deny for that object
(gdi_node.db.consent, decision record 0012).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session, sessionmaker

from gdi_node.config.settings import Settings
from gdi_node.config.trust import Disclosure
from gdi_node.db.catalogue import CatalogueRepository
from gdi_node.db.consent import ConsentGate
from gdi_node.drs.entries import EntryLookup
from gdi_node.drs.objects import BUNDLE_SUFFIX, Kind, Resolved, drs_object
from gdi_node.errors import DomainError, InvalidInputError, NotFoundError
from gdi_node.passport.authorizer import Authorizer, RequestFacts
from gdi_node.passport.permits import Permit
from gdi_node.passport.principal import Principal
from gdi_node.service_info import service_info
from gdi_node.storage.names import choose
from gdi_node.storage.signing import HTSGET_PATH, UrlSigner
from gdi_node.storage.verify import size_matches

BASE_PATH = "/ga4gh/drs/v1"
HTTPS_ACCESS_ID = "https"
_DATATYPE = {"BAM": "reads", "CRAM": "reads", "VCF": "variants", "BCF": "variants"}
Visible = Callable[[str], bool]  # dataset id -> may the caller know it exists


class PayloadTooLargeError(DomainError):
    status = 413
    code = "PayloadTooLarge"


@dataclass(frozen=True)
class Issuers:
    """Who may authorise requests (DRS 1.5 ``Authorizations``)."""

    passport: tuple[str, ...]  # visa issuers (a visa's ``iss``)
    bearer: tuple[str, ...]  # passport issuers and brokers whose tokens are accepted


@dataclass
class Unresolved:
    """Bulk ids not resolved, grouped by status (DRS 1.5 ``unresolved_drs_objects``)."""

    by_status: dict[int, list[str]]

    def add(self, status: int, object_id: str) -> None:
        self.by_status.setdefault(status, []).append(object_id)

    def document(self) -> list[dict[str, Any]]:
        return [
            {"error_code": status, "object_ids": ids}
            for status, ids in sorted(self.by_status.items())
        ]


class DrsService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        signer: UrlSigner,
        authorizer: Authorizer,
        *,
        consent: ConsentGate,
        issuers: Issuers,
        started_at: Callable[[], str],
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._signer = signer
        self._authorizer = authorizer
        self._consent = consent
        self._issuers = issuers
        self._started_at = started_at

    @property
    def max_bulk(self) -> int:
        return self._settings.drs.max_bulk_request_length

    # -- service-info (DRS 1.5 §Service Info) ----------------------------------------------

    def service_info(self) -> dict[str, Any]:
        with self._sessions() as session:
            repo = CatalogueRepository(session)
            blobs, size = repo.blob_totals()
            bundles = repo.count_indexes()
        return {
            **service_info(
                self._settings,
                suffix="drs",
                name="DRS",
                artifact="drs",
                version="1.5.0",
                description="DRS 1.5 over the node's genomic files and their indexes",
                started_at=self._started_at(),
            ),
            "maxBulkRequestLength": self.max_bulk,
            "drs": {
                "maxBulkRequestLength": self.max_bulk,
                "objectCount": blobs + bundles,
                "totalObjectSize": size,
            },
        }

    # -- single objects --------------------------------------------------------------------

    def get_object(
        self, object_id: str, principal: Principal, facts: RequestFacts
    ) -> dict[str, Any]:
        with self._sessions() as session:
            resolved = self._resolve_one(
                EntryLookup(session), object_id, self._visible(principal, facts)
            )
            self._permit(resolved, principal, facts)
            return self._document(resolved, self._in_residency(facts))

    def access_url(
        self, object_id: str, access_id: str, principal: Principal, facts: RequestFacts
    ) -> dict[str, Any]:
        with self._sessions() as session:
            lookup = EntryLookup(session, with_aliases=False)
            resolved = self._resolve_one(lookup, object_id, self._visible(principal, facts))
            permit = self._permit(resolved, principal, facts)
            return self._signed_url(resolved, access_id, permit)

    def authorizations(self, object_id: str) -> dict[str, Any]:
        with self._sessions() as session:
            anonymous = self._visible(Principal.anonymous(), None)
            resolved = self._resolve_one(EntryLookup(session), object_id, anonymous)
            return self._authorizations(resolved)

    # -- bulk (DRS 1.5 ``POST /objects``, ``POST /objects/access``, ``OPTIONS /objects``) ----

    def bulk_objects(
        self, ids: Sequence[str], principal: Principal, facts: RequestFacts
    ) -> dict[str, Any]:
        self._check_bulk(len(ids))
        out: list[dict[str, Any]] = []
        with self._sessions() as session:
            visible = self._visible(principal, facts)
            found, unresolved = self._resolve_many(EntryLookup(session), ids, visible)
        permits = self._permits(found, principal, facts)
        in_residency = self._in_residency(facts)
        for object_id, resolved in found:
            permit = permits[resolved.id]
            if isinstance(permit, DomainError):
                unresolved.add(permit.status, object_id)
            else:
                out.append(self._document(resolved, in_residency))
        return _bulk("resolved_drs_object", len(ids), out, unresolved)

    def bulk_access(
        self, wanted: Sequence[tuple[str, Sequence[str]]], principal: Principal, facts: RequestFacts
    ) -> dict[str, Any]:
        """Signed URLs for (object, access id) pairs (DRS 1.5 ``POST /objects/access``), each
        pair resolved on its own: an object asked with a valid and an unknown access id gets
        the valid one's URL and is listed unresolved for the other. ``summary`` counts pairs;
        ``unresolved_drs_objects`` names each object once per error code."""
        self._check_bulk(len(wanted))
        out: list[dict[str, Any]] = []
        with self._sessions() as session:
            ids = [object_id for object_id, _ in wanted]
            lookup = EntryLookup(session, with_aliases=False)
            found, missing = self._resolve_many(lookup, ids, self._visible(principal, facts))
        permits = self._permits(found, principal, facts)
        access_ids = dict(wanted)
        unresolved = Unresolved({})
        failed = 0
        for status, object_ids in missing.by_status.items():
            for object_id in object_ids:
                unresolved.add(status, object_id)
                failed += max(len(access_ids.get(object_id, ())), 1)
        for object_id, resolved in found:
            permit = permits[resolved.id]
            statuses: set[int] = set()
            for access_id in access_ids[object_id]:
                try:
                    if isinstance(permit, DomainError):
                        raise permit
                    signed = self._signed_url(resolved, access_id, permit)
                except DomainError as exc:
                    statuses.add(exc.status)
                    failed += 1
                    continue
                out.append({"drs_object_id": object_id, "drs_access_id": access_id, **signed})
            for status in sorted(statuses):
                unresolved.add(status, object_id)
        requested = sum(max(len(a), 1) for _, a in wanted)
        return {
            "summary": {
                "requested": requested,
                "resolved": requested - failed,
                "unresolved": failed,
            },
            "unresolved_drs_objects": unresolved.document(),
            "resolved_drs_object_access_urls": out,
        }

    def _permits(
        self, found: list[tuple[str, Resolved]], principal: Principal, facts: RequestFacts
    ) -> dict[str, Permit | DomainError]:
        """Per object id, the answer of one decision per dataset of a bulk request, audited
        with all its object ids; the objects withheld by an opt-out get a decision of their
        own (a deny for callers otherwise permitted them)."""
        withheld = self._consent.withheld_among({r.data.id for _, r in found})
        groups: dict[tuple[str, bool], list[str]] = {}
        for _, resolved in found:
            key = (resolved.dataset_id, resolved.data.id in withheld)
            groups.setdefault(key, []).append(resolved.id)
        permits: dict[str, Permit | DomainError] = {}
        for (dataset_id, refused), object_ids in groups.items():
            answer: Permit | DomainError
            try:
                answer = self._authorizer.decide(
                    principal,
                    dataset_id,
                    facts,
                    level=Disclosure.FILE,
                    object_id=",".join(object_ids),
                    withheld=refused,
                )
            except DomainError as exc:
                answer = exc
            permits.update(dict.fromkeys(object_ids, answer))
        return permits

    def bulk_authorizations(self, ids: Sequence[str]) -> dict[str, Any]:
        self._check_bulk(len(ids))
        with self._sessions() as session:
            lookup = EntryLookup(session, with_aliases=False)
            anonymous = self._visible(Principal.anonymous(), None)
            found, unresolved = self._resolve_many(lookup, ids, anonymous)
            out = [
                {**self._authorizations(resolved), "drs_object_id": object_id}
                for object_id, resolved in found
            ]
        return _bulk("resolved_drs_object", len(ids), out, unresolved)

    # -- resolution ------------------------------------------------------------------------

    def _resolve_one(self, lookup: EntryLookup, object_id: str, visible: Visible) -> Resolved:
        answer = self._resolve_each(lookup, [object_id], visible)[0][1]
        if isinstance(answer, DomainError):
            raise answer
        return answer

    def _resolve_many(
        self, lookup: EntryLookup, ids: Sequence[str], visible: Visible
    ) -> tuple[list[tuple[str, Resolved]], Unresolved]:
        found: list[tuple[str, Resolved]] = []
        unresolved = Unresolved({})
        for object_id, answer in self._resolve_each(lookup, ids, visible):
            if isinstance(answer, DomainError):
                unresolved.add(answer.status, object_id)
            else:
                found.append((object_id, answer))
        return found, unresolved

    def _resolve_each(
        self, lookup: EntryLookup, ids: Sequence[str], visible: Visible
    ) -> list[tuple[str, Resolved | DomainError]]:
        """Ids in request order, each a name of the node's one id space, which htsget
        resolves too (gdi_node.storage.names): a file's id or alias, an index id, a bundle id.
        A name naming several objects resolves to none: 409, or 404 for a caller from whom one
        of their datasets is hidden (decision record 0029)."""
        bundle_of = {i: i[: -len(BUNDLE_SUFFIX)] for i in ids if i.endswith(BUNDLE_SUFFIX)}
        named = lookup.named(ids)
        indexes = lookup.by_index_ids(ids)
        owners = [o for targets in named.values() for o in targets]
        entries = lookup.by_ids([*owners, *bundle_of.values()])
        answers: list[tuple[str, Resolved | DomainError]] = []
        for object_id in ids:
            candidates = {
                (Kind.FILE, owner): dataset for owner, dataset in named.get(object_id, {}).items()
            }
            if object_id in indexes:
                index = indexes[object_id]
                candidates[(Kind.INDEX, index.data.id)] = index.dataset_id
            bundled = entries.get(bundle_of.get(object_id, ""))
            if bundled is not None and bundled.index is not None:
                candidates[(Kind.BUNDLE, bundled.data.id)] = bundled.dataset_id
            try:
                kind, owner = choose(object_id, candidates, visible)
                entry = indexes[object_id] if kind is Kind.INDEX else entries[owner]
            except DomainError as exc:
                answers.append((object_id, exc))
                continue
            except KeyError:  # removed between the two reads
                answers.append((object_id, NotFoundError(f"no object {object_id!r}")))
                continue
            answers.append((object_id, Resolved(kind, entry)))
        return answers

    def _visible(self, principal: Principal, facts: RequestFacts | None) -> Visible:
        """Whether the caller may know of a dataset (a 409 for an ambiguous name tells them
        its objects exist)."""
        address = facts.client_address if facts is not None else None
        policy = self._authorizer.policy
        return lambda dataset_id: policy.visible(principal, dataset_id, address)

    def _check_bulk(self, count: int) -> None:
        if count > self.max_bulk:
            raise PayloadTooLargeError(
                f"{count} ids in one request; this server takes at most {self.max_bulk}"
                " (maxBulkRequestLength in service-info)"
            )
        if count == 0:
            raise InvalidInputError("no ids given")

    # -- authorisation and access ----------------------------------------------------------

    def _permit(self, resolved: Resolved, principal: Principal, facts: RequestFacts) -> Permit:
        return self._authorizer.decide(
            principal,
            resolved.dataset_id,
            facts,
            level=Disclosure.FILE,
            object_id=resolved.id,
            withheld=self._consent.withheld(resolved.data.id),
        )

    def _document(self, resolved: Resolved, in_residency: bool) -> dict[str, Any]:
        """The DrsObject for a caller holding a ``file`` permit (every method is allowed)."""
        blob = resolved.blob
        methods: list[dict[str, Any]] = []
        if blob is not None:
            available = size_matches(blob.path, blob.size)
            methods.append({"type": "https", "access_id": HTTPS_ACCESS_ID, "available": available})
            if resolved.kind is Kind.FILE:
                datatype = _DATATYPE[resolved.data.format]
                url = (
                    f"{self._settings.public_url}{HTSGET_PATH}/{datatype}/{quote(blob.id, safe='')}"
                )
                methods.append(
                    {"type": "htsget", "access_url": {"url": url}, "available": available}
                )
            if in_residency:
                url = "file://" + quote(blob.path)
                methods.append({"type": "file", "access_url": {"url": url}, "available": available})
        return drs_object(resolved, self._settings.drs_hostname, methods)

    def _in_residency(self, facts: RequestFacts) -> bool:
        return self._authorizer.policy.in_residency(facts.client_address)

    def _signed_url(self, resolved: Resolved, access_id: str, permit: Permit) -> dict[str, Any]:
        blob = resolved.blob
        if blob is None or access_id != HTTPS_ACCESS_ID:
            raise NotFoundError(f"object {resolved.id!r} has no access method {access_id!r}")
        if not size_matches(blob.path, blob.size):
            raise NotFoundError(
                f"object {resolved.id!r} is not available: its file changed since registration"
            )
        exp = self._signer.now() + self._settings.drs.access_url_ttl_seconds
        if permit.expires_at is not None:
            exp = min(exp, permit.expires_at)
        part = f"b:0-{blob.size}"
        return {"url": self._signer.data_url(self._settings.data_base_url, blob.id, part, exp)}

    def _authorizations(self, resolved: Resolved) -> dict[str, Any]:
        """DRS 1.5 ``Authorizations``: ``None`` when anonymous callers get the bytes."""
        anonymous = self._authorizer.policy.permit(Principal.anonymous(), resolved.dataset_id, None)
        types = ["None"] if anonymous.allows(Disclosure.FILE) else []
        if self._issuers.passport:
            types.append("PassportAuth")
        if self._issuers.bearer:
            types.append("BearerAuth")
        return {
            "drs_object_id": resolved.id,
            "supported_types": types,
            "passport_auth_issuers": list(self._issuers.passport),
            "bearer_auth_issuers": list(self._issuers.bearer),
        }


def _bulk(
    key: str, requested: int, resolved: list[dict[str, Any]], unresolved: Unresolved
) -> dict[str, Any]:
    missing = sum(len(ids) for ids in unresolved.by_status.values())
    return {
        "summary": {"requested": requested, "resolved": requested - missing, "unresolved": missing},
        "unresolved_drs_objects": unresolved.document(),
        key: resolved,
    }
