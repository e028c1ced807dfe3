"""HTTP handlers of ``openapi/htsget.yaml``: parameters in, spec dicts (or a byte stream) out;
:func:`mount` builds the ticket and data services from the app's runtime, with the data
endpoint's faster paths: the streaming middleware and the zero-copy data listener; on a hub,
tickets for members' objects are the members' (gdi_node.htsget.member_tickets)."""

from __future__ import annotations

from typing import Any

import flask

from gdi_node.config.federation import FederatedApi
from gdi_node.db.engine import make_session_factory
from gdi_node.errors import htsget_envelope
from gdi_node.federation.fanout import Forwarding
from gdi_node.htsget.data import AUDIT_OPERATION, DataService
from gdi_node.htsget.listener import DataListener
from gdi_node.htsget.member_tickets import MemberTickets
from gdi_node.htsget.planner import IndexCache
from gdi_node.htsget.requests import Datatype, from_body, from_query
from gdi_node.htsget.service import BASE_PATH, HtsgetService, ObjectLookup
from gdi_node.htsget.streaming import DataStreamingMiddleware
from gdi_node.passport.authorizer import Authorizer
from gdi_node.service_info import ServiceEntry, ServiceType
from gdi_node.web.mounts import ApiMount, Background, Handler, Layer
from gdi_node.web.request import incoming, passed_on, request_credentials, request_facts
from gdi_node.web.runtime import NodeRuntime


def operations(
    service: HtsgetService,
    data: DataService,
    authorizer: Authorizer,
    members: MemberTickets | None = None,
) -> dict[str, Handler]:
    """The operationId -> handler table of the htsget API; on a hub, ``members`` answers for
    the members' objects (``<prefix>:<id>``, gdi_node.htsget.member_tickets)."""

    def forwarded(operation: str, body: Any = None) -> Forwarding:
        """The request as the member gets it; the audit names who asks (the member decides)."""
        principal = authorizer.principal_for_record(lambda: request_credentials(body))
        params = tuple(incoming().args.items()) if body is None else ()
        return Forwarding(passed_on(), principal, request_facts(operation), body, params)

    def search(datatype: Datatype, operation: str, object_id: str, params: dict[str, Any]) -> Any:
        if members is not None and members.owner(object_id) is not None:
            return members.ticket(datatype, object_id, forwarded(operation))
        request = from_query(datatype, params)
        facts = request_facts(operation)
        principal = authorizer.principal(request_credentials(), facts)
        return service.ticket(object_id, request, principal, facts)

    def post(datatype: Datatype, operation: str, object_id: str, body: Any) -> Any:
        if members is not None and members.owner(object_id) is not None:
            return members.ticket(datatype, object_id, forwarded(operation, body or {}))
        request = from_body(datatype, body)
        facts = request_facts(operation)
        principal = authorizer.principal(request_credentials(body), facts)
        return service.ticket(object_id, request, principal, facts)

    def search_reads(id: str, **params: Any) -> Any:
        return search("reads", "htsget.searchReads", id, params)

    def search_variants(id: str, **params: Any) -> Any:
        return search("variants", "htsget.searchVariants", id, params)

    def post_reads(id: str, body: Any = None) -> Any:
        return post("reads", "htsget.postReads", id, body)

    def post_variants(id: str, body: Any = None) -> Any:
        return post("variants", "htsget.postVariants", id, body)

    def get_data(id: str, part: str, exp: int, sig: str) -> flask.Response:
        answer = data.response(
            id,
            part,
            exp,
            sig,
            flask.request.headers.get("Range"),
            facts=request_facts(AUDIT_OPERATION),
        )
        return flask.Response(
            answer.chunks(data.chunk_bytes),
            status=answer.status,
            headers=answer.headers,
            mimetype=answer.media_type,
            direct_passthrough=True,
        )

    return {
        "readsServiceInfo": lambda: service.service_info("reads"),
        "variantsServiceInfo": lambda: service.service_info("variants"),
        "searchReads": search_reads,
        "searchVariants": search_variants,
        "postReads": post_reads,
        "postVariants": post_variants,
        "getData": get_data,
    }


def services(runtime: NodeRuntime) -> tuple[HtsgetService, DataService]:
    """The ticket service and the data endpoint's service of one app, on one object lookup."""
    objects = ObjectLookup(make_session_factory(runtime.engine))
    authorizer = runtime.authorization.authorizer
    tickets = HtsgetService(
        runtime.settings,
        objects=objects,
        indexes=IndexCache(),
        signer=runtime.signer,
        authorizer=authorizer,
        consent=runtime.consent,
        started_at=runtime.started_at.isoformat,
    )
    data = DataService(
        runtime.settings, objects, runtime.signer, consent=runtime.consent, authorizer=authorizer
    )
    return tickets, data


def mount(runtime: NodeRuntime) -> ApiMount:
    """The htsget API of one app. The data endpoint is answered on the event loop unless
    ``htsget.data_in_event_loop`` is off (decision record 0003), and also on its own port when
    ``htsget.data_listener`` is set (decision record 0004)."""
    config = runtime.settings.htsget
    tickets, data = services(runtime)
    federation = runtime.federation
    members = None
    if federation is not None and any(FederatedApi.HTSGET in m.apis for m in federation.members):
        members = MemberTickets(federation, runtime.authorization.authorizer)
    layers = (Layer(DataStreamingMiddleware, {"data": data}),) if config.data_in_event_loop else ()
    background: tuple[Background, ...] = ()
    if config.data_listener is not None:
        listener = DataListener(
            data,
            config.data_listener,
            cors_max_age=config.cors_max_age_seconds,
            metrics=runtime.metrics,
            grace_seconds=runtime.settings.server.graceful_timeout,
        )
        background = (listener,)
    return ApiMount(
        name="htsget",
        document="htsget.yaml",
        base_path=BASE_PATH,
        operations=operations(tickets, data, runtime.authorization.authorizer, members),
        envelope=htsget_envelope,
        cors=True,
        layers=layers,
        background=background,
        service=ServiceEntry(
            type=ServiceType("htsget", "1.3.0"),
            name="gdi-node htsget",
            description="htsget 1.3 reads (BAM, CRAM) and variants (VCF, BCF)",
        ),
    )
