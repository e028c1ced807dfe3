"""Read credentials and request facts from the request being answered, for every API.

Most operations are answered by connexion's Flask app, and the request is Flask's. Operations
answered straight from the ASGI stack (gdi_node.web.direct, decision record 0007) set the request
read from the ASGI scope for the thread that answers them.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import parse_qsl

import flask
from starlette.types import Scope

from gdi_node.federation.fanout import PassedOn
from gdi_node.passport.authorizer import Credentials, RequestFacts, credentials_from
from gdi_node.web.observability import request_id_var


@dataclass(frozen=True)
class Incoming:
    """What the handlers read of a request."""

    method: str
    args: dict[str, str]  # each query parameter's first value, as sent
    authorization: str | None
    client_address: str | None

    @classmethod
    def from_scope(cls, scope: Scope) -> Incoming:
        args: dict[str, str] = {}
        query = scope.get("query_string", b"").decode("latin-1")
        for key, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
            args.setdefault(key, value)
        authorization = next(
            (v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"),
            None,
        )
        client = scope.get("client")
        return cls(scope["method"], args, authorization, client[0] if client else None)


answering: ContextVar[Incoming | None] = ContextVar("gdi_node_incoming", default=None)


def incoming() -> Incoming:
    """The request being answered: the direct path's, or else Flask's."""
    direct = answering.get()
    if direct is not None:
        return direct
    request = flask.request
    return Incoming(
        request.method,
        request.args.to_dict(flat=True),
        request.headers.get("Authorization"),
        request.remote_addr,
    )


def request_header(name: str) -> str | None:
    """A header of the request answered through connexion's Flask app (not the direct path)."""
    value: str | None = flask.request.headers.get(name)
    return value


def request_facts(operation: str) -> RequestFacts:
    return RequestFacts(
        operation=operation,
        client_address=incoming().client_address,
        request_id=request_id_var.get(),
    )


def passed_on() -> PassedOn:
    """What a hub passes on to its members of the request being answered (gdi_node.federation)."""
    request = incoming()
    return PassedOn(request.authorization, request_id_var.get(), request.client_address)


def request_credentials(body: object | None = None) -> Credentials:
    return credentials_from(incoming().authorization, body)
