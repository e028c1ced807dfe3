"""The one connexion app every API is served through, and its middleware stack.

Each mount's document is added with strict request validation, its operationIds resolved
through its own table (gdi_node.web.documents). From the outside in, a request meets:

- ``ProxyHeadersMiddleware``: the client address (decision record 0011);
- ``ObservabilityMiddleware``: request id, access line, metrics;
- ``CorsMiddleware``: under the base paths of the mounts that ask for CORS;
- connexion's exception middleware: errors in the envelope of the API addressed
  (gdi_node.web.error_envelopes);
- ``ControlCharacterGuard``, ``BodySizeGuard``, ``TextGuard``: malformed input refused alike
  by every API (gdi_node.web.guards);
- connexion's routing (exact, gdi_node.web.routing), security and request validation;
- the mounts' own layers and ``DirectAnswerMiddleware`` for the mounts answered without the
  WSGI bridge (decision records 0003, 0007);
- connexion's Flask app (a2wsgi) for everything else.

The mounts' background jobs start with the app's lifespan and stop with it, before the runtime
closes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import ExitStack, asynccontextmanager
from typing import Any

import connexion
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import ProblemException
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from starlette.exceptions import HTTPException

from gdi_node.errors import DomainError
from gdi_node.web import routing
from gdi_node.web.cors import CorsMiddleware
from gdi_node.web.direct import DirectAnswerMiddleware
from gdi_node.web.documents import (
    MethodIndex,
    OperationTableResolver,
    check_operation_table,
    openapi_spec,
)
from gdi_node.web.error_envelopes import error_handler
from gdi_node.web.guards import BodySizeGuard, ControlCharacterGuard, TextGuard
from gdi_node.web.mounts import ApiMount
from gdi_node.web.observability import ObservabilityMiddleware
from gdi_node.web.parameters import KeptValidatorParameterValidator, RedactedJSONBodyValidator
from gdi_node.web.proxies import ProxyHeadersMiddleware, TrustedProxies
from gdi_node.web.runtime import NodeRuntime

RUNTIME_KEY = "GDI_NODE_RUNTIME"  # the runtime, in the Flask app's config (tests flush the audit)


def build_app(
    name: str, runtime: NodeRuntime, mounts: Sequence[ApiMount], *, validate_responses: bool
) -> connexion.FlaskApp:
    """One connexion FlaskApp called ``name`` (Flask's import name, and its logger's) serving
    ``mounts``; its lifespan closes ``runtime`` at the end."""
    jobs = [job for mount in mounts for job in mount.background]

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        with ExitStack() as stop:
            stop.callback(runtime.close)
            for job in jobs:
                job.start()
                stop.callback(job.stop)
            yield

    # Compact JSON (connexion's Flask default indents): a 1,000-object DRS bulk answer is
    # serialised in a quarter of the time and 30 % fewer bytes.
    compact = Jsonifier(json, separators=(",", ":"))
    app = connexion.FlaskApp(name, lifespan=lifespan, jsonifier=compact)
    routing.route_exactly(app.app)  # before any route is added: rules read it when added
    # OPTIONS is an operation of its own in DRS (Authorizations); Flask's automatic answer on
    # every route would shadow it. CORS preflights are answered by CorsMiddleware.
    app.app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    for mount in mounts:
        check_operation_table(mount)
        app.add_api(
            openapi_spec(mount.document),
            base_path=mount.base_path,
            name=mount.name,
            resolver=OperationTableResolver(mount.name, dict(mount.operations)),
            strict_validation=True,
            validate_responses=validate_responses,
            validator_map={
                "parameter": KeptValidatorParameterValidator,
                "body": MediaTypeDict({"*/*json": RedactedJSONBodyValidator}),
            },
        )
    _add_shared_middleware(app, runtime, mounts)
    for mount in mounts:
        for layer in mount.layers:
            app.add_middleware(
                layer.middleware, position=MiddlewarePosition.BEFORE_CONTEXT, **layer.options
            )
        if mount.direct:
            app.add_middleware(
                DirectAnswerMiddleware,
                position=MiddlewarePosition.BEFORE_CONTEXT,
                base_path=mount.base_path,
                operations=mount.operations,
            )
    handler = error_handler(mounts, MethodIndex(mounts))
    for exc_type in (DomainError, ProblemException, HTTPException, Exception):
        app.add_error_handler(exc_type, handler)
    routing.use_exact_routing(app.middleware)  # after add_middleware, which finds its class
    app.app.config[RUNTIME_KEY] = runtime
    return app


def _add_shared_middleware(
    app: connexion.FlaskApp, runtime: NodeRuntime, mounts: Sequence[ApiMount]
) -> None:
    settings = runtime.settings
    app.add_middleware(ControlCharacterGuard, position=MiddlewarePosition.BEFORE_ROUTING)
    app.add_middleware(
        BodySizeGuard,
        position=MiddlewarePosition.BEFORE_ROUTING,
        max_bytes=settings.trust.limits.max_body_bytes,
    )
    app.add_middleware(TextGuard, position=MiddlewarePosition.BEFORE_ROUTING)
    app.add_middleware(  # first: every layer below sees the client it names
        ProxyHeadersMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        proxies=TrustedProxies(settings.server.proxy_networks()),
    )
    app.add_middleware(
        ObservabilityMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        metrics=runtime.metrics,
    )
    app.add_middleware(
        CorsMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        prefixes=tuple(mount.base_path for mount in mounts if mount.cors),
        max_age=settings.htsget.cors_max_age_seconds,
    )
