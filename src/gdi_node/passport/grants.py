"""Which visa issuer may assert ControlledAccessGrants for which DAC, for which datasets.

GA4GH Passport v1.2, General Requirements 8.3: a Passport Clearinghouse must ignore a visa
unless it trusts the broker, the Visa Issuer **and** the Visa Assertion Source together. A
trusted issuer's signature is therefore not enough for a grant: the issuer must be bound to the
grant's ``source`` (``trust.visa_issuers[].grant_sources``, optionally limited to datasets).
An issuer with no binding grants nothing (fail closed; decision record 0010). The node's local
issuer is bound to its own DAC source only, for every dataset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gdi_node.config.trust import TrustSettings


class GrantBindings:
    """(issuer, source) -> the datasets that issuer may grant for that source."""

    def __init__(self, trust: TrustSettings, implicit: Sequence[tuple[str, str]] = ()) -> None:
        """``implicit``: (issuer, source) pairs bound for every dataset (the local issuer)."""
        # None: every dataset that lists the source; else only the named datasets.
        self._bound: dict[tuple[str, str], frozenset[str] | None] = {}
        for issuer in trust.visa_issuers:
            for grant in issuer.grant_sources:
                self._add(issuer.issuer, grant.source, grant.datasets)
        for issuer_url, source in implicit:
            self._add(issuer_url, source, ())

    def _add(self, issuer: str, source: str, datasets: Iterable[str]) -> None:
        key, named = (issuer, source), frozenset(datasets)
        if key in self._bound:
            known = self._bound[key]
            self._bound[key] = None if known is None or not named else known | named
        else:
            self._bound[key] = named or None

    def allows(self, issuer: str, source: str, dataset_id: str) -> bool:
        """May ``issuer`` assert a ControlledAccessGrants of ``source`` for ``dataset_id``?"""
        key = (issuer, source)
        if key not in self._bound:
            return False
        datasets = self._bound[key]
        return datasets is None or dataset_id in datasets

    def sources_without_issuer(self, dataset_id: str, sources: Iterable[str]) -> list[str]:
        """The DAC sources of a dataset that no issuer may grant for (their grants are refused)."""
        issuers = {issuer for issuer, _ in self._bound}
        return [s for s in sources if not any(self.allows(i, s, dataset_id) for i in issuers)]
