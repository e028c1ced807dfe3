"""Plan htsget 1.3 responses as byte ranges of the original file (htsget.md §Response data blocks).

A plan is an ordered list of parts, ranges of the stored file or small inline bytes (sent as
``data:`` URIs), whose concatenation is a valid file: the header, records covering the requested
regions (a superset is allowed, §Query parameters) and the EOF marker. Records are never decoded.

* BAM, BCF and bgzipped VCF (BGZF, SAM/BAM spec §4.1): the index (BAI/CSI/TBI) gives chunks of
  virtual offsets. A chunk that starts inside a block gets that block's tail re-compressed as
  inline bytes, because the block's first bytes may be the end of a record that straddles the
  previous block (bgzip'd VCFs do this all the time; htslib writers avoid it). A chunk that ends
  inside a block takes the whole block when its records end exactly at the block's end (checked
  by walking record lengths, or VCF newlines), else the block's head as inline bytes. A whole
  file is one range.
* CRAM (CRAM 3.1 §6-§9, §12): the header container, the containers whose CRAI slices overlap the
  regions, and the EOF container; containers are self-contained.

Class ``header`` plans are the header followed by the EOF marker, so they too are valid files.
Regions: ``end`` is clamped to the contig; ``start`` at or past a length the header declares is
``InvalidRange`` (a VCF contig without a length reaches as far as its index can address);
``start == end`` is an empty range (header + EOF); several regions are merged in file order.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gdi_node.errors import InvalidInputError, InvalidRangeError, NotFoundError
from gdi_node.htsget import bgzf, binning, crai
from gdi_node.storage.formats import FileFormat

__all__ = [
    "FileRange",
    "IndexCache",
    "InlineBytes",
    "InvalidRangeError",
    "Part",
    "Plan",
    "Region",
    "UnknownReferenceError",
]

UNPLACED = "*"
_INDEX_KINDS = {
    FileFormat.BAM: ("BAI", "CSI"),
    FileFormat.VCF: ("TBI", "CSI"),
    FileFormat.BCF: ("CSI",),
}


@dataclass(frozen=True)
class Region:
    reference_name: str  # "*" = unplaced unmapped reads (reads only)
    start: int | None = None  # 0-based inclusive; None = from the contig start
    end: int | None = None  # 0-based exclusive; None = to the contig end


@dataclass(frozen=True)
class FileRange:
    """Bytes [start, end) of the original file."""

    start: int
    end: int


@dataclass(frozen=True)
class InlineBytes:
    """Bytes the client gets as a ``data:`` URI (an EOF marker, a re-compressed block part)."""

    data: bytes


Part = FileRange | InlineBytes


@dataclass(frozen=True)
class Plan:
    header: tuple[Part, ...]  # the header and the EOF marker: the answer to class=header
    body: tuple[Part, ...]  # header + data + EOF, merged; the concatenation is a valid file


class UnknownReferenceError(NotFoundError):
    """The reference name is neither in the file's header nor in its index."""


@dataclass(frozen=True)
class _Facts:
    """What plans need from a file and its index, parsed once per (size, mtime) of both."""

    fmt: FileFormat
    size: int
    ids: dict[str, int]  # reference name -> its number in the index (CRAI: @SQ order)
    lengths: dict[str, int]  # every reference -> length (the index's reach when undeclared)
    declared: frozenset[str]  # references whose length the header states
    header_end: int  # BGZF: virtual offset after the header; CRAM: first data container
    eof_at: int  # where the trailing EOF marker starts (the size if there is none)
    header: tuple[Part, ...]
    index: binning.BinningIndex | None = None
    unplaced_from: int = 0  # BAM: virtual offset after the last placed record
    crai: dict[int, tuple[crai.CraiEntry, ...]] = field(default_factory=dict)  # by seq_id
    container_ends: dict[int, int] = field(default_factory=dict)


class IndexCache:
    """Parsed indexes and header facts per file, thread-safe, least recently used first out.

    An entry is reused while the data file and its index keep their (size, mtime_ns).
    """

    def __init__(self, max_files: int = 256) -> None:
        self._max = max_files
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str, FileFormat], tuple[tuple[int, ...], _Facts]]
        self._entries = OrderedDict()
        self.parses = 0  # how many times a file and its index were parsed

    def references(self, path: Path, index_path: Path, fmt: FileFormat) -> dict[str, int]:
        """Reference name -> length, header order first (then index-only names)."""
        return dict(self._facts(path, index_path, fmt).lengths)

    def plan(
        self,
        path: Path,
        index_path: Path,
        fmt: FileFormat,
        regions: Sequence[Region] | None,
        *,
        header_only: bool = False,
    ) -> Plan:
        """The parts serving ``regions`` (None: the whole file) or, with header_only, the header."""
        facts = self._facts(path, index_path, fmt)
        if header_only:
            if regions is not None:
                raise InvalidInputError("class=header takes no regions (htsget 1.3 §class)")
            return Plan(facts.header, facts.header)
        if regions is None:
            return Plan(facts.header, (FileRange(0, facts.size),))
        wanted = [w for w in (_resolve(facts, r) for r in regions) if w is not None]
        if fmt is FileFormat.CRAM:
            return Plan(facts.header, _cram_body(facts, wanted))
        return Plan(facts.header, _bgzf_body(path, facts, wanted))

    def _facts(self, path: Path, index_path: Path, fmt: FileFormat) -> _Facts:
        key = (str(path), str(index_path), fmt)
        stamp = (*_stamp(path), *_stamp(index_path))
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == stamp:
                self._entries.move_to_end(key)
                return hit[1]
        facts = (
            _load_cram(path, index_path, stamp[0])
            if fmt is FileFormat.CRAM
            else (_load_bgzf(path, index_path, fmt, stamp[0]))
        )
        with self._lock:
            self.parses += 1
            self._entries[key] = (stamp, facts)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return facts


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise NotFoundError(f"{path} does not exist") from None
    return st.st_size, st.st_mtime_ns


def _resolve(facts: _Facts, region: Region) -> tuple[int, int, int] | None:
    """(index reference number or -1 for "*", beg, end), or None when nothing can match."""
    name, start, end = region.reference_name, region.start, region.end
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise InvalidInputError(f"start and end must not be negative (got {start}, {end})")
    if name == UNPLACED:
        if facts.fmt not in (FileFormat.BAM, FileFormat.CRAM):
            raise InvalidInputError("referenceName '*' (unplaced unmapped reads) is for reads")
        if start is not None or end is not None:
            raise InvalidInputError("referenceName '*' takes no start or end")
        return -1, 0, 0
    if start is not None and end is not None and start > end:
        raise InvalidRangeError(f"start {start} is greater than end {end}")
    if name not in facts.lengths:
        raise UnknownReferenceError(f"reference {name!r} is not in the file")
    length = facts.lengths[name]
    if start is not None and start >= length and name in facts.declared:
        raise InvalidRangeError(f"start {start} is beyond {name!r}, which is {length} long")
    beg, stop = start or 0, min(length if end is None else end, length)
    if facts.index is not None:
        stop = min(stop, facts.index.max_position)
    if beg >= stop or name not in facts.ids:
        return None
    return facts.ids[name], beg, stop


def _with_eof(parts: list[Part], eof_at: int, size: int, marker: bytes) -> tuple[Part, ...]:
    """``parts`` joined up, ending with the file's own EOF marker if a range reaches it."""
    joined = _joined(parts)
    last = joined[-1] if joined else None
    if eof_at < size and isinstance(last, FileRange) and last.end == eof_at:
        joined[-1] = FileRange(last.start, size)
    else:
        joined.append(InlineBytes(marker))
    return tuple(_joined(joined))


# Two file ranges this close are sent as one: both end on record (or container) boundaries, so
# the bytes between them are whole records of the original file, and one URL fewer costs a
# client more than these extra bytes do.
COALESCE_GAP = 256 * 1024


def _joined(parts: list[Part]) -> list[Part]:
    """Empty parts dropped; ranges that touch or nearly touch, and neighbouring inline bytes,
    merged."""
    out: list[Part] = []
    for part in parts:
        prev = out[-1] if out else None
        if isinstance(part, FileRange):
            if part.end <= part.start:
                continue
            if isinstance(prev, FileRange) and prev.end <= part.start <= prev.end + COALESCE_GAP:
                out[-1] = FileRange(prev.start, part.end)
                continue
        else:
            if not part.data:
                continue
            if isinstance(prev, InlineBytes):
                out[-1] = InlineBytes(prev.data + part.data)
                continue
        out.append(part)
    return out


# --- BAM, VCF, BCF ---------------------------------------------------------------------------


def _load_bgzf(path: Path, index_path: Path, fmt: FileFormat, size: int) -> _Facts:
    index = binning.parse_index(index_path.read_bytes())
    if index.kind not in _INDEX_KINDS[fmt]:
        raise bgzf.MalformedFileError(f"{index_path} is a {index.kind}, not an index for {fmt}")
    with path.open("rb") as handle:
        stream = bgzf.Stream(handle, size)
        if fmt is FileFormat.BAM:
            end, refs = bgzf.bam_header(stream)
            names = tuple(name for name, _ in refs)
            declared = dict(refs)
        else:
            end, text = (
                bgzf.bcf_header(stream) if fmt is FileFormat.BCF else bgzf.vcf_header(stream)
            )
            contigs = bgzf.contigs(text)
            declared = {name: length for name, length, _ in contigs if length is not None}
            names = (
                bgzf.bcf_dictionary(contigs)
                if fmt is FileFormat.BCF
                else (index.names or tuple(name for name, _, _ in contigs))
            )
        header_end, tail = stream.voffset(end), stream.block_head(end)
        eof_at = size - len(bgzf.EOF_BLOCK) if bgzf.ends_with_eof(handle, size) else size
    lengths = {n: declared.get(n, index.max_position) for n in (*declared, *names) if n}
    coffset = bgzf.split_voffset(header_end)[0]
    header = _with_eof(
        [FileRange(0, coffset), InlineBytes(bgzf.compress(tail))], eof_at, size, bgzf.EOF_BLOCK
    )
    unplaced = max(index.last_placed_end(), header_end) if fmt is FileFormat.BAM else 0
    ids = {name: i for i, name in enumerate(names) if name}
    return _Facts(
        fmt, size, ids, lengths, frozenset(declared), header_end, eof_at, header, index, unplaced
    )


def _bgzf_body(path: Path, facts: _Facts, wanted: list[tuple[int, int, int]]) -> tuple[Part, ...]:
    assert facts.index is not None
    segments = [(0, facts.header_end)]
    for ref, beg, end in wanted:
        if ref < 0:
            segments.append((facts.unplaced_from, bgzf.make_voffset(facts.eof_at, 0)))
        else:
            segments.extend(facts.index.query(ref, beg, end))
    with path.open("rb") as handle:
        blocks = bgzf.Blocks(handle, facts.fmt)
        merged = binning.merge(
            [(blocks.contract(b, facts.header_end), blocks.expand(e)) for b, e in segments if e > b]
        )
        pieces = [piece for beg, end in merged for piece in blocks.pieces(beg, end)]
    parts: list[Part] = [InlineBytes(p) if isinstance(p, bytes) else FileRange(*p) for p in pieces]
    return _with_eof(parts, facts.eof_at, facts.size, bgzf.EOF_BLOCK)


# --- CRAM ------------------------------------------------------------------------------------


def _load_cram(path: Path, index_path: Path, size: int) -> _Facts:
    entries = crai.parse_crai(index_path.read_bytes())
    with path.open("rb") as handle:
        layout = crai.read_layout(handle, size)
    refs = crai.references(path, layout)
    header = _with_eof([FileRange(0, layout.header_end)], layout.data_end, size, crai.EOF_CONTAINER)
    ids = {name: i for i, name in enumerate(refs)}
    facts = (ids, refs, frozenset(refs), layout.header_end, layout.data_end, header)
    ends = crai.container_ends(entries, layout.data_end)
    by_seq: dict[int, list[crai.CraiEntry]] = {}
    for entry in entries:
        by_seq.setdefault(entry.seq_id, []).append(entry)
    grouped = {seq_id: tuple(group) for seq_id, group in by_seq.items()}
    return _Facts(FileFormat.CRAM, size, *facts, crai=grouped, container_ends=ends)


def _cram_body(facts: _Facts, wanted: list[tuple[int, int, int]]) -> tuple[Part, ...]:
    ranges = [(0, facts.header_end)]
    for ref, beg, end in wanted:
        ranges.extend(crai.select(facts.crai.get(ref, ()), facts.container_ends, ref, beg, end))
    parts: list[Part] = [FileRange(b, e) for b, e in binning.merge(ranges)]
    return _with_eof(parts, facts.eof_at, facts.size, crai.EOF_CONTAINER)
