"""A small GA4GH world on loopback for passport tests: a broker (LS-AAI style, RS256), a REMS
style DAC visa issuer (RS256, jku) bound to the DAC it speaks for, a second visa issuer (ES256)
trusted to link identities but bound to no DAC, and an untrusted issuer. Settings and the
node's authorization stack are built against them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine, make_session_factory
from gdi_node.db.migrate import upgrade
from gdi_node.passport.wiring import AuthorizationStack, build_authorization
from tests.support.passport_peers import Authority, PeerServer

DAC = "https://dac.example.org/committee/1"
DATASET_URN = "urn:gdi:example-dataset"
REGISTERED = "https://doi.org/10.1038/s41431-018-0219-y"


@dataclass
class World:
    peers: PeerServer
    broker: Authority
    rems: Authority
    aai: Authority
    rogue: Authority

    def trust(self, **overrides: Any) -> dict[str, Any]:
        broker, rems, aai = self.broker, self.rems, self.aai
        self.broker.register_client("gdi-node", "s3cret")
        trust: dict[str, Any] = {
            "allow_insecure_http": True,
            "passport_issuers": [
                {
                    "issuer": broker.issuer,
                    "jwks_urls": [broker.jwks_url],
                    "userinfo_url": broker.userinfo_url,
                }
            ],
            "visa_issuers": [
                # the DAC's own visa issuer: the only one whose grants for DAC count
                {"issuer": rems.issuer, "jwks_urls": [rems.jwks_url], "grant_sources": [DAC]},
                {
                    "issuer": aai.issuer,
                    "jwks_urls": [aai.jwks_url],
                    "userinfo_url": aai.userinfo_url,
                    "links_identities": True,
                },
                {"issuer": broker.issuer, "jwks_urls": [broker.jwks_url]},
            ],
            "audiences": ["gdi-node"],
            "residency": {"networks": ["127.0.0.0/8"]},
            "jwks_min_refetch_seconds": 30,
        }
        trust.update(overrides)
        return trust

    def settings(self, tmp_path: Path, database_url: str | None = None, **trust: Any) -> Settings:
        return Settings.model_validate(
            {
                "data_dir": tmp_path / "data",
                "database_url": database_url or f"sqlite:///{tmp_path / 'node.sqlite3'}",
                "public_url": "http://node.test:8080",
                "datasets": [
                    {"id": "DS-OPEN", "name": "Open", "security_level": "PUBLIC"},
                    {"id": "DS-REG", "name": "Registered", "security_level": "REGISTERED"},
                    {
                        "id": "DS-CTRL",
                        "name": "Controlled",
                        "security_level": "CONTROLLED",
                        "grants": [DATASET_URN],
                        "dac_sources": [DAC],
                    },
                    {
                        "id": "DS-HIDDEN",
                        "name": "Hidden",
                        "security_level": "CONTROLLED",
                        "dac_sources": [DAC],
                        "disclosure": {
                            "anonymous": "none",
                            "registered": "none",
                            "controlled": "record",
                        },
                    },
                ],
                "trust": self.trust(**trust),
            }
        )

    def grant(self, sub: str = "alice", value: str = DATASET_URN, **kw: Any) -> str:
        return self.rems.visa(sub, "ControlledAccessGrants", value, DAC, by="dac", **kw)

    def registered(self, sub: str = "alice", issuer: Authority | None = None) -> list[str]:
        issuer = issuer or self.aai
        return [
            issuer.visa(sub, "AcceptedTermsAndPolicies", REGISTERED, issuer.issuer, by="self"),
            issuer.visa(sub, "ResearcherStatus", REGISTERED, issuer.issuer, by="so"),
        ]


@contextmanager
def open_world() -> Iterator[World]:
    with PeerServer() as peers:
        yield World(
            peers,
            broker=peers.authority("broker"),
            rems=peers.authority("rems"),
            aai=peers.authority("aai", alg="ES256"),
            rogue=peers.authority("rogue", alg="ES256"),
        )


@contextmanager
def open_stack(settings: Settings) -> Iterator[AuthorizationStack]:
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    stack = build_authorization(settings, make_session_factory(engine))
    try:
        yield stack
    finally:
        stack.close()
        engine.dispose()
