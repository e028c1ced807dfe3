"""The application factory: ``create_app(settings)`` returns the node's connexion 3 app.

This is the composition root: :data:`APIS` lists the node's GA4GH APIs, each by the ``mount``
function of its ``api`` module, which builds that API's services from the shared runtime
(gdi_node.web.runtime) and says how to serve it (gdi_node.web.mounts). Adding an API is one line
in :data:`APIS`. The node API (service-info, the Service Registry of those APIs, health,
metrics) is mounted after them, at the root. The runtime (database engine, authorization stack,
metrics) is created per app here, never at import; the HTTP plumbing every API is served
through is gdi_node.web.stack.
"""

from __future__ import annotations

import os

import connexion

from gdi_node.beacon import api as beacon_api
from gdi_node.browser import api as browser_api
from gdi_node.catalogue import api as catalogue_api
from gdi_node.config.settings import Settings
from gdi_node.drs import api as drs_api
from gdi_node.htsget import api as htsget_api
from gdi_node.node import api as node_api
from gdi_node.web.mounts import ApiMount, Mount
from gdi_node.web.runtime import NodeRuntime
from gdi_node.web.stack import build_app

APIS: tuple[Mount, ...] = (
    beacon_api.mount,
    drs_api.mount,
    htsget_api.mount,
    catalogue_api.mount,
    browser_api.mount,
)


def build_mounts(runtime: NodeRuntime) -> list[ApiMount]:
    """Every API's mount, then the node API's (base path ``""``), which lists them."""
    apis = [mount(runtime) for mount in APIS]
    return [*apis, node_api.mount(runtime, apis)]


def create_app(settings: Settings, *, validate_responses: bool = False) -> connexion.FlaskApp:
    """Build the node: one connexion FlaskApp serving every API in :data:`APIS`."""
    # htslib fetches CRAM references it cannot find from EBI by MD5: never from this node (no
    # network needed, nothing about the data leaves). Operators may point REF_PATH elsewhere.
    os.environ.setdefault("REF_PATH", str(settings.data_dir / "ref-cache" / "%2s" / "%2s" / "%s"))
    runtime = NodeRuntime.create(settings)
    try:
        return build_app(
            __name__, runtime, build_mounts(runtime), validate_responses=validate_responses
        )
    except Exception:
        runtime.close()
        raise
