"""The ``federation:`` section: the member nodes a hub answers for besides its own datasets.

Any node may federate members (the national hub federates the regional data centres' nodes).
Each member is a GA4GH node reached over HTTP: its id (named in answers), its base URL, its
region, the deadline within which its answer is waited for, which of its APIs the hub uses, and
the prefix of its DRS objects on the hub (``<prefix>:<object id>``).
Who sees members' answers one by one (*transparent*) and who sees one national answer
(*opaque*) is ``transparent_to`` (decision record 0031).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from gdi_node.config.trust import StrictSection, check_http_url

MEMBER_ID = r"^[a-z0-9][a-z0-9-]{0,39}$"


class FederatedApi(StrEnum):
    BEACON = "beacon"
    DRS = "drs"
    HTSGET = "htsget"


class TransparentTo(StrEnum):
    """Which callers see each member's answer apart (the others see one summed answer).

    ``resident-registered``: registered-access researchers (Passport v1 Registered Access)
    calling from the residency networks (``trust.residency``); ``registered``: registered-access
    researchers from anywhere; ``everyone``; ``nobody``."""

    NOBODY = "nobody"
    RESIDENT_REGISTERED = "resident-registered"
    REGISTERED = "registered"
    EVERYONE = "everyone"


class MemberSettings(StrictSection):
    """One member node. ``base_url`` is the member's public URL (its ``public_url``): the
    Beacon is under ``/ga4gh/beacon/v2``, as on every gdi-node."""

    id: str = Field(pattern=MEMBER_ID)
    name: str = Field(min_length=1, max_length=200)
    base_url: str
    region: str = ""
    deadline_seconds: float = Field(default=4.0, gt=0, le=60)
    apis: tuple[FederatedApi, ...] = (FederatedApi.BEACON, FederatedApi.DRS, FederatedApi.HTSGET)
    drs_prefix: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_http_url(value).rstrip("/")

    @property
    def beacon_url(self) -> str:
        return f"{self.base_url}/ga4gh/beacon/v2"

    @property
    def drs_url(self) -> str:
        return f"{self.base_url}/ga4gh/drs/v1"

    @property
    def prefix(self) -> str:
        """The compact-identifier prefix of the member's objects on the hub:
        ``<prefix>:<the member's object id>`` (default: the member id)."""
        return self.drs_prefix or self.id


class CircuitSettings(StrictSection):
    """A member that failed ``failures`` times in a row is skipped (its circuit is open) and
    probed every ``probe_seconds`` in the background until it answers again."""

    failures: int = Field(default=3, ge=1, le=100)
    probe_seconds: float = Field(default=5.0, gt=0, le=3600)


class FederationSettings(StrictSection):
    members: tuple[MemberSettings, ...] = Field(min_length=1)
    transparent_to: TransparentTo = TransparentTo.RESIDENT_REGISTERED
    national_set_id: str | None = None  # the opaque result set's id (default: the node id)
    national_name: str | None = None  # the opaque frequencies' source (default: the node name)
    circuit: CircuitSettings = CircuitSettings()
    max_connections_per_member: int = Field(default=20, ge=1, le=1000)
    # list members' filtering terms and datasets (as an anonymous caller sees them) next to the
    # hub's own, fetched every metadata_refresh_seconds; off: the hub lists only its own
    list_member_metadata: bool = True
    metadata_refresh_seconds: float = Field(default=600.0, ge=1, le=86400)

    @model_validator(mode="after")
    def _unique_members(self) -> FederationSettings:
        for what, values in (
            ("ids", [m.id for m in self.members]),
            ("DRS prefixes", [m.prefix for m in self.members]),
        ):
            repeated = sorted({i for i in values if values.count(i) > 1})
            if repeated:
                raise ValueError(f"federation.members: {what} must be unique; repeated: {repeated}")
        return self

    def owner(
        self, object_id: str, api: FederatedApi | str = FederatedApi.DRS
    ) -> tuple[MemberSettings, str] | None:
        """The member a hub object id ``<prefix>:<id>`` names (when the hub uses ``api`` of
        it), and the member's own id."""
        prefix, colon, rest = object_id.partition(":")
        if not colon or not rest:
            return None
        member = next((m for m in self.members if m.prefix == prefix), None)
        if member is None or FederatedApi(api) not in member.apis:
            return None
        return member, rest
