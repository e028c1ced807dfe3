"""Assembly ids and reference sequence names (Beacon v2 ``assemblyId``, ``referenceName``).

Sequences are stored under one canonical name per assembly (``22``, ``X``, ``MT``). Requests
and VCF contigs may use ``chr22``, ``22``, the RefSeq accession ``NC_000022.11`` or
``refseq:NC_000022.11``; all resolve to the canonical name. Reference data:
``beacon/reference/assemblies.yaml``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import yaml

from gdi_node.resources import shipped_dir


@dataclass(frozen=True)
class Assembly:
    id: str
    aliases: tuple[str, ...]
    accessions: dict[str, str]  # canonical name -> RefSeq accession
    _names: dict[str, str]  # any spelling, upper-cased -> canonical name
    lengths: dict[str, int] = field(default_factory=dict)  # canonical name -> length
    # canonical name -> pseudo-autosomal regions, 1-based inclusive (X and Y)
    par: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)

    def canonical(self, name: str) -> str | None:
        """The canonical sequence name for ``name``, or None if this assembly has no such one."""
        return self._names.get(name.upper())

    def accession(self, canonical: str) -> str | None:
        return self.accessions.get(canonical)

    def in_par(self, canonical: str, position: int) -> bool:
        """Whether ``position`` (1-based) of ``canonical`` lies in a pseudo-autosomal region."""
        return any(first <= position <= last for first, last in self.par.get(canonical, ()))


class Assemblies:
    def __init__(self, assemblies: list[Assembly]) -> None:
        self._by_name = {}
        for assembly in assemblies:
            for name in (assembly.id, *assembly.aliases):
                self._by_name[name.upper()] = assembly
        self.default = assemblies[0]

    def get(self, assembly_id: str) -> Assembly | None:
        return self._by_name.get(assembly_id.upper())

    @property
    def ids(self) -> list[str]:
        return sorted({a.id for a in self._by_name.values()})


def _spellings(canonical: str, accession: str) -> dict[str, str]:
    names = {canonical, f"chr{canonical}", accession, f"refseq:{accession}"}
    if canonical == "MT":
        names |= {"M", "chrM"}
    return {name.upper(): canonical for name in names}


@functools.lru_cache(maxsize=1)
def known_assemblies() -> Assemblies:
    """The assemblies of ``beacon/reference/assemblies.yaml`` (GRCh38 first: the default)."""
    path = shipped_dir("beacon") / "reference" / "assemblies.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assemblies = []
    for assembly_id, entry in data["assemblies"].items():
        accessions = {str(name): str(acc) for name, acc in entry["sequences"].items()}
        names: dict[str, str] = {}
        for canonical, accession in accessions.items():
            names.update(_spellings(canonical, accession))
        lengths = {str(name): int(length) for name, length in entry.get("lengths", {}).items()}
        par = {
            str(name): tuple((int(first), int(last)) for first, last in regions)
            for name, regions in entry.get("par", {}).items()
        }
        aliases = tuple(entry.get("aliases", ()))
        assemblies.append(Assembly(assembly_id, aliases, accessions, names, lengths, par))
    return Assemblies(assemblies)
