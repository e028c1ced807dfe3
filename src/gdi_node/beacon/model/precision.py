"""Small counts are never exact for callers without a controlled-access grant, and never
shown as a larger number as if counted (Beacon v2.2 ``countPrecision`` / ``countAdjustedTo``;
decision record 0017).

With a small-count threshold ``t`` > 1, a count ``c``:

- 0 is exact: absence is not identifying;
- 1 ≤ c < t is an **upper bound**: reported as ``min(t - 1, cap)`` with precision
  ``imprecise`` and ``countAdjustedTo: [t - 1]``, read "at most t - 1, and at least 1";
  ``cap`` is the largest value the other numbers of the same answer allow (an allele count is
  at most the allele number, homozygotes at most half the allele count), so a bound never
  breaks an invariant the exact counts obey and a frequency built from it is at most 1;
- c ≥ t is exact, or with ``rounding`` r > 1 rounded to the nearest multiple of r (at least
  t, at most ``cap``), precision ``rounded`` and ``countAdjustedTo: [r]``.

The bound is never smaller than the true count, so a frequency computed from it is a stated
upper bound of the true frequency (what a caller may rely on to call an allele rare).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRECISIONS = ("exact", "rounded", "imprecise")  # from best to worst


@dataclass(frozen=True)
class Reported:
    value: int
    precision: str  # exact, imprecise (an upper bound), rounded
    adjusted_to: int | None = None

    @property
    def is_bound(self) -> bool:
        """The value is an upper bound of the count, not the count."""
        return self.precision == "imprecise"

    def fields(self) -> dict[str, Any]:
        """``countPrecision`` (and ``countAdjustedTo``) for a summary or a result set."""
        out: dict[str, Any] = {"countPrecision": self.precision}
        if self.adjusted_to is not None:
            out["countAdjustedTo"] = [self.adjusted_to]
        return out


@dataclass(frozen=True)
class CountPolicy:
    threshold: int = 1  # 1: exact
    rounding: int = 1

    def report(self, count: int, cap: int | None = None) -> Reported:
        """``count`` as a caller under this policy sees it; ``cap`` (at least ``count``) is the
        largest value the answer's other numbers allow."""
        if cap is not None and cap < count:
            raise ValueError(f"count {count} above its cap {cap}: the counts are inconsistent")
        if count == 0:
            return Reported(0, "exact")
        if count < self.threshold:
            bound = self.threshold - 1
            return Reported(bound if cap is None else min(bound, cap), "imprecise", bound)
        if self.rounding > 1:
            rounded = max(self.threshold, round(count / self.rounding) * self.rounding)
            if cap is not None:
                rounded = min(rounded, cap)
            return Reported(rounded, "rounded", self.rounding)
        return Reported(count, "exact")


def worst(*reported: Reported) -> Reported:
    """The least precise of several reported counts (for an item's ``countPrecision``)."""
    return max(reported, key=lambda r: PRECISIONS.index(r.precision))


EXACT = CountPolicy()
# a presence in the form of a count: "at least one" (an imprecise 1) or none (an exact 0), what
# a boolean answer's result set reports (decision record 0030)
AT_LEAST_ONE = Reported(1, "imprecise", 1)
NONE = Reported(0, "exact")


def presence(exists: bool) -> Reported:
    """``exists`` as a count that reveals nothing more."""
    return AT_LEAST_ONE if exists else NONE
