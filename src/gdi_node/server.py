"""Run the node under uvicorn, the production ASGI server, with one or more workers.

Workers are separate processes; each builds its own app through :func:`app_from_environment`
from the same configuration file and ``GDI_NODE_*`` variables, so settings and database engines
are created per process at start-up, never at import.
"""

from __future__ import annotations

import faulthandler
import gc
import logging
import os
import signal
from pathlib import Path

import uvicorn

from gdi_node.bootstrap import prepare_database
from gdi_node.config.loading import load_settings
from gdi_node.config.settings import Settings
from gdi_node.web.observability import configure_logging

log = logging.getLogger(__name__)


def app_from_environment() -> object:
    """uvicorn factory: settings from ``$GDI_NODE_CONFIG`` and ``GDI_NODE_*``, then the app."""
    from gdi_node.app import create_app

    settings = load_settings()
    configure_logging(settings.logging.level, settings.logging.format)
    # a native crash (htslib, SQLite, a C extension) kills the worker without a Python
    # traceback; this prints every thread's Python stack to stderr first, for the log
    faulthandler.enable()
    app = create_app(settings)
    # Everything built so far (specs, validators, engines) lives as long as the worker: move it
    # out of the collector's reach so a full collection scans only request garbage. Without
    # this, a bulk DRS answer paid ~80 ms full collections over ~150,000 start-up objects.
    gc.freeze()
    return app


def run_server(settings: Settings, config_file: Path | None, *, migrate: bool = True) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests get ``graceful_timeout`` seconds."""
    configure_logging(settings.logging.level, settings.logging.format)
    # here, not in a worker, so that a data_dir that cannot be created is one line on the
    # command line (gdi_node.cli_failures), not a traceback in a worker's log
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate:
        revision = prepare_database(settings)
        log.info("database ready at revision %s", revision)
    if config_file is not None:
        os.environ["GDI_NODE_CONFIG"] = str(config_file.resolve())
    server = settings.server
    log.info(
        "serving on http://%s:%d with %d worker(s); public URL %s",
        server.host,
        server.port,
        server.workers,
        settings.public_url,
    )
    stop_signals: list[int] = []

    def remember(signum: int, _frame: object) -> None:
        # uvicorn shuts down gracefully, then re-raises the signal it caught; ending up here
        # instead of in the default handler lets a requested stop exit with status 0.
        stop_signals.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, remember)
    uvicorn.run(
        "gdi_node.server:app_from_environment",
        factory=True,
        host=server.host,
        port=server.port,
        workers=server.workers,
        timeout_graceful_shutdown=int(server.graceful_timeout),
        log_config=None,
        access_log=False,
        # the app reads X-Forwarded-* itself, from server.trusted_proxies only (0011);
        # uvicorn's handling would trust loopback by default
        proxy_headers=False,
        server_header=False,
    )
    if stop_signals:
        log.info("stopped by %s", signal.Signals(stop_signals[0]).name)
