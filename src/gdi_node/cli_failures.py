"""One-line explanations, for the command line, of failures a person can fix: an unreachable
database, a data directory that cannot be created, a port in use, and a command that opened a
new, empty database because it was not told which node's settings to use. Each line says what
failed, where the setting came from (``--config`` file, ``GDI_NODE_*`` variable or default) and
what to do."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Mapping
from pathlib import Path

from gdi_node.config.settings import Settings

# what creating or writing a folder fails with (not, say, a missing input file elsewhere)
_CANNOT_CREATE = {errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.ENOENT, errno.EROFS}
_CANNOT_CREATE |= {errno.EEXIST, errno.ENOSPC}

_VARIABLES = {
    "data_dir": "GDI_NODE_DATA_DIR",
    "database_url": "GDI_NODE_DATABASE_URL",
    "server.port": "GDI_NODE_SERVER__PORT",
}


def config_file(config: Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The settings file a command reads: ``--config``, else ``$GDI_NODE_CONFIG``."""
    env = os.environ if env is None else env
    if config is not None:
        return config
    named = env.get("GDI_NODE_CONFIG")
    return Path(named) if named else None


def setting_origin(key: str, config: Path | None, env: Mapping[str, str] | None = None) -> str:
    """Where ``key``'s value came from, as a phrase: ``from GDI_NODE_DATA_DIR``, ``in FILE`` or
    ``the default``."""
    env = os.environ if env is None else env
    variable = _VARIABLES.get(key)
    if variable and variable in env:
        return f"from {variable}"
    file = config_file(config, env)
    if file is not None and _file_sets(file, key):
        return f"in {file}"
    if file is None:
        return "the default: no --config given and GDI_NODE_CONFIG is not set"
    return f"the default: {file} does not set it"


def _file_sets(file: Path, key: str) -> bool:
    from gdi_node.config.loading import read_settings_file

    try:
        node: object = read_settings_file(file)
    except ValueError:
        return False
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(an unparsable URL)"


def _under(path: str | os.PathLike[str] | None, folder: Path) -> bool:
    if path is None:
        return False
    try:
        return Path(path).resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def explain(exc: BaseException, settings: Settings, config: Path | None) -> str | None:
    """The one line for ``exc``, or None when it is not one of the failures described here."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if (
        isinstance(exc, OSError)
        and exc.errno in _CANNOT_CREATE
        and (
            _under(exc.filename, settings.data_dir)  # in it, or on the way to it
            or (exc.filename is not None and _under(settings.data_dir, Path(exc.filename)))
        )
    ):
        return (
            f"cannot create or write the data directory {settings.data_dir.resolve()}"
            f" (data_dir, {setting_origin('data_dir', config)}): {exc.strerror or exc};"
            " choose a writable folder with data_dir in the settings file or GDI_NODE_DATA_DIR"
        )
    if isinstance(exc, OperationalError | InterfaceError):
        url = settings.effective_database_url
        cause = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc) else "?"
        if url.startswith("sqlite"):
            return (
                f"cannot open the SQLite database {_shown_url(url)} (data_dir,"
                f" {setting_origin('data_dir', config)}): {cause}; choose a writable data_dir"
            )
        return (
            f"cannot reach the database {_shown_url(url)} (database_url,"
            f" {setting_origin('database_url', config)}): {cause}; start the database server"
            " or correct database_url"
        )
    return None


def port_in_use(host: str, port: int) -> bool:
    """Whether another process already listens on ``host:port`` (checked by binding)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def port_message(host: str, port: int, origin: str) -> str:
    """``origin``: where the port came from (``--port``, or :func:`setting_origin`)."""
    return (
        f"port {port} on {host} is already in use (server.port, {origin}): stop the program"
        " using it (another node or demo?), or choose another port with --port N"
    )


def is_new_database(settings: Settings) -> bool:
    """Whether the database has never been set up (no SQLite file, or no schema yet)."""
    from sqlalchemy.engine import make_url

    url = settings.effective_database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database not in (None, "", ":memory:") and not Path(parsed.database).exists()
    from gdi_node.db.engine import make_engine
    from gdi_node.db.migrate import current_revision

    engine = make_engine(url)
    try:
        return current_revision(engine) is None
    finally:
        engine.dispose()


def new_database_notice(settings: Settings, config: Path | None) -> str:
    key = "database_url" if settings.database_url else "data_dir"
    return (
        f"note: {_shown_url(settings.effective_database_url)} is a new, empty database"
        f" ({key}, {setting_origin(key, config)}): nothing is registered in it."
        " To use a node's database, give its settings: --config FILE or GDI_NODE_CONFIG"
        " (the demo prints its export line)"
    )
