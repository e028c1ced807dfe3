"""The principal: who is asking, with which accepted visas, grouped by linked identity.

Visas of different ``{iss, sub}`` identities are combined only through LinkedIdentities visas
from issuers trusted to link (Passport v1.2, General Requirements 8.4), so every policy that
needs more than one visa (Registered Access, conditions) is evaluated inside one group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gdi_node.passport.errors import CredentialError
from gdi_node.passport.visas import Identity, Visa, conditions_met, linked_identities


@dataclass(frozen=True)
class Principal:
    """An authenticated caller (or the anonymous one) and the visas the node accepted."""

    identity: Identity | None
    groups: tuple[tuple[Visa, ...], ...] = ()
    ignored: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(identity=None)

    @property
    def is_anonymous(self) -> bool:
        return self.identity is None

    @property
    def visas(self) -> tuple[Visa, ...]:
        return tuple(v for group in self.groups for v in group)


class _Components:
    """Union-find over identities."""

    def __init__(self) -> None:
        self._parent: dict[Identity, Identity] = {}

    def find(self, item: Identity) -> Identity:
        self._parent.setdefault(item, item)
        while self._parent[item] != item:
            self._parent[item] = self._parent[self._parent[item]]
            item = self._parent[item]
        return item

    def union(self, a: Identity, b: Identity) -> None:
        self._parent[self.find(a)] = self.find(b)


def build_principal(
    identity: Identity,
    visas: Iterable[Visa],
    linking_issuers: frozenset[str],
    ignored: list[tuple[str, str]],
) -> Principal:
    """Group visas by linked identity, then drop visas whose conditions are not met."""
    accepted = list(visas)
    components = _Components()
    components.find(identity)
    for visa in accepted:
        components.find(visa.identity)
        if visa.type != "LinkedIdentities" or visa.conditions:
            continue
        if visa.iss not in linking_issuers:
            ignored.append((visa.visa_id, "issuer is not trusted to link identities"))
            continue
        try:
            for other in linked_identities(visa):
                components.union(visa.identity, other)
        except CredentialError as exc:
            ignored.append((visa.visa_id, exc.message))
    grouped: dict[Identity, list[Visa]] = {}
    for visa in accepted:
        grouped.setdefault(components.find(visa.identity), []).append(visa)
    groups = []
    for members in grouped.values():
        kept = []
        for visa in members:
            if conditions_met(visa, members):
                kept.append(visa)
            else:
                ignored.append((visa.visa_id, "conditions not met"))
        if kept:
            groups.append(tuple(kept))
    return Principal(identity, tuple(groups), tuple(ignored))
