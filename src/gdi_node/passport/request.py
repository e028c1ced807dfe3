"""Read credentials and request facts from the current Flask request, for every API."""

from __future__ import annotations

import flask

from gdi_node.observability import request_id_var
from gdi_node.passport.authorizer import Credentials, RequestFacts, credentials_from


def request_facts(operation: str) -> RequestFacts:
    return RequestFacts(
        operation=operation,
        client_address=flask.request.remote_addr,
        request_id=request_id_var.get(),
    )


def request_credentials(body: object | None = None) -> Credentials:
    return credentials_from(flask.request.headers.get("Authorization"), body)
