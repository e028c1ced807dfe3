"""The sites-only frequency release (``gdi-node export frequencies``): one dataset's alleles as
VCF records with gnomAD-style INFO counts, for departments' annotation pipelines.

Every allele with a carrier among the dataset's consenting samples is one record (one per ALT,
as gnomAD splits them), in sequence and position order, read a chunk at a time
(gdi_node.beacon.store.variant_stream), so the dataset is never in memory. Counts are those an
anonymous Beacon record answer gives (gdi_node.beacon.queries.alleles.population_frequency):
opted-out people and callsets that are not ready are left out, and small counts are upper
bounds (decision record 0017), named per record in ``IMPRECISE``.

Fields, for the dataset and suffixed per group (``_XX``/``_XY`` for sex, the population in
lower case, ``_cohort_<name>``): ``AC``, ``AN``, ``AF``, ``nhomalt``, ``nhet`` and ``nhemi``
(XY individuals carrying the allele on X outside the PARs or on Y, each counting one
chromosome in ``AN``: decision record 0023). A group of fewer than ``threshold`` people is
left out, as the small-scope rule leaves out a narrowed scope (decision record 0013). A
record carries its group fields only when no group's exact counts would let a small count be
recovered by subtraction (every cell of the dataset counts 0 or at least the threshold:
decision record 0022), as a Beacon record lists its group items.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pyroaring import BitMap
from sqlalchemy.orm import Session

from gdi_node.beacon.model.assemblies import Assembly, known_assemblies
from gdi_node.beacon.model.carriers import AlleleCounts
from gdi_node.beacon.model.populations import normalised_sex
from gdi_node.beacon.model.precision import CountPolicy
from gdi_node.beacon.queries.alleles import (
    Allele,
    Counter,
    InconsistentCountsError,
    group_alleles,
    population_frequency,
)
from gdi_node.beacon.queries.item_release import dataset_release
from gdi_node.beacon.queries.scopes import Scopes
from gdi_node.beacon.store.generation import current_generation
from gdi_node.beacon.store.variant_rows import VariantRepository
from gdi_node.beacon.store.variant_stream import rows_from, sequences_of
from gdi_node.errors import ConflictError, InvalidInputError

CHUNK_ROWS = 5_000
_END_OF_SEQUENCE = 2**62
_REGION = re.compile(r"^([^:\s]+)(?::([\d,]+)-([\d,]+))?$")
_NOT_IN_ID = re.compile(r"[^0-9A-Za-z_.]+")
_KARYOTYPE = {"F": "XX", "M": "XY"}  # gnomAD v4 suffixes of the sample sheet's sexes

# (key, Number, Type, description with {where}); the dataset's fields, and each group's with
# its suffix
COUNTS = (
    ("AC", "A", "Integer", "Alternate allele count in called genotypes {where}"),
    ("AN", "1", "Integer", "Number of called alleles at this position {where} (always exact)"),
    ("AF", "A", "Float", "Alternate allele frequency {where} (AC/AN)"),
    ("nhomalt", "A", "Integer", "Individuals homozygous for the alternate allele {where}"),
    ("nhet", "A", "Integer", "Heterozygous individuals {where}"),
    (
        "nhemi",
        "A",
        "Integer",
        "Hemizygous individuals {where}: XY individuals carrying the alternate allele on chrX"
        " outside the pseudo-autosomal regions or on chrY (one copy each in AN)",
    ),
)


@dataclass(frozen=True)
class Region:
    """Records whose POS lies in ``[first + 1, before]`` (VCF, 1-based) on ``chrom``."""

    chrom: str  # as stored (canonical)
    first: int  # 0-based
    before: int
    text: str


@dataclass(frozen=True)
class Group:
    suffix: str  # "" for the whole dataset, "_XX", "_fin", "_cohort_trio"
    described: str  # "in the dataset", "in sex F", "in population FIN"
    samples: BitMap


@dataclass(frozen=True)
class Site:
    chrom: str  # as written
    pos: int
    ref: str
    alt: str
    end: int | None  # INFO/END of a symbolic allele
    info: list[tuple[str, str]]


@dataclass
class ExportStats:
    sites: int = 0
    bounded_sites: int = 0  # records with an IMPRECISE field
    groups_left_out: int = 0  # records without group fields (decision record 0022)
    sequences: list[str] = field(default_factory=list)  # as written, in order
    symbolic: set[str] = field(default_factory=set)  # symbolic ALT ids (without <>)


def resolve_assembly(assembly_id: str) -> Assembly:
    found = known_assemblies().get(assembly_id)
    if found is None:
        known = ", ".join(known_assemblies().ids)
        raise InvalidInputError(f"unknown assembly {assembly_id!r}; known: {known}")
    return found


def parse_region(text: str, assembly: Assembly) -> Region:
    """``chr22``, or ``chr22:10,000-20,000`` (1-based, inclusive, as tabix and bcftools)."""
    match = _REGION.match(text.strip())
    if match is None:
        raise InvalidInputError(f"bad region {text!r}: expected CHROM or CHROM:START-END")
    name, start, end = match.groups()
    chrom = assembly.canonical(name)
    if chrom is None:
        raise InvalidInputError(f"bad region {text!r}: {assembly.id} has no sequence {name!r}")
    if start is None or end is None:
        return Region(chrom, 0, _END_OF_SEQUENCE, text)
    first, last = int(start.replace(",", "")), int(end.replace(",", ""))
    if not 1 <= first <= last:
        raise InvalidInputError(f"bad region {text!r}: expected 1 <= START <= END")
    return Region(chrom, first - 1, last, text)


def written_name(assembly: Assembly, chrom: str, chr_prefix: bool) -> str:
    """The sequence name written: ``chr22``/``chrM`` (UCSC, gnomAD on GRCh38) or ``22``/``MT``;
    a sequence the assembly does not know keeps the name it was loaded under."""
    if not chr_prefix or assembly.accession(chrom) is None:
        return chrom
    return "chrM" if chrom == "MT" else f"chr{chrom}"


def groups_of(scopes: Scopes, dataset_id: str, policy: CountPolicy) -> list[Group]:
    """The dataset and its sex, population and cohort groups of at least ``threshold`` people;
    sex spellings (F, female, XX) are one group."""
    scope = scopes.datasets.get(dataset_id, BitMap())
    found: dict[str, Group] = {}
    order = {"sex": 0, "population": 1, "cohort": 2}
    listed = sorted(scopes.populations(scope), key=lambda g: (order.get(g[0], 3), g[1], g[2]))
    for kind, name, members in listed:
        suffix, described = _suffix(kind, name)
        earlier = found.get(suffix)
        if earlier is not None and kind != "sex":
            raise ConflictError(
                f"{kind} {name!r} and another group both become the INFO suffix {suffix}:"
                " rename one in the sample sheet"
            )
        samples = members | earlier.samples if earlier is not None else members
        found[suffix] = Group(suffix, described, samples)
    groups = [Group("", "in the dataset", scope)]
    return groups + [
        g
        for g in found.values()
        if policy.threshold <= 1 or scopes.people_in(dataset_id, g.samples) >= policy.threshold
    ]


def _suffix(kind: str, name: str) -> tuple[str, str]:
    clean = _NOT_IN_ID.sub("_", name).strip("_") or "unnamed"
    if kind == "sex":
        sex = _KARYOTYPE.get(normalised_sex(name) or "")
        return (f"_{sex}", f"in {sex} individuals") if sex else (f"_sex_{clean}", f"in sex {name}")
    if kind == "population":
        return f"_{clean.lower()}", f"in population {name}"
    return f"_{kind}_{clean.lower()}", f"in {kind} {name}"


class FrequencyExport:
    """The records of one dataset on one assembly (optionally one region), as ``sites()``."""

    def __init__(
        self,
        session: Session,
        scopes: Scopes,
        dataset_id: str,
        assembly: Assembly,
        policy: CountPolicy,
        *,
        region: Region | None = None,
        chr_prefix: bool = True,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self._session = session
        self._scopes = scopes
        self.dataset_id = dataset_id
        self.assembly = assembly
        self.policy = policy
        self.region = region
        self._chr_prefix = chr_prefix
        self._chunk_rows = chunk_rows
        self.groups = groups_of(scopes, dataset_id, policy)
        self._release = dataset_release(policy.threshold, scopes, self.groups[0].samples)
        self.stats = ExportStats()

    @property
    def generation(self) -> int:
        """The Beacon data generation counted (checked again after the last record)."""
        return self._scopes.generation

    @property
    def samples(self) -> int:
        """The consenting samples counted."""
        return len(self.groups[0].samples)

    def sites(self) -> Iterator[Site]:
        """Every record, in order; ``stats`` is complete once they are read. Raises
        ConflictError when the Beacon data changed meanwhile (a load, an opt-out)."""
        for chrom in self._sequences():
            name = written_name(self.assembly, chrom, self._chr_prefix)
            first, before = (
                (self.region.first, self.region.before) if self.region else (0, _END_OF_SEQUENCE)
            )
            for allele in self._alleles(chrom, first, before):
                site = self._site(name, allele)
                if site is None:
                    continue
                if not self.stats.sequences or self.stats.sequences[-1] != name:
                    self.stats.sequences.append(name)
                self.stats.sites += 1
                yield site
        now = current_generation(self._session)
        if now != self._scopes.generation:
            raise ConflictError(
                f"the Beacon data changed during the export (generation {self._scopes.generation}"
                f" -> {now}: a load or a consent change); nothing was written, run it again"
            )

    def _sequences(self) -> list[str]:
        if self.region is not None:
            return [self.region.chrom]
        found = sequences_of(self._session, self.dataset_id, self.assembly.id)
        rank = {name: n for n, name in enumerate(self.assembly.accessions)}
        return sorted(found, key=lambda c: (rank.get(c, len(rank)), c))

    def _alleles(self, chrom: str, first: int, before: int) -> Iterator[tuple[Allele, Counter]]:
        """Alleles in start order, a chunk of rows at a time; a chunk ends before the last
        start it reached, so a site's alleles stay together."""
        limit = self._chunk_rows
        while first < before:
            rows = rows_from(
                self._session,
                self.dataset_id,
                self.assembly.id,
                chrom,
                first=first,
                before=before,
                limit=limit,
            )
            complete = len(rows) < limit
            if not complete:
                last = int(rows[-1].start)
                rows = [r for r in rows if int(r.start) < last]
                if not rows:  # one start holds more rows than a chunk: read it in one
                    limit *= 2
                    continue
                first = last
            # per chunk: its cache of decoded bitmaps goes too
            repo = VariantRepository(self._session, {})
            counter = Counter(self._scopes, repo.carrier_bits, repo.uncalled_at)
            counter.prefetch(rows)
            for allele in group_alleles(rows):
                yield allele, counter
            if complete:
                return

    def _site(self, name: str, found: tuple[Allele, Counter]) -> Site | None:
        allele, counter = found
        key = allele.key
        info: list[tuple[str, str]] = []
        bounded: list[str] = []
        rounded: list[str] = []
        groups = self.groups
        if len(groups) > 1 and not self._release.groups_shown(
            lambda members: counter.counts(allele, members)
        ):  # a group's exact counts would give a small count away (decision record 0022)
            groups = groups[:1]
            self.stats.groups_left_out += 1
        for group in groups:
            counts = counter.counts(allele, group.samples)
            if not group.suffix and counts.allele_count == 0:
                return None  # no consenting carrier: the allele is not released
            try:
                values = self._values(group.suffix or "dataset", counts)
            except InconsistentCountsError as exc:  # a bug: answered as an error, never numbers
                raise ConflictError(f"{key.variant_id()}: {exc}; nothing was written") from exc
            for field_key, value, precision in values:
                if value is not None:
                    info.append((field_key + group.suffix, value))
                if precision in ("imprecise", "atLeast"):
                    bounded.append(field_key + group.suffix)
                elif precision == "rounded":
                    rounded.append(field_key + group.suffix)
        if bounded:
            info.append(("IMPRECISE", ",".join(bounded)))
            self.stats.bounded_sites += 1
        if rounded:
            info.append(("ROUNDED", ",".join(rounded)))
        end = None
        if key.alt.startswith("<") and key.alt.endswith(">"):
            end = allele.end  # 0-based exclusive is VCF's 1-based inclusive END
            self.stats.symbolic.add(key.alt[1:-1])
        return Site(name, key.start + 1, key.ref, key.alt, end, info)

    def _values(self, label: str, counts: AlleleCounts) -> list[tuple[str, str | None, str]]:
        """(key, value or None to leave it out, precision) of one group's fields."""
        policy = self.policy
        item = population_frequency(label, counts, policy)
        upper = set(item.get("upperBounds", ()))

        def precision(name: str, count: int) -> str:
            return "imprecise" if name in upper else policy.report(count).precision

        ac, an = int(item["alleleCount"]), int(item["alleleNumber"])
        hom = int(item["alleleCountHomozygous"])
        ac_precision = precision("alleleCount", counts.allele_count)
        lower = set(item.get("lowerBounds", ()))
        hom_precision = (
            "atLeast"
            if "alleleCountHomozygous" in lower
            else precision("alleleCountHomozygous", counts.homozygous)
        )
        # the heterozygous rule of decision record 0017 lives in population_frequency only
        het = int(item["alleleCountHeterozygous"])
        het_precision = (
            "atLeast"
            if "alleleCountHeterozygous" in lower
            else precision("alleleCountHeterozygous", counts.heterozygous)
        )
        hemi = int(item["alleleCountHemizygous"])
        hemi_precision = precision("alleleCountHemizygous", counts.hemizygous)
        frequency = repr(float(item["alleleFrequency"])) if an else None
        return [
            ("AC", str(ac), ac_precision),
            ("AN", str(an), "exact"),
            ("AF", frequency, ac_precision if an else "exact"),
            ("nhomalt", str(hom), hom_precision),
            ("nhet", str(het), het_precision),
            ("nhemi", str(hemi), hemi_precision),
        ]
