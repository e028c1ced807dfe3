"""Dataset identifiers shared by the catalogue and the Beacon (design note §3, decision record
0026): one string per dataset, published as ``dct:identifier`` in the FAIR Data Point and as
the ``id`` of the dataset's Beacon result sets, because the GDI User Portal joins the two by
exact comparison.

Three conventions are in use in the GDI network; a catalogued dataset's identifier must follow
one of them:

- ``GDI_DASH``: ``GDI-FI-COHORT-001``, ``GOE-NL-HRI-7`` (prefix, ISO country, organisation or
  type, digits): the 1+MG reference architecture's schema and the ``sh:pattern`` of the GDI
  metadata shapes at commit 3f1085d;
- ``PROJECT_UNDERSCORE``: ``GoE_NL_HRI_1``, the example of the GDI metadata submission table;
- ``GDID``: ``GDID-xxxxxxxx-xxxx`` (8 and 4 letters or digits).

Only the first conforms to the vendored shape; the other two are accepted with a start-up
warning (decision record 0026).
"""

from __future__ import annotations

import re
from enum import StrEnum

MAX_CATALOGUE_IDENTIFIER = 64


class IdentifierForm(StrEnum):
    GDI_DASH = "GDI_DASH"
    PROJECT_UNDERSCORE = "PROJECT_UNDERSCORE"
    GDID = "GDID"


_FORMS = {
    IdentifierForm.GDI_DASH: re.compile(r"^(GOE|GDI)-[A-Z]{2}-[A-Z]+-[0-9]+$"),
    IdentifierForm.PROJECT_UNDERSCORE: re.compile(
        r"^[A-Za-z][A-Za-z0-9]*_[A-Z]{2}_[A-Za-z0-9]+_[0-9]+$"
    ),
    IdentifierForm.GDID: re.compile(r"^GDID-[0-9A-Za-z]{8}-[0-9A-Za-z]{4}$"),
}

# The forms the GDI metadata shape's sh:pattern on dct:identifier accepts (commit 3f1085d).
SHAPE_CONFORMING = frozenset({IdentifierForm.GDI_DASH})

FORMS_EXPLAINED = (
    "GDI-CC-ORG-N / GOE-CC-ORG-N (e.g. GDI-FI-COHORT-001), Project_CC_ORG_N (e.g. GoE_NL_HRI_1)"
    " or GDID-xxxxxxxx-xxxx (8 and 4 letters or digits)"
)


def identifier_form(value: str) -> IdentifierForm | None:
    """The GDI convention ``value`` follows, or None (also when longer than 64 characters)."""
    if len(value) > MAX_CATALOGUE_IDENTIFIER:
        return None
    for form, pattern in _FORMS.items():
        if pattern.match(value):
            return form
    return None
