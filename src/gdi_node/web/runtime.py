"""The objects one app creates once, from which every API's ``mount`` builds its services.

:meth:`NodeRuntime.create` opens the database engine and the authorization stack (passport
verification, policy, the audit trail), starts the app's own metrics registry, loads the key of
the URL signer, makes the consent gate (decision record 0012) and, on a hub, the members'
client (gdi_node.federation); the signer and the gate are
shared because htsget tickets and DRS access URLs are the same signed data URLs, refused alike
after an opt-out. :meth:`NodeRuntime.close` releases what ``create`` opened. Nothing is created
at import.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from gdi_node import __version__
from gdi_node.config.settings import Settings
from gdi_node.db.consent import ConsentGate
from gdi_node.db.engine import make_engine, make_read_session_factory, make_session_factory
from gdi_node.federation.fanout import Federation
from gdi_node.passport.wiring import AuthorizationStack, build_authorization
from gdi_node.secrets import load_or_create_secret
from gdi_node.storage.signing import UrlSigner
from gdi_node.web.observability import RequestMetrics


@dataclass(frozen=True)
class NodeRuntime:
    """Objects created once per app and shared by the APIs."""

    settings: Settings
    engine: Engine
    metrics: RequestMetrics
    started_at: datetime
    authorization: AuthorizationStack
    signer: UrlSigner
    consent: ConsentGate
    federation: Federation | None = None  # the members' client, when members are configured

    @classmethod
    def create(cls, settings: Settings) -> NodeRuntime:
        """Open everything; what was opened is closed again if a later step fails."""
        with ExitStack() as undo:
            engine = make_engine(settings.effective_database_url)
            undo.callback(engine.dispose)
            authorization = build_authorization(settings, make_session_factory(engine))
            undo.callback(authorization.close)
            started_at = datetime.now(UTC)
            metrics = RequestMetrics()
            metrics.watch_audit(authorization.audit.health)
            federation = None
            if settings.federation is not None:
                federation = Federation(
                    settings.federation,
                    user_agent=f"gdi-node/{__version__}",
                    registry=metrics.registry,
                )
                undo.callback(federation.close)
            runtime = cls(
                settings=settings,
                engine=engine,
                metrics=metrics,
                started_at=started_at,
                authorization=authorization,
                signer=UrlSigner(load_or_create_secret(settings.url_signing_key_file)),
                consent=ConsentGate(make_read_session_factory(engine)),
                federation=federation,
            )
            undo.pop_all()
        return runtime

    def close(self) -> None:
        """Stop asking members, flush and stop the audit trail, close the passport layer's
        HTTP client, then the database pool."""
        if self.federation is not None:
            self.federation.close()
        self.authorization.close()
        self.engine.dispose()
