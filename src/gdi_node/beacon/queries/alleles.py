"""From variant rows to alleles with counts, and to g_variant documents (Beacon v2 default
model ``genomicVariations``; ``variation`` as a VRS 1.3 ``Allele``).

An allele is one row per dataset (decision record 0020); its counts within a scope come from
its carrier bits, the bits present at its position and, on X outside the PARs and on Y, the
sexes of the scope's bits (gdi_node.beacon.model.carriers.count_allele, decision record 0023).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from pyroaring import BitMap

from gdi_node.beacon.model.annotations import molecular_effect_ids
from gdi_node.beacon.model.assemblies import known_assemblies
from gdi_node.beacon.model.carriers import NO_COUNTS, AlleleBits, AlleleCounts, count_allele
from gdi_node.beacon.model.precision import CountPolicy, Reported, worst
from gdi_node.beacon.model.variants import AlleleKey, variant_type
from gdi_node.beacon.queries.scopes import Scopes

_COPY_CHANGE = {"SV:DEL": "efo:0030067", "SV:DUP": "efo:0030070"}  # loss, gain


@dataclass
class Allele:
    key: AlleleKey
    rows: list[Any] = field(default_factory=list)

    @property
    def end(self) -> int:
        return max(int(row.end) for row in self.rows)

    def annotation(self) -> dict[str, Any]:
        """What the rows' annotation documents say together: lists of terms merged, and
        ``transcripts`` (one entry per transcript, the first row's when several have it)."""
        merged: dict[str, set[str]] = {}
        transcripts: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            for name, values in json.loads(row.annotation).items():
                if name == "transcripts":
                    for entry in values:
                        transcripts.setdefault(str(entry.get("feature")), entry)
                else:
                    merged.setdefault(name, set()).update(values)
        document: dict[str, Any] = {name: sorted(values) for name, values in merged.items()}
        if transcripts:
            document["transcripts"] = [transcripts[f] for f in sorted(transcripts)]
        return document


def group_alleles(rows: Iterable[Any]) -> list[Allele]:
    """Rows (ordered by position) grouped per allele, in order."""
    alleles: dict[AlleleKey, Allele] = {}
    for row in rows:
        key = AlleleKey(row.assembly, row.chrom, int(row.start), row.ref, row.alt)
        allele = alleles.get(key)
        if allele is None:
            allele = alleles[key] = Allele(key)
        allele.rows.append(row)
    return list(alleles.values())


# variant ids -> their carrier bits
BitSource = Callable[[Collection[int]], dict[int, AlleleBits]]
# (dataset, assembly, chrom, positions) -> per position, the bits a gVCF gap holds there
GapSource = Callable[[str, str, str, Collection[int]], dict[int, BitMap]]


class Counter:
    """Counts alleles within scopes; each allele's carrier bits are read once
    (:meth:`prefetch` reads many alleles' in few statements)."""

    def __init__(self, scopes: Scopes, bits: BitSource, gaps: GapSource) -> None:
        self._scopes = scopes
        self._read = bits
        self._read_gaps = gaps
        self._bits: dict[int, AlleleBits] = {}
        self._gaps: dict[tuple[str, str, str, int], BitMap] = {}

    def prefetch(self, rows: Iterable[Any]) -> None:
        """Read the carrier bits of ``rows`` not read yet."""
        rows = list(rows)
        wanted = {int(row.id) for row in rows} - self._bits.keys()
        if wanted:
            found = self._read(wanted)
            for variant_id in wanted:
                self._bits[variant_id] = found.get(variant_id, _NO_BITS)
        places: dict[tuple[str, str, str], set[int]] = {}
        for row in rows:
            place = (row.dataset_id, row.assembly, row.chrom)
            if place in self._scopes.gapped and (*place, int(row.start)) not in self._gaps:
                places.setdefault(place, set()).add(int(row.start))
        for place, positions in places.items():
            held = self._read_gaps(*place, positions)
            for position in positions:
                self._gaps[(*place, position)] = held.get(position, _NOBODY)

    def counts(self, allele: Allele, scope: BitMap) -> AlleleCounts:
        total = NO_COUNTS
        for row in allele.rows:
            bits = self._bits.get(int(row.id))
            if bits is None:
                self.prefetch([row])
                bits = self._bits[int(row.id)]
            place = (row.dataset_id, row.assembly, row.chrom)
            total = total + self._count_at(place, int(row.start), scope, bits)
        return total

    def _count_at(
        self, place: tuple[str, str, str], start: int, scope: BitMap, bits: AlleleBits
    ) -> AlleleCounts:
        """Counts of ``bits`` at 0-based ``start`` of ``place`` (dataset, assembly, sequence):
        whose files cover it, whose gaps leave it out, how many copies each carries there."""
        uncalled = None
        if place in self._scopes.gapped:
            if (*place, start) not in self._gaps:
                self._gaps[(*place, start)] = self._read_gaps(*place, [start]).get(start, _NOBODY)
            uncalled = self._gaps[(*place, start)]
        assembly = known_assemblies().get(place[1])
        return count_allele(
            scope,
            bits,
            present=self._scopes.present_at(place, start),
            sparse=self._scopes.sparse,
            uncalled=uncalled,
            copies=self._scopes.sexes.at(assembly, place[2], start + 1),
        )

    def called_at(
        self, place: tuple[str, str, str], start: int, scope: BitMap, site: list[Any]
    ) -> int:
        """Chromosomes of ``scope`` called at 0-based ``start`` of ``place`` (dataset,
        assembly, sequence) for an allele the dataset does not hold there: the allele number
        its record would have. ``site`` are the rows of the other alleles starting there:
        their no-calls and one-allele calls are the site's (one VCF record, or records of the
        same samples). Whose file does not cover the position, whose gVCF or BED leaves it
        out, and who is counted only where a file holds the allele are not called."""
        if site:
            self.prefetch(site)
        here = AlleleBits()
        for row in site:  # a call there is a call of the site (ours is its reference)
            bits = self._bits[int(row.id)]
            here.no_call |= bits.no_call
            here.half_call |= bits.half_call
            here.ref_called |= bits.recorded
        here.ref_called -= here.no_call
        return self._count_at(place, start, scope, here).allele_number

    def carried(self, allele: Allele, scope: BitMap) -> int:
        """How many bits of ``scope`` carry the allele as their files wrote it: whether the
        dataset holds it (what the stored carrier counts say), whatever ploidy makes of a
        call (an XX individual's call on Y counts nowhere: decision record 0023)."""
        if any(int(row.id) not in self._bits for row in allele.rows):
            self.prefetch(allele.rows)
        found = 0
        for row in allele.rows:
            bits = self._bits[int(row.id)]
            found += bits.one_copy.intersection_cardinality(scope)
            found += bits.two_copies.intersection_cardinality(scope)
        return found


_NO_BITS = AlleleBits()
_NOBODY = BitMap()


def _vrs_variation(key: AlleleKey, end: int) -> dict[str, Any]:
    assembly = known_assemblies().get(key.assembly)
    accession = assembly.accession(key.chrom) if assembly else None
    sequence_id = f"refseq:{accession}" if accession else f"{key.assembly}:{key.chrom}"
    ref, alt, start = key.ref, key.alt, key.start
    symbolic = alt.startswith("<") or "[" in alt or "]" in alt
    if not symbolic:  # VRS alleles are fully trimmed: drop shared suffix, then prefix
        while len(ref) and len(alt) and ref[-1] == alt[-1]:
            ref, alt = ref[:-1], alt[:-1]
        while len(ref) and len(alt) and ref[0] == alt[0]:
            ref, alt, start = ref[1:], alt[1:], start + 1
        end = start + len(ref)
    location = {
        "type": "SequenceLocation",
        "sequence_id": sequence_id,
        "interval": {
            "type": "SequenceInterval",
            "start": {"type": "Number", "value": start},
            "end": {"type": "Number", "value": end},
        },
    }
    if symbolic:
        kind = variant_type(key.ref, key.alt)
        if kind in _COPY_CHANGE:  # VRS 1.3 CopyNumberChange: loss or gain of the interval
            return {
                "type": "CopyNumberChange",
                "subject": location,
                "copy_change": _COPY_CHANGE[kind],
            }
        return {  # Beacon LegacyVariation: the bases are unknown ("N": any)
            "location": location,
            "referenceBases": "N",
            "alternateBases": "N",
            "variantType": kind.removeprefix("SV:"),
        }
    return {
        "type": "Allele",
        "location": location,
        "state": {"type": "LiteralSequenceExpression", "sequence": alt},
    }


def population_frequency(name: str, counts: AlleleCounts, policy: CountPolicy) -> dict[str, Any]:
    """One ``PopulationFrequency``: frequency plus allele count/number and homozygous,
    heterozygous and hemizygous counts (node extensions the GDI allele-frequency network reads),
    small counts reported by ``policy`` (decision records 0017, 0018).

    The allele number counts called chromosomes, not carriers, and is always exact. A small
    allele count is an upper bound of at most the allele number; a small homozygous count one
    of at most half the allele count shown. The frequency is computed from the count shown, so
    it is then an upper bound too (rounded up). The heterozygous count is carriers minus
    homozygotes: exact when the allele and homozygous counts are; an upper bound (at most the
    allele count shown) when the allele count is one; and when only the homozygous count is a
    bound, ``AC - 2 * hom shown``, a **lower bound**, because an exact heterozygous count next
    to an exact allele count would give the homozygotes away. The hemizygous count (XY
    individuals carrying the allele on X outside the PARs or on Y, decision record 0023) is
    reported like the homozygous one: a small one is an upper bound of at most the allele count
    shown, and the heterozygous count next to it a lower bound.
    ``countPrecision``/``countAdjustedTo`` give the least precise field; ``upperBounds`` and
    ``lowerBounds`` name every field that is a bound."""
    number = counts.allele_number
    _check_consistent(name, counts)
    count = policy.report(counts.allele_count, cap=number)
    # at most half the allele count shown (or the true one, when rounding took the count down)
    most = max(count.value, counts.allele_count)
    homozygous = policy.report(counts.homozygous, cap=most // 2)
    hemizygous = policy.report(counts.hemizygous, cap=most)
    heterozygous, het_lower = _heterozygous(counts, policy, count, homozygous, hemizygous)
    hom_lower = False
    if _small(heterozygous, counts, policy):  # exact AC and homozygotes would give it away
        heterozygous = policy.report(counts.heterozygous, cap=count.value)
        homozygous = _homozygous_at_least(count.value - hemizygous.value, heterozygous)
        hom_lower = True
    frequency = count.value / number if number else 0.0
    item: dict[str, Any] = {
        "population": name,
        "alleleFrequency": _ceil(frequency) if count.is_bound else round(frequency, 8),
        "alleleCount": count.value,
        "alleleNumber": number,
        "alleleCountHomozygous": homozygous.value,
        "alleleCountHeterozygous": heterozygous.value,
        "alleleCountHemizygous": hemizygous.value,
    }
    least = worst(count, homozygous, heterozygous, hemizygous)
    if least.precision != "exact":
        item.update(least.fields())
    bounds = [
        field
        for field, reported in (
            ("alleleCount", count),
            ("alleleFrequency", count),
            ("alleleCountHomozygous", homozygous),
            ("alleleCountHeterozygous", heterozygous),
            ("alleleCountHemizygous", hemizygous),
        )
        if reported.is_bound
        and not (het_lower and field == "alleleCountHeterozygous")
        and not (hom_lower and field == "alleleCountHomozygous")
    ]
    if bounds:
        item["upperBounds"] = bounds
    if het_lower:
        item["lowerBounds"] = ["alleleCountHeterozygous"]
    if hom_lower:
        item["lowerBounds"] = ["alleleCountHomozygous"]
    return item


def _small(heterozygous: Reported, counts: AlleleCounts, policy: CountPolicy) -> bool:
    """Whether an exact heterozygous count is small (1 to threshold - 1): shown next to an
    exact allele count and an exact homozygous count it cannot be bounded, as it is their
    difference (AC 12 with 5 homozygotes gives 2 heterozygotes)."""
    het = counts.heterozygous
    return heterozygous.precision == "exact" and 0 < het < policy.threshold


def _homozygous_at_least(allele_count: int, heterozygous: Reported) -> Reported:
    """The homozygous count as a **lower bound** beside a bounded heterozygous count: with
    at most ``heterozygous.value`` heterozygotes, at least half of the rest of the allele count
    (less the hemizygous carriers', exact here) is homozygous (decision record 0022,
    consequences)."""
    lower = max(0, math.ceil((allele_count - heterozygous.value) / 2))
    return Reported(lower, "imprecise", heterozygous.adjusted_to)


def _heterozygous(
    counts: AlleleCounts,
    policy: CountPolicy,
    count: Reported,
    homozygous: Reported,
    hemizygous: Reported,
) -> tuple[Reported, bool]:
    """The heterozygous count as shown, and whether it is a lower bound (decision record
    0017, consequences): exact next to exact counts; under a bounded or rounded allele count,
    reported by ``policy`` like any count (at most the allele count); next to an exact allele
    count and a bounded homozygous (or hemizygous) count, the allele count minus what those
    bounds allow, which is at most the truth."""
    het = counts.heterozygous
    if count.precision != "exact":
        return policy.report(het, cap=max(count.value, counts.allele_count)), False
    if homozygous.precision == "exact" and hemizygous.precision == "exact":
        return Reported(het, "exact"), False
    lower = counts.allele_count - 2 * homozygous.value - hemizygous.value
    adjusted = homozygous.adjusted_to or hemizygous.adjusted_to
    return Reported(max(lower, 0), "imprecise", adjusted), True


def _check_consistent(name: str, counts: AlleleCounts) -> None:
    """0 <= homozygous, hemizygous, heterozygous; 2 * homozygous + hemizygous <= allele
    count <= allele number, and heterozygous + 2 * homozygous + hemizygous = allele count:
    counts that break these are a bug, answered as an error rather than as a wrong number."""
    ac, an, hom = counts.allele_count, counts.allele_number, counts.homozygous
    hemi, het = counts.hemizygous, counts.heterozygous
    if not (min(hom, hemi, het) >= 0 and 2 * hom + hemi <= ac <= an and het + 2 * hom + hemi == ac):
        raise InconsistentCountsError(
            f"{name}: inconsistent counts AC {ac}, AN {an}, homozygous {hom},"
            f" hemizygous {hemi}, carriers {counts.carriers}"
        )


class InconsistentCountsError(RuntimeError):
    """Counts that no genotypes could produce: never answered as numbers."""


def _ceil(frequency: float) -> float:
    """``frequency`` rounded up to 8 decimals: an upper bound stays one."""
    return math.ceil(frequency * 1e8) / 1e8


def g_variant_document(allele: Allele, frequencies: list[dict[str, Any]]) -> dict[str, Any]:
    """The g_variant record; ``frequencies`` are ``FrequencyInPopulations`` items."""
    key = allele.key
    note = allele.annotation()
    document: dict[str, Any] = {
        "variantInternalId": key.variant_id(),
        "variation": _vrs_variation(key, allele.end),
    }
    parts = {
        "identifiers": _identifiers(note),
        "molecularAttributes": _molecular_attributes(note),
        "frequencyInPopulations": frequencies,
        "info": _info(note),
    }
    document.update({name: part for name, part in parts.items() if part})
    return document


def _identifiers(note: dict[str, Any]) -> dict[str, Any]:
    identifiers: dict[str, Any] = {}
    if note.get("genomicHgvs"):
        identifiers["genomicHGVSId"] = note["genomicHgvs"][0]
    hgvs = note.get("hgvs", [])
    transcripts = [h for h in hgvs if ":c." in h or ":n." in h]
    proteins = [h for h in hgvs if "p." in h and h not in transcripts]
    if transcripts:
        identifiers["transcriptHGVSIds"] = transcripts
    if proteins:
        identifiers["proteinHGVSIds"] = proteins
    if note.get("xrefs"):  # dbSNP ids (Beacon v2 ``variantAlternativeIds``, as its examples)
        identifiers["variantAlternativeIds"] = [_xref(x) for x in note["xrefs"]]
    return identifiers


def _molecular_attributes(note: dict[str, Any]) -> dict[str, Any]:
    effect_ids = molecular_effect_ids()
    molecular: dict[str, Any] = {}
    if note.get("genes"):
        molecular["geneIds"] = note["genes"]
    effects = [
        {"id": effect_ids[e], "label": e.replace("_", " ")}
        for e in note.get("effects", [])
        if e in effect_ids
    ]
    if effects:
        molecular["molecularEffects"] = effects
    if note.get("aminoacidChanges"):
        molecular["aminoacidChanges"] = note["aminoacidChanges"]
    return molecular


def _info(note: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {}
    if note.get("filters"):  # the FILTER values of the counted records (VCF 4.3 §1.6.1)
        info["filterStatus"] = note["filters"]
    if note.get("transcripts"):  # per transcript: gene, effects, HGVS c./p. (node extension)
        info["transcriptConsequences"] = note["transcripts"]
    return info


def _xref(curie: str) -> dict[str, str]:
    """A ``variantAlternativeIds`` entry (Beacon v2 ``externalReference``) of a dbSNP CURIE."""
    accession = curie.partition(":")[2]
    return {
        "id": curie,
        "reference": f"https://www.ncbi.nlm.nih.gov/snp/{accession}",
        "notes": "dbSNP id",
    }
