"""Build the authorization stack of one app from the settings (called by ``NodeRuntime.create``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from gdi_node.config.settings import Settings
from gdi_node.passport.audit import AuditTrail, load_or_create_subject_key
from gdi_node.passport.authorizer import Authorizer
from gdi_node.passport.brokers import BrokerClient
from gdi_node.passport.jwks import JwksCache
from gdi_node.passport.local_issuer import LocalIssuer
from gdi_node.passport.permits import PermitPolicy
from gdi_node.passport.transport import TrustedHttp
from gdi_node.passport.verifier import PassportVerifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthorizationStack:
    authorizer: Authorizer
    local_issuer: LocalIssuer | None
    audit: AuditTrail
    http: TrustedHttp

    def close(self) -> None:
        self.audit.close()
        self.http.close()


def build_authorization(
    settings: Settings, session_factory: sessionmaker[Session]
) -> AuthorizationStack:
    trust = settings.trust
    http = TrustedHttp(
        timeout=trust.http_timeout_seconds, allow_insecure_http=trust.allow_insecure_http
    )
    jwks = JwksCache(
        http,
        max_bytes=trust.jwks_max_bytes,
        ttl_seconds=trust.jwks_cache_seconds,
        min_refetch_seconds=trust.jwks_min_refetch_seconds,
    )
    local = LocalIssuer.for_settings(settings) if trust.local_issuer else None
    extra = []
    if local is not None:
        jwks.preload(local.jwks_url, {str(local.key.kid): local.key})
        extra.append(local.trusted_issuer())
    verifier = PassportVerifier(trust, jwks, http, extra_issuers=extra)
    policy = PermitPolicy(
        settings.datasets,
        trust,
        implicit_grantors=[(local.issuer, local.dac_source)] if local is not None else [],
    )
    for dataset_id, source in policy.unbound_dac_sources():
        log.warning(
            "dataset %s: no visa issuer is bound to DAC source %s (trust.visa_issuers[]."
            "grant_sources), so its ControlledAccessGrants are refused",
            dataset_id,
            source,
        )
    audit = AuditTrail(
        session_factory,
        load_or_create_subject_key(settings.audit_key_file),
        flush_interval=settings.audit.batch_seconds,
        durable_timeout=settings.audit.durable_timeout_seconds,
        stuck_after=settings.audit.stuck_after_seconds,
    )
    authorizer = Authorizer(verifier, BrokerClient(verifier, http), policy, audit)
    return AuthorizationStack(authorizer, local, audit, http)
