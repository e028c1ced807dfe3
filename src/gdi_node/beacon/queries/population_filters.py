"""The GDI allele-frequency network's population filters, and the population items of an
allele record (decision record 0018).

The GDI portal's aggregated lookup sends, through the Beacon Network, POST ``/g_variants``
with filters ``{"id": "sexFilter" | "countryFilter", "operator": "=", "value": …, "scope":
"population"}``. They are not terms of the node's records: they are taken out of the request's
filters before those are resolved (gdi_node.beacon.queries.filter_match), and narrow the samples
counted in each dataset to that population:

- ``countryFilter`` (ISO 3166-1 alpha-2, any case): a dataset whose ``frequency_label`` is that
  code as a whole, else the samples whose sample sheet gives that ``country``;
- ``sexFilter`` (M, F, male, female, XY, XX, any case): the samples of that sex.

A variant then exists when a carrier is in that population, the small-scope rule (decision
record 0013) applies to the narrowed scope, and each record holds that population's item only,
labelled as the unfiltered answer labels it (``DK_F``). A value that names no population (an
unknown country, a sex outside M/F, two different values of one filter) selects nobody: an
empty answer, never an error. Only g_variants takes population filters (the privacy gate
refuses them elsewhere).

Without population filters a record lists, in order: the dataset's sex items (``DK_F``,
``DK_M``), its sample-sheet countries with theirs (``SE``, ``SE_F``, ``SE_M``; a country equal
to the dataset's label is the dataset itself), cohort and free ``population`` items when
``beacon.frequencies.extra_groups`` is set (their labels, ``DK cohort trio``, fail the portal's
pattern), and the dataset as a whole **last**: the older portal keeps a result set's last item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyroaring import BitMap

from gdi_node.beacon.framework.filters import POPULATION_SCOPE, VARIANT_SCOPE, Filter
from gdi_node.beacon.model.populations import SEXES, country_code, normalised_sex, with_sex
from gdi_node.beacon.queries.scopes import Scopes
from gdi_node.errors import InvalidInputError

SEX_FILTER = "sexFilter"
COUNTRY_FILTER = "countryFilter"
_IDS = {SEX_FILTER.lower(): SEX_FILTER, COUNTRY_FILTER.lower(): COUNTRY_FILTER}
_EXTRA_KINDS = ("cohort", "population")  # sample-sheet groups listed only with extra_groups
# the population filters as /filtering_terms lists them (framework ``FilteringTerm``)
POPULATION_TERMS: tuple[dict[str, Any], ...] = (
    {
        "id": SEX_FILTER,
        "type": "alphanumeric",
        "scopes": [VARIANT_SCOPE],
        "label": "sex of the population counted in g_variants frequencies (M or F)",
        "values": list(SEXES),
    },
    {
        "id": COUNTRY_FILTER,
        "type": "alphanumeric",
        "scopes": [VARIANT_SCOPE],
        "label": "country (ISO 3166-1 alpha-2) of the population counted in g_variants frequencies",
    },
)


@dataclass(frozen=True)
class PopulationFilter:
    """The population a request's population filters select; ``unknown``: a value that names
    no population (nobody is in it)."""

    sex: str | None = None
    country: str | None = None
    unknown: bool = False

    def label(self, dataset_label: str) -> str:
        """The label of this population's item in a dataset labelled ``dataset_label``."""
        return with_sex(self.country or dataset_label, self.sex)

    def narrows(self, dataset_label: str) -> bool:
        """Whether this population is a part of a dataset labelled ``dataset_label`` (not
        the whole of it)."""
        country = self.country is not None and self.country != dataset_label
        return self.unknown or country or self.sex is not None

    def narrow(self, scopes: Scopes, samples: BitMap, dataset_label: str) -> BitMap:
        """``samples`` (a dataset's scope) narrowed to this population."""
        if self.unknown:
            return BitMap()
        if self.country is not None and self.country != dataset_label:
            samples = samples & scopes.groups.get(("country", self.country), BitMap())
        if self.sex is not None:
            samples = samples & sex_members(scopes, self.sex)
        return samples


def split(filters: Sequence[Filter]) -> tuple[PopulationFilter | None, tuple[Filter, ...]]:
    """The population filters of a request (None: there are none) and the other filters.

    A filter is a population filter when its id is ``sexFilter``/``countryFilter`` (any case)
    or its scope is ``population``; one with another id, or without ``=`` and a value, is a
    400 (the request is malformed). Unknown values are not errors (see the module doc)."""
    population: list[Filter] = []
    rest: list[Filter] = []
    for item in filters:
        known = _IDS.get(item.id.lower())
        if known is None and item.scope != POPULATION_SCOPE:
            rest.append(item)
            continue
        if known is None:
            raise InvalidInputError(
                f"filter {item.id!r}: the population filters are {SEX_FILTER} and {COUNTRY_FILTER}"
            )
        if item.operator != "=" or not item.value:
            raise InvalidInputError(f"filter {known!r} needs the operator '=' and a value")
        population.append(Filter(known, item.operator, item.value, scope=POPULATION_SCOPE))
    if not population:
        return None, tuple(rest)
    return _population(population), tuple(rest)


def _population(filters: list[Filter]) -> PopulationFilter:
    sexes: set[str | None] = set()
    countries: set[str | None] = set()
    for item in filters:
        value = item.value or ""
        if item.id == SEX_FILTER:
            sexes.add(normalised_sex(value))
        else:
            countries.add(country_code(value))
    unknown = None in sexes or None in countries or len(sexes) > 1 or len(countries) > 1
    if unknown:
        return PopulationFilter(unknown=True)
    return PopulationFilter(
        sex=next(iter(sexes)) if sexes else None,
        country=next(iter(countries)) if countries else None,
    )


def sex_members(scopes: Scopes, sex: str) -> BitMap:
    """The consenting samples of ``sex`` (M or F); sheets loaded before sexes were normalised
    may have stored ``female``/``male``, which count as theirs."""
    out = BitMap()
    for (kind, name), members in scopes.groups.items():
        if kind == "sex" and normalised_sex(name) == sex:
            out |= members
    return out


def population_items(
    scopes: Scopes, samples: BitMap, dataset_label: str, *, extra_groups: bool
) -> list[tuple[str, BitMap]]:
    """(label, samples) of the items a record lists before its dataset-wide one (see the
    module doc), each with members in ``samples`` (the dataset's scope)."""
    sexes = [(sex, sex_members(scopes, sex) & samples) for sex in SEXES]
    out = [(with_sex(dataset_label, sex), members) for sex, members in sexes]
    countries = sorted(
        name for kind, name in scopes.groups if kind == "country" and name != dataset_label
    )
    for country in countries:
        members = scopes.groups[("country", country)] & samples
        out.append((country, members))
        out += [(with_sex(country, sex), members & of_sex) for sex, of_sex in sexes]
    if extra_groups:
        for (kind, name), members in sorted(scopes.groups.items()):
            if kind in _EXTRA_KINDS:
                out.append((f"{dataset_label} {kind} {name}", members & samples))
    return [(label, members) for label, members in out if members]
