"""``gdi-node export frequencies``: the sites-only frequency release of a dataset, attached to
the main command line by :func:`register`.

The release is an operator's disclosure of aggregated data: it is recorded in the audit trail
(operation ``exportFrequencies``, committed before the file is moved into place) and logged.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.config.settings import Settings

Loader = Callable[[Path | None], Settings]
Guard = Callable[[], AbstractContextManager[None]]
OPERATION = "exportFrequencies"
OPERATOR_ISSUER = "urn:gdi-node:operator"  # the audit subject of command-line operators

log = logging.getLogger(__name__)


def register(main: click.Group, load: Loader, guard: Guard) -> None:
    @main.group()
    def export() -> None:
        """Releases of aggregated data."""

    @export.command("frequencies")
    @click.option("--dataset", "dataset_id", required=True, help="Dataset to release.")
    @click.option("--assembly", default="GRCh38", show_default=True, help="GRCh38 or GRCh37.")
    @click.option("--region", help="Only records with POS in CHROM or CHROM:START-END (1-based).")
    @click.option(
        "--chr-prefix/--no-chr-prefix",
        default=None,
        help="Name sequences chr22, chrM (default on GRCh38) or 22, MT (default on GRCh37).",
    )
    @click.option(
        "-o",
        "--output",
        required=True,
        type=click.Path(path_type=Path),
        help="The .vcf.gz to write (its .tbi index beside it).",
    )
    @click.pass_obj
    def export_frequencies(
        config: Path | None,
        dataset_id: str,
        assembly: str,
        region: str | None,
        chr_prefix: bool | None,
        output: Path,
    ) -> None:
        """Write a bgzipped, indexed, sites-only VCF of the dataset's allele frequencies.

        One record per allele with a consenting carrier: AC, AN, AF, nhomalt, nhet and nhemi
        for the dataset and per sex, population and cohort (gnomAD-style names), counted as
        an anonymous Beacon answer counts them: opted-out people left out, small counts shown
        as upper bounds and named in INFO/IMPRECISE (beacon/README.md).
        """
        from gdi_node.beacon.model.precision import CountPolicy
        from gdi_node.beacon.queries.frequency_export import (
            FrequencyExport,
            parse_region,
            resolve_assembly,
        )
        from gdi_node.beacon.queries.scopes import ScopeCache
        from gdi_node.beacon.queries.sites_vcf import check_output, write_release
        from gdi_node.bootstrap import migrated_sessions
        from gdi_node.errors import NotFoundError

        settings = load(config)
        beacon = settings.beacon
        policy = CountPolicy(beacon.small_count_threshold, beacon.count_rounding)
        with guard():
            declared = [d.id for d in settings.datasets]
            if dataset_id not in declared:
                raise NotFoundError(
                    f"dataset {dataset_id!r} is not declared; declared: {', '.join(declared)}"
                )
            chosen = resolve_assembly(assembly)
            limited = parse_region(region, chosen) if region else None
            check_output(output)
            prefixed = chosen.id == "GRCh38" if chr_prefix is None else chr_prefix
            with migrated_sessions(settings) as sessions, sessions() as session:
                scopes = ScopeCache().get(session)
                exported = FrequencyExport(
                    session, scopes, dataset_id, chosen, policy, region=limited, chr_prefix=prefixed
                )
                described = f"{output.resolve()} ({region or 'every sequence'}, {chosen.id})"
                stats = write_release(
                    exported,
                    output,
                    before_publish=lambda _: _record(settings, sessions, dataset_id, described),
                )
        log.info(
            "exported %d sites of %s at generation %d to %s",
            stats.sites,
            dataset_id,
            exported.generation,
            described,
        )
        on = ", ".join(stats.sequences) or "no sequence"
        click.echo(
            f"wrote {output}: {stats.sites:,} sites on {on} ({stats.bounded_sites:,} with bounded"
            f" counts, {stats.groups_left_out:,} without group fields),"
            f" {exported.samples:,} samples of {dataset_id} at generation"
            f" {exported.generation}, small-count threshold {policy.threshold}"
        )


def _record(
    settings: Settings, sessions: sessionmaker[Session], dataset_id: str, described: str
) -> None:
    """The release in the audit trail, committed (or AuditUnavailableError: nothing is moved
    into place)."""
    from gdi_node.passport.audit import AuditTrail, load_or_create_subject_key
    from gdi_node.passport.audit_event import AuditEvent

    trail = AuditTrail(
        sessions,
        load_or_create_subject_key(settings.audit_key_file),
        durable_timeout=settings.audit.durable_timeout_seconds,
    )
    try:
        trail.record(
            AuditEvent(
                time=datetime.now(UTC),
                subject_iss=OPERATOR_ISSUER,
                subject_sub=_operator(),
                operation=OPERATION,
                dataset_id=dataset_id,
                object_id=described,
                decision="allow",
                disclosure="record",
                visa_ids=(),
                client_address=None,
                request_id=None,
            ),
            durable=True,
        )
    finally:
        trail.close()


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "unknown"
