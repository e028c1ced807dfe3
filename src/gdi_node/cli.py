"""The ``gdi-node`` command line: serve, demo, configuration, database and ingest commands."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from gdi_node import __version__, cli_beacon, cli_export
from gdi_node.config.loading import load_settings
from gdi_node.config.settings import Settings, SettingsError
from gdi_node.errors import DomainError

# connexion 3.3 imports starlette's test client, which warns on import; a person running the
# node is not the one to act on it (the tests' filter in pyproject.toml says the same)
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

CONFIG_HELP = "YAML settings file (default: $GDI_NODE_CONFIG; GDI_NODE_* variables override it)."


class _Failure(click.ClickException):
    """An error shown as one clear line, exit status 1 (2 is click's usage errors)."""

    exit_code = 1


def _load(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except SettingsError as exc:
        raise _Failure(str(exc)) from None


@contextmanager
def _domain_errors() -> Iterator[None]:
    try:
        yield
    except DomainError as exc:
        raise _Failure(exc.message) from None


def _load_noting_new(config: Path | None) -> Settings:
    """Settings for a command that reads the node's data: when the database it opens is new,
    says so on stderr once the command has set it up, so an empty answer is not taken for the
    node's."""
    from gdi_node.cli_failures import is_new_database, new_database_notice

    settings = _load(config)
    if is_new_database(settings):

        def note() -> None:
            if not is_new_database(settings):  # set up now: the command did not fail first
                click.echo(new_database_notice(settings, config), err=True)

        click.get_current_context().call_on_close(note)
    return settings


class _Cli(click.Group):
    """The command group: a failure a person can fix (database unreachable, data directory
    not writable) ends in one line (gdi_node.cli_failures), never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            from gdi_node.cli_failures import explain

            config = ctx.obj if isinstance(ctx.obj, Path) else None
            try:
                settings = load_settings(config)
            except SettingsError:
                raise exc from None
            message = explain(exc, settings, config)
            if message is None:
                raise
            raise _Failure(message) from None


def _set_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.obj = value
        ctx.find_root().obj = value


def _accept_config_everywhere(group: click.Group) -> None:
    """``--config`` after the subcommand too (``gdi-node objects --config FILE``)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _accept_config_everywhere(command)
        elif not any("--config" in p.opts for p in command.params):
            command.params.append(
                click.Option(
                    ["--config", "-c"],
                    type=click.Path(path_type=Path),
                    expose_value=False,
                    is_eager=True,
                    callback=_set_config,
                    help=CONFIG_HELP,
                )
            )


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gdi-node")
@click.option("--config", "-c", type=click.Path(path_type=Path), help=CONFIG_HELP)
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """gdi-node: a GA4GH node (Beacon v2, htsget, DRS, Passports) for a national genome database."""
    ctx.obj = config


@main.command()
@click.option("--host", help="Interface to listen on (default: server.host).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: server.port).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the database first.")
@click.pass_obj
def serve(
    config: Path | None, host: str | None, port: int | None, workers: int | None, no_migrate: bool
) -> None:
    """Run the node under uvicorn (graceful shutdown on SIGTERM/SIGINT, JSON logs)."""
    from gdi_node.cli_failures import port_in_use, port_message, setting_origin
    from gdi_node.server import run_server

    settings = _load(config)
    server = settings.server.model_copy(
        update={k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v}
    )
    if port_in_use(server.host, server.port):
        origin = "--port" if port else setting_origin("server.port", config)
        raise _Failure(port_message(server.host, server.port, origin))
    with _domain_errors():
        run_server(settings.model_copy(update={"server": server}), config, migrate=not no_migrate)


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("gdi-node-demo"),
    show_default=True,
    help="Where the demo keeps its files, database and demo.json.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--no-serve", is_flag=True, help="Prepare data and demo.json, then exit.")
@click.option(
    "--federation",
    is_flag=True,
    help="A hub on --port and two member nodes on the next ports (docs/federation.md).",
)
def demo(data_dir: Path, host: str, port: int, no_serve: bool, federation: bool) -> None:
    """Generate synthetic data, register it and run the node on embedded SQLite."""
    from gdi_node.cli_failures import port_in_use, port_message
    from gdi_node.demo.runner import prepare_demo, print_demo
    from gdi_node.server import run_server

    ports = (port, port + 1, port + 2) if federation else (port,)
    for needed in ports if not no_serve else ():
        if port_in_use(host, needed):
            source = click.get_current_context().get_parameter_source("port")
            given = source is not click.core.ParameterSource.DEFAULT
            raise _Failure(port_message(host, needed, "--port" if given else "the default"))
    if federation:
        _federation_demo(data_dir, host, port, serve=not no_serve)
        return
    with _demo_folder(data_dir):
        prepared = prepare_demo(data_dir, host, port)
    print_demo(prepared, serving=not no_serve)
    if not no_serve:
        run_server(prepared.settings, prepared.config_file, migrate=False)


@contextmanager
def _demo_folder(data_dir: Path) -> Iterator[None]:
    """Preparing a demo in ``data_dir``: a folder that cannot be written is one line."""
    try:
        with _domain_errors():
            yield
    except OSError as exc:
        raise _Failure(
            f"cannot write the demo's folder {data_dir.absolute()} (--data-dir):"
            f" {exc.strerror or exc}; choose a writable folder with --data-dir DIR"
        ) from None


def _federation_demo(data_dir: Path, host: str, port: int, *, serve: bool) -> None:
    from gdi_node.demo.federation_demo import members_serving, prepare_federation, print_federation
    from gdi_node.server import run_server

    with _demo_folder(data_dir):
        prepared = prepare_federation(data_dir, host, port)
    print_federation(prepared, serving=serve)
    if serve:
        with _domain_errors(), members_serving(prepared):
            run_server(prepared.hub, prepared.config_file)


@main.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@click.argument("file", type=click.Path(path_type=Path))
def config_check(file: Path) -> None:
    """Validate FILE (plus GDI_NODE_* variables) without starting the node."""
    settings = _load(file)
    click.echo(f"{file}: valid")
    click.echo(f"  database: {settings.effective_database_url}")
    click.echo(f"  datasets: {', '.join(d.id for d in settings.datasets) or '(none)'}")


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(config: Path | None) -> None:
    """Apply all migrations and synchronise the declared datasets."""
    from gdi_node.bootstrap import prepare_database

    settings = _load(config)
    revision = prepare_database(settings)
    click.echo(f"database at revision {revision}: {settings.effective_database_url}")


@main.group()
def ingest() -> None:
    """Register data in the node."""


def _progress_bar(label: str, total: int) -> Any:
    return _ProgressBar(label, total)


class _ProgressBar:
    """click progress bar on stderr, usable as the ingestor's progress context manager."""

    def __init__(self, label: str, total: int) -> None:
        self._bar = click.progressbar(
            length=max(total, 1), label=f"hashing {label}", file=sys.stderr, show_pos=False
        )

    def __enter__(self) -> Callable[[int], None]:
        self._bar.__enter__()
        return self._bar.update

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)


@ingest.command("files")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dataset", "dataset_id", required=True, help="Dataset the files belong to.")
@click.option("--update", is_flag=True, help="Record new content of files that changed.")
@click.option(
    "--alias",
    "aliases",
    multiple=True,
    help="Another name the file resolves by (DRS and htsget), e.g. an accession; one file only.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document for scripts.")
@click.pass_obj
def ingest_files(
    config: Path | None,
    paths: tuple[Path, ...],
    dataset_id: str,
    update: bool,
    aliases: tuple[str, ...],
    as_json: bool,
) -> None:
    """Register BAM/CRAM/VCF/BCF files in place (no copy) in a dataset, with their indexes."""
    from gdi_node.bootstrap import open_ingestor

    settings = _load(config)
    with _domain_errors(), open_ingestor(settings, _progress_bar) as ingestor:
        results = ingestor.ingest(list(paths), dataset_id, update=update, aliases=aliases)
    if as_json:
        click.echo(json.dumps({"objects": [asdict(r) for r in results]}, indent=2))
        return
    for r in results:
        click.echo(f"{r.status:<10} {r.object_id}  {r.format:<4} {r.path}")
        click.echo(f"           {r.drs_uri}")
        if r.shared_aliases:
            click.echo(
                f"           also naming other objects (409 where ambiguous):"
                f" {', '.join(r.shared_aliases)}"
            )


@main.command("objects")
@click.option("--dataset", "dataset_id", help="Only this dataset.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_objects(config: Path | None, dataset_id: str | None, as_json: bool) -> None:
    """List the catalogue's objects with their aliases (names DRS and htsget resolve too)."""
    from gdi_node.bootstrap import catalogue_listing

    rows = catalogue_listing(_load_noting_new(config), dataset_id)
    if as_json:
        click.echo(json.dumps({"objects": rows}, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']}  {row['dataset_id']:<16} {row['format']:<4} {row['path']}")
        click.echo(f"{'':38}aliases: {', '.join(row['aliases'])}")


@main.group()
def passport() -> None:
    """The node's local passport issuer (demo and test setups)."""


@passport.command("issue")
@click.option("--sub", required=True, help="Subject the passport is for.")
@click.option("--dataset", "datasets", multiple=True, help="Grant this dataset (repeatable).")
@click.option("--registered", is_flag=True, help="Add Registered Access visas.")
@click.option("--ttl", default="1h", show_default=True, help="Lifetime, e.g. 15m, 1h, 7d.")
@click.option(
    "--condition",
    "conditions",
    multiple=True,
    help="Condition clause on the grants, e.g. 'type=AffiliationAndRole,value=const:x@y.org'.",
)
@click.option(
    "--affiliation", "affiliations", multiple=True, help="Add an AffiliationAndRole visa."
)
@click.pass_obj
def passport_issue(
    config: Path | None,
    sub: str,
    datasets: tuple[str, ...],
    registered: bool,
    ttl: str,
    conditions: tuple[str, ...],
    affiliations: tuple[str, ...],
) -> None:
    """Mint a signed passport with the matching visas and print it."""
    from gdi_node.passport.local_issuer import LocalIssuer, parse_condition, parse_duration

    settings = _load(config)
    with _domain_errors():
        token = LocalIssuer.for_settings(settings).passport(
            settings,
            sub,
            datasets,
            registered=registered,
            ttl=parse_duration(ttl),
            conditions=[parse_condition(c) for c in conditions],
            affiliations=affiliations,
        )
    if not settings.trust.local_issuer:
        click.echo("note: trust.local_issuer is off, so this node will not accept it", err=True)
    click.echo(token)


@main.group()
def audit() -> None:
    """The hash-chained audit trail of authorization decisions."""


@audit.command("verify")
@click.pass_obj
def audit_verify(config: Path | None) -> None:
    """Check that no audit row was edited, deleted or reordered."""
    from gdi_node.bootstrap import migrated_sessions
    from gdi_node.passport.audit_chain import verify_chain

    with migrated_sessions(_load_noting_new(config)) as sessions:
        report = verify_chain(sessions)
    if not report.ok:
        raise _Failure(
            f"audit trail BROKEN at row {report.first_bad_id}: {report.problem}"
            f" ({report.rows} rows checked)"
        )
    click.echo(f"audit trail intact: {report.rows} rows")


@audit.command("export")
@click.option("--since", type=click.DateTime(), help="Only decisions at or after this time (UTC).")
@click.pass_obj
def audit_export(config: Path | None, since: Any) -> None:
    """Write decisions as JSON lines to standard output."""
    from datetime import UTC

    from gdi_node.bootstrap import migrated_sessions
    from gdi_node.passport.audit_chain import export_jsonl

    with migrated_sessions(_load_noting_new(config)) as sessions:
        count = export_jsonl(sessions, sys.stdout, since.replace(tzinfo=UTC) if since else None)
    click.echo(f"{count} decisions exported", err=True)


@main.command("verify")
@click.option("--dataset", "dataset_id", help="Only this dataset.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document for scripts.")
@click.pass_obj
def verify(config: Path | None, dataset_id: str | None, as_json: bool) -> None:
    """Re-hash catalogue files; report missing, resized or corrupted ones (exit 1 if any)."""
    from gdi_node.bootstrap import migrated_sessions
    from gdi_node.storage.verify import verify_files

    with migrated_sessions(_load_noting_new(config)) as sessions, _domain_errors():
        checks = list(verify_files(sessions, dataset_id))
    bad = [c for c in checks if c.verdict != "ok"]
    if as_json:
        click.echo(json.dumps({"files": [asdict(c) for c in checks], "problems": len(bad)}))
    else:
        for check in checks:
            detail = f"  ({check.detail})" if check.detail else ""
            click.echo(f"{check.verdict:<12} {check.object_id}  {check.path}{detail}")
        click.echo(f"{len(checks)} files checked, {len(bad)} with problems")
    if bad:
        sys.exit(1)


@main.group()
def drs() -> None:
    """DRS client commands."""


@drs.command("resolve")
@click.argument("uri")
@click.option(
    "--download", "-d", "target", type=click.Path(path_type=Path), help="Save the bytes here."
)
@click.option("--token", envvar="GDI_NODE_DRS_TOKEN", help="Bearer token (passport or broker).")
@click.option(
    "--passport-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with a passport JWT, sent in POST bodies.",
)
@click.option(
    "--prefix",
    "prefixes",
    multiple=True,
    help="Pin a compact-identifier prefix: PREFIX=URL_PATTERN with {$id} (no registry call).",
)
@click.option("--registry", default=None, help="identifiers.org registry API base URL.")
@click.option(
    "--scheme",
    type=click.Choice(["https", "http"]),
    default="https",
    show_default=True,
    help="Scheme for hostname-based URIs (http only for labs and loopback).",
)
@click.pass_obj
def drs_resolve(
    config: Path | None,
    uri: str,
    target: Path | None,
    token: str | None,
    passport_file: Path | None,
    prefixes: tuple[str, ...],
    registry: str | None,
    scheme: str,
) -> None:
    """Resolve a drs:// URI (hostname-based or compact) and optionally download it verified.

    With a node's settings (--config or $GDI_NODE_CONFIG), URIs naming that node's host go to
    its public URL, http and port included (the demo's); with a hub's, compact identifiers with
    a member's prefix (drs://north:ID) resolve through the hub."""
    import os

    import httpx

    from gdi_node.drs.client import IDENTIFIERS_ORG, DrsClient, DrsUri
    from gdi_node.federation.member_hosts import member_hosts

    pinned = {}
    for item in prefixes:
        prefix, sep, pattern = item.partition("=")
        if not sep or "{$id}" not in pattern:
            raise _Failure(f"--prefix {item!r}: expected PREFIX=URL_PATTERN containing {{$id}}")
        pinned[prefix] = pattern
    passports = [passport_file.read_text(encoding="utf-8").strip()] if passport_file else None
    nodes = {}
    through_hub: dict[str, str] = {}
    if config is not None or os.environ.get("GDI_NODE_CONFIG"):
        settings = _load(config)
        nodes[settings.drs_hostname] = settings.public_url
        if settings.federation is not None:  # a hub: its members' objects resolve through it
            objects = f"{settings.public_url}/ga4gh/drs/v1/objects"
            for member in settings.federation.members:
                pinned.setdefault(member.prefix, f"{objects}/{member.prefix}:{{$id}}")
            through_hub = member_hosts(settings.federation)
    with httpx.Client(timeout=60, follow_redirects=True) as http, _domain_errors():
        client = DrsClient(
            http,
            scheme=scheme,
            registry=registry or IDENTIFIERS_ORG,
            patterns=pinned,
            bearer=token,
            passports=passports,
            nodes=nodes,
            through_hub=through_hub,
        )
        url, obj = client.get_object(DrsUri.parse(uri))
        if target is None:
            click.echo(json.dumps(obj, indent=2))
            return
        access, headers = client.access_url(url, obj)
        saved = client.download(obj, access, headers, target)
    click.echo(f"saved {saved.path} ({saved.size} bytes, {saved.checksum_type} verified)")


cli_beacon.register(main, ingest, _load, _domain_errors)
cli_export.register(main, _load, _domain_errors)
_accept_config_everywhere(main)
