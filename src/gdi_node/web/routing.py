"""Routing without guessed redirects: a path is routed as sent, or it is a 404.

starlette's router answers a path it cannot route with a redirect to the same path with the
trailing slash added or removed, and Werkzeug's with a redirect to the path with repeated slashes
merged. For the node's ids neither is the same resource: ``/objects/a%2F`` (the object ``a/``)
would be sent to the object ``a``, ``/objects/%2Fa`` to ``a`` as well, and connexion turns
Werkzeug's redirect into a 308 without a ``Location``. Here both routers only route; the one
redirect left is Werkzeug's canonical trailing slash of a route declared with one (the Beacon
root, ``/ga4gh/beacon/v2`` to ``/ga4gh/beacon/v2/``), answered with its ``Location``
(RFC 9110 §15.4.9).
"""

from __future__ import annotations

from typing import Any, NoReturn

import flask
import starlette.exceptions
import starlette.routing
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.routing import RoutingMiddleware
from werkzeug.routing import RequestRedirect


class ExactRoutingMiddleware(RoutingMiddleware):  # type: ignore[misc]
    """connexion's routing middleware with starlette's slash redirects turned off."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.router.redirect_slashes = False

    def add_api(self, *args: Any, **kwargs: Any) -> None:
        super().add_api(*args, **kwargs)
        for route in self.router.routes:
            if isinstance(route, starlette.routing.Mount) and isinstance(
                route.app, starlette.routing.Router
            ):
                route.app.redirect_slashes = False


def use_exact_routing(middleware: ConnexionMiddleware) -> None:
    """Swap connexion's routing middleware for :class:`ExactRoutingMiddleware` in a stack not
    built yet (``add_middleware`` positions are found by the original class, so call this after
    the last of them)."""
    stack = middleware.middlewares
    stack[stack.index(RoutingMiddleware)] = ExactRoutingMiddleware


def route_exactly(flask_app: flask.Flask) -> None:
    """No merged slashes in Flask's routing; its remaining redirects keep their Location."""
    flask_app.url_map.merge_slashes = False

    def redirect(exc: RequestRedirect) -> NoReturn:
        raise starlette.exceptions.HTTPException(
            exc.code,
            detail=f"this resource is at {exc.new_url}",
            headers={"Location": exc.new_url},
        )

    flask_app.register_error_handler(RequestRedirect, redirect)
