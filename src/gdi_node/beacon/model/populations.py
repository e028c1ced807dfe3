"""Population labels of the GDI allele-frequency network (decision record 0018): country codes
(ISO 3166-1 alpha-2) optionally with a sex, ``DK``, ``DK_F``, ``DK_M``, as the GDI portal reads
them (its pattern ``^([A-Z]{2})(_[MF])?$|^[MF]$``), and the sex values a sample sheet may give.
"""

from __future__ import annotations

import re

# the GDI portal's population pattern (case-insensitive there; the node writes upper case)
NETWORK_LABEL = re.compile(r"^(?:([A-Z]{2})(?:_([MF]))?|([MF]))$")
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
SEXES = ("F", "M")

_SEX = {"m": "M", "male": "M", "xy": "M", "f": "F", "female": "F", "xx": "F"}


def normalised_sex(value: str) -> str | None:
    """``M`` or ``F`` for M, F, male, female, XY, XX (any case); None for anything else."""
    return _SEX.get(value.strip().lower())


def country_code(value: str) -> str | None:
    """The ISO 3166-1 alpha-2 code ``value`` spells (any case), or None when it spells none."""
    code = value.strip().upper()
    return code if COUNTRY_CODE.match(code) else None


def with_sex(label: str, sex: str | None) -> str:
    """The label of the ``sex`` part of a population: ``DK`` and ``F`` give ``DK_F``."""
    return label if sex is None else f"{label}_{sex}"
