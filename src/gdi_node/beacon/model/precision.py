"""Small counts are never exact for callers without a controlled-access grant (Beacon v2.2
``countPrecision`` / ``countAdjustedTo``).

A count between 1 and ``threshold - 1`` is reported as ``threshold`` with precision
``imprecise`` (read: "fewer than threshold") and ``countAdjustedTo: [threshold]``; with
``rounding`` > 1, larger counts are rounded to the nearest multiple, precision ``rounded`` and
``countAdjustedTo: [rounding]``. Zero stays exact: absence is not identifying.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reported:
    value: int
    precision: str  # exact, imprecise, rounded
    adjusted_to: int | None = None

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

    def report(self, count: int) -> Reported:
        if count == 0:
            return Reported(0, "exact")
        if count < self.threshold:
            return Reported(self.threshold, "imprecise", self.threshold)
        if self.rounding > 1:
            rounded = max(self.threshold, round(count / self.rounding) * self.rounding)
            return Reported(rounded, "rounded", self.rounding)
        return Reported(count, "exact")


EXACT = CountPolicy()
