"""Errors of the passport layer; all map to the caller's API envelope as 401/400/413."""

from __future__ import annotations

from gdi_node.errors import InvalidInputError, PayloadTooLargeError, UnauthorizedError


class CredentialError(UnauthorizedError):
    """A credential was presented but cannot be accepted (fail closed: never anonymous)."""


class CredentialConflictError(InvalidInputError):
    """Two kinds of credential in one request (a bearer token and body passports)."""


class CredentialTooLargeError(PayloadTooLargeError):
    """A passport, visa or visa list is over the configured limits."""


class TooManyKeySetsError(CredentialError):
    """The visas of one request name more distinct ``jku`` URLs than allowed."""
