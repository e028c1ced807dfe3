"""What an API hands the app to be served: an :class:`ApiMount`, made by its ``mount(runtime)``.

Each API package builds its services from the shared :class:`~gdi_node.web.runtime.NodeRuntime`
in one ``mount`` function of its ``api`` module, and says there everything the app needs to
serve it: the OpenAPI document, the base path, the operationId -> handler table, the error
envelope, whether browsers on other origins may call it (CORS), whether its answers skip the WSGI
bridge, its own ASGI layers, the background jobs that live as long as the app, and its entry in
the node's Service Registry. The app (``gdi_node.app``) lists the mounts in one place, so adding
an API is one line there (Flask's ``init_app`` idea).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gdi_node.errors import Envelope
from gdi_node.service_info import ServiceEntry
from gdi_node.web.runtime import NodeRuntime

Handler = Callable[..., Any]


class Background(Protocol):
    """A job started with the app and stopped with it (htsget's zero-copy data listener)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Layer:
    """An ASGI middleware of one API, built as ``middleware(app, **options)`` and placed after
    connexion has routed, authenticated and validated the request (``BEFORE_CONTEXT``)."""

    middleware: type[Any]
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiMount:
    """One mounted API: its document, where it lives, who answers, how errors look."""

    name: str
    document: str
    base_path: str
    operations: Mapping[str, Handler]
    envelope: Envelope
    cors: bool = False  # gdi_node.web.cors answers preflights and labels responses under base_path
    direct: bool = False  # answered from the ASGI stack (gdi_node.web.direct, decision record 0007)
    layers: tuple[Layer, ...] = ()
    background: tuple[Background, ...] = ()
    service: ServiceEntry | None = None  # its entry in the node's Service Registry


Mount = Callable[[NodeRuntime], ApiMount]
