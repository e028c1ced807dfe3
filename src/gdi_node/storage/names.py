"""The node's one id space: every name a client may address a file by, in DRS and htsget alike
(decision record 0029).

A name is either an id the node minted (a data object's UUID; DRS adds ``<UUID>.<index ext>``
for its index and ``<UUID>.bundle`` for the bundle of both) or an alias: the file's name, given
to every object at registration, or an accession the operator gave (``gdi-node ingest files
--alias``: a sample accession, an EGA-style file id). DRS 1.5 §DrsObject ``aliases`` lists the
aliases; htsget 1.3 §URL parameters ``id`` takes the same names.

An alias may name several objects: files in different folders share a file name, and an
individual's, sample's or run's id names all their files (the opt-out gate matches files by
these, decision record 0012). A name naming more than one object is never resolved to one of
them: it is a 409 in the API's own envelope, or a 404 for a caller from whom one of those
objects' datasets is hidden (the 409 would tell them an object they may not know of exists).
htsget first keeps the objects of its endpoint's datatype, so a sample id naming the sample's
CRAM and its VCF names one object at ``/reads`` and one at ``/variants``. Registration refuses
what can never be meant (an alias shaped like an id the node mints, so no id is ever an alias)
and reports aliases that name other objects too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from gdi_node.db.models import DataObject, ObjectAlias
from gdi_node.errors import ConflictError, InvalidInputError, NotFoundError

# A minted id: a UUID, alone or with an index extension or the bundle suffix.
MINTED_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.(bai|crai|tbi|csi|bundle))?",
    re.IGNORECASE,
)
_CHUNK = 500  # names per IN list
_DATA = DataObject.__table__
_ALIAS = ObjectAlias.__table__
Target = TypeVar("Target", bound=Hashable)


class AmbiguousNameError(ConflictError):
    """A name that names more than one object (409)."""


def check_alias(alias: str) -> None:
    """Aliases are 1-255 printable characters without ``/`` (ids travel in URL paths) and never
    shaped like an id the node mints (so no minted id can ever equal an alias)."""
    if not 0 < len(alias) <= 255 or "/" in alias or not alias.isprintable():
        raise InvalidInputError(f"alias {alias!r} must be 1-255 printable characters without '/'")
    if MINTED_ID.fullmatch(alias):
        raise InvalidInputError(
            f"alias {alias!r} has the shape of an id the node mints (a UUID); choose an accession"
        )


def _chunks(names: Iterable[str]) -> Iterable[list[str]]:
    wanted = list(dict.fromkeys(names))
    for start in range(0, len(wanted), _CHUNK):
        yield wanted[start : start + _CHUNK]


def objects_named(session: Session, names: Iterable[str]) -> dict[str, dict[str, str]]:
    """Per name, the data objects it names (object id -> dataset id): the object whose id it
    is, and every object carrying it as an alias. Names naming nothing are left out; two
    statements per 500 names."""
    found: dict[str, dict[str, str]] = {}
    for chunk in _chunks(names):
        by_id = select(_DATA.c.id, _DATA.c.id, _DATA.c.dataset_id).where(_DATA.c.id.in_(chunk))
        by_alias = (
            select(_ALIAS.c.alias, _DATA.c.id, _DATA.c.dataset_id)
            .join(_DATA, _DATA.c.id == _ALIAS.c.object_id)
            .where(_ALIAS.c.alias.in_(chunk))
        )
        for query in (by_id, by_alias):
            for name, object_id, dataset_id in session.execute(query):
                found.setdefault(name, {})[object_id] = dataset_id
    return found


def choose(name: str, candidates: Mapping[Target, str], visible: Callable[[str], bool]) -> Target:
    """The one target ``name`` names (``candidates``: target -> its dataset id).

    Raises NotFoundError when it names none, AmbiguousNameError when it names several and the
    caller may know of every dataset they are in (``visible``), NotFoundError otherwise."""
    if len(candidates) == 1:
        return next(iter(candidates))
    if not candidates or not all(visible(d) for d in set(candidates.values())):
        raise NotFoundError(f"no object {name!r}")
    raise AmbiguousNameError(
        f"{name!r} names {len(candidates)} objects; ask by DRS id or by an accession naming one"
    )


def shared_with_others(session: Session, object_id: str, names: Sequence[str]) -> list[str]:
    """Which of ``names`` also name another object, by alias or id (sorted)."""
    by_alias = select(_ALIAS.c.alias).where(
        _ALIAS.c.alias.in_(names), _ALIAS.c.object_id != object_id
    )
    by_id = select(_DATA.c.id).where(_DATA.c.id.in_(names), _DATA.c.id != object_id)
    return sorted({*session.scalars(by_alias), *session.scalars(by_id)})


def alias_taken(session: Session, name: str) -> bool:
    """Whether ``name`` is already somebody's alias (a freshly minted id must not be)."""
    return session.scalar(select(_ALIAS.c.object_id).where(_ALIAS.c.alias == name)) is not None
