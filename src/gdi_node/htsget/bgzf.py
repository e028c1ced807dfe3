"""BGZF, the blocked gzip of BAM, BCF and bgzipped VCF (SAM/BAM spec §4.1).

A BGZF file is a series of gzip members ("blocks") of at most 64 KiB each, whose gzip header
carries the ``BC`` extra subfield holding BSIZE (total block size minus 1). A position in the
uncompressed stream is a *virtual offset* ``coffset << 16 | uoffset`` (§4.1.1): the file offset
of a block and an offset within its uncompressed data. The file ends with an empty block, the
28-byte EOF marker (§4.1.2). This module reads blocks at given offsets, re-compresses small
payloads into blocks, reads the headers BGZF streams start with (BAM §4.2, BCF2 VCF 4.3 §6.2,
bgzipped VCF text VCF 4.3 §1) to find where each ends, and walks record lengths in a block.
"""

from __future__ import annotations

import bisect
import re
import struct
import zlib
from typing import BinaryIO

from gdi_node.errors import DomainError
from gdi_node.storage.formats import FileFormat

EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
MAX_PAYLOAD = 0xFF00  # what htslib puts in one block, so that even stored deflate fits 64 KiB
_HEADER = struct.Struct("<4BIBBH")  # ID1 ID2 CM FLG, MTIME, XFL, OS, XLEN
_MAGIC = (31, 139, 8, 4)
_CONTIG = re.compile(r"^##contig=<(.*)>\s*$", re.MULTILINE)
_FIELD = re.compile(r'([^=,\s]+)=("(?:[^"\\]|\\.)*"|[^,]*)')


class MalformedFileError(DomainError):
    """A stored file or index does not follow its format: the operator must replace it."""


def make_voffset(coffset: int, uoffset: int) -> int:
    """The virtual offset of ``uoffset`` within the block at ``coffset`` (§4.1.1)."""
    return coffset << 16 | uoffset


def split_voffset(voffset: int) -> tuple[int, int]:
    """(coffset, uoffset) of a virtual offset (§4.1.1)."""
    return voffset >> 16, voffset & 0xFFFF


def _bsize(head: bytes, extra: bytes, coffset: int) -> int:
    """BSIZE + 1 from the ``BC`` subfield (SI1=66, SI2=67, SLEN=2) of a block's header."""
    *magic, _mtime, _xfl, _os, _xlen = _HEADER.unpack(head)
    if tuple(magic) != _MAGIC:
        raise MalformedFileError(f"no BGZF block at byte {coffset}")
    pos = 0
    while pos + 4 <= len(extra):
        si1, si2, slen = struct.unpack_from("<BBH", extra, pos)
        if (si1, si2, slen) == (66, 67, 2):
            return int(struct.unpack_from("<H", extra, pos + 4)[0]) + 1
        pos += 4 + slen
    raise MalformedFileError(f"the gzip member at byte {coffset} has no BGZF BSIZE field")


def block_size(handle: BinaryIO, coffset: int) -> int:
    """The total size in bytes of the BGZF block at ``coffset`` (BSIZE + 1)."""
    handle.seek(coffset)
    head = handle.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise MalformedFileError(f"no BGZF block at byte {coffset}: the file ends there")
    return _bsize(head, handle.read(_HEADER.unpack(head)[-1]), coffset)


def read_block(handle: BinaryIO, coffset: int) -> tuple[bytes, int]:
    """The decompressed data of the block at ``coffset`` and the block's size in the file."""
    size = block_size(handle, coffset)
    handle.seek(coffset)
    raw = handle.read(size)
    if len(raw) < size:
        raise MalformedFileError(f"the BGZF block at byte {coffset} is truncated")
    xlen = _HEADER.unpack_from(raw)[-1]
    try:
        data = zlib.decompress(raw[_HEADER.size + xlen : size - 8], -15)
    except zlib.error as exc:
        raise MalformedFileError(f"the BGZF block at byte {coffset} is corrupt: {exc}") from None
    crc, isize = struct.unpack_from("<II", raw, size - 8)
    if isize != len(data) or crc != zlib.crc32(data):
        raise MalformedFileError(f"the BGZF block at byte {coffset} fails its CRC32/ISIZE check")
    return data, size


def compress(payload: bytes) -> bytes:
    """``payload`` as BGZF blocks of at most MAX_PAYLOAD input bytes each (b"" for b"")."""
    out = bytearray()
    for start in range(0, len(payload), MAX_PAYLOAD):
        piece = payload[start : start + MAX_PAYLOAD]
        deflater = zlib.compressobj(1, zlib.DEFLATED, -15)  # small inline parts: speed first
        body = deflater.compress(piece) + deflater.flush()
        size = _HEADER.size + 6 + len(body) + 8
        out += _HEADER.pack(*_MAGIC, 0, 0, 255, 6) + struct.pack("<BBHH", 66, 67, 2, size - 1)
        out += body + struct.pack("<II", zlib.crc32(piece), len(piece))
    return bytes(out)


def ends_with_eof(handle: BinaryIO, size: int) -> bool:
    """Whether the file's last 28 bytes are the BGZF EOF marker (§4.1.2)."""
    if size < len(EOF_BLOCK):
        return False
    handle.seek(size - len(EOF_BLOCK))
    return handle.read(len(EOF_BLOCK)) == EOF_BLOCK


class Stream:
    """The decompressed stream of a BGZF file from its start, decompressed on demand.

    ``data`` holds every byte read so far; :meth:`voffset` maps a position in it back to a
    virtual offset, normalised so that the end of a block is the start of the next one.
    """

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._size = size
        self._next = 0  # file offset of the next block to read
        self._ustarts: list[int] = []  # stream position where each non-empty block begins
        self._coffsets: list[int] = []
        self.data = bytearray()

    def fill(self, want: int) -> bool:
        """Decompress blocks until ``want`` bytes are available; False if the file ends first."""
        while len(self.data) < want:
            if self._next >= self._size:
                return False
            block, size = read_block(self._handle, self._next)
            if block:
                self._ustarts.append(len(self.data))
                self._coffsets.append(self._next)
                self.data += block
            self._next += size
        return True

    def need(self, want: int, what: str) -> None:
        """Like :meth:`fill` but a file that ends first is malformed."""
        if not self.fill(want):
            raise MalformedFileError(f"the file ends inside its {what}")

    def voffset(self, pos: int) -> int:
        """The virtual offset of stream position ``pos`` (at most ``len(self.data)``)."""
        if pos >= len(self.data):
            return make_voffset(self._next, 0)
        index = bisect.bisect_right(self._ustarts, pos) - 1
        return make_voffset(self._coffsets[index], pos - self._ustarts[index])

    def block_head(self, pos: int) -> bytes:
        """The bytes of the block holding ``pos`` that come before ``pos``."""
        if pos >= len(self.data):
            return b""
        index = bisect.bisect_right(self._ustarts, pos) - 1
        return bytes(self.data[self._ustarts[index] : pos])


def bam_header(stream: Stream) -> tuple[int, list[tuple[str, int]]]:
    """SAM/BAM spec §4.2: magic, l_text, text, n_ref, then l_name, name, l_ref per reference."""
    stream.need(8, "BAM header")
    if stream.data[:4] != b"BAM\x01":
        raise MalformedFileError("the BGZF stream does not start with BAM\\1")
    pos = 8 + struct.unpack_from("<i", stream.data, 4)[0]
    stream.need(pos + 4, "BAM header")
    (n_ref,) = struct.unpack_from("<i", stream.data, pos)
    pos += 4
    refs = []
    for _ in range(n_ref):
        stream.need(pos + 4, "BAM reference list")
        (l_name,) = struct.unpack_from("<i", stream.data, pos)
        stream.need(pos + 8 + l_name, "BAM reference list")
        name = bytes(stream.data[pos + 4 : pos + 3 + l_name]).decode(errors="replace")
        refs.append((name, struct.unpack_from("<i", stream.data, pos + 4 + l_name)[0]))
        pos += 8 + l_name
    return pos, refs


def bcf_header(stream: Stream) -> tuple[int, str]:
    """VCF 4.3 §6.2: ``BCF\\2\\x02`` (or minor 1), uint32 l_text, NUL-terminated header text."""
    stream.need(9, "BCF header")
    if stream.data[:4] != b"BCF\x02":
        raise MalformedFileError("the BGZF stream does not start with BCF\\2")
    end = 9 + struct.unpack_from("<I", stream.data, 5)[0]
    stream.need(end, "BCF header")
    return end, bytes(stream.data[9:end]).rstrip(b"\x00").decode(errors="replace")


def vcf_header(stream: Stream) -> tuple[int, str]:
    """VCF 4.3 §1: the header is every line starting with '#', up to and including #CHROM."""
    pos = 0
    while stream.fill(pos + 1) and stream.data[pos] == ord("#"):
        newline = stream.data.find(b"\n", pos)
        while newline < 0 and stream.fill(len(stream.data) + 1):
            newline = stream.data.find(b"\n", pos)
        pos = len(stream.data) if newline < 0 else newline + 1
    return pos, bytes(stream.data[:pos]).decode(errors="replace")


def contigs(text: str) -> list[tuple[str, int | None, int | None]]:
    """(ID, length, IDX) of every ##contig line (VCF 4.3 §1.4.7, BCF §6.2.1)."""
    out = []
    for inner in _CONTIG.findall(text):
        fields = {k: v.strip('"') for k, v in _FIELD.findall(inner)}
        length, idx = fields.get("length", ""), fields.get("IDX", "")
        out.append(
            (
                fields.get("ID", ""),
                int(length) if length.isdigit() else None,
                int(idx) if idx.isdigit() else None,
            )
        )
    return out


def bcf_dictionary(contigs: list[tuple[str, int | None, int | None]]) -> tuple[str, ...]:
    """BCF contig dictionary (VCF 4.3 §6.2.1): header order, unless IDX says otherwise."""
    by_idx = {(i if idx is None else idx): name for i, (name, _, idx) in enumerate(contigs)}
    return tuple(by_idx.get(i, "") for i in range(max(by_idx, default=-1) + 1))


def ends_on_record(fmt: FileFormat, data: bytes, pos: int) -> bool:
    """Whether the records starting at ``pos`` end exactly at the end of ``data``."""
    if fmt is FileFormat.VCF:
        return data.endswith(b"\n")
    # BAM: uint32 block_size (§4.2); BCF: uint32 l_shared, l_indiv (VCF 4.3 §6.3)
    lengths = struct.Struct("<I" if fmt is FileFormat.BAM else "<II")
    while pos + lengths.size <= len(data):
        pos += lengths.size + sum(lengths.unpack_from(data, pos))
    return pos == len(data)


def starts_on_record(fmt: FileFormat, data: bytes, pos: int) -> bool:
    """Whether ``data`` (a whole block) begins with a record and records chain to ``pos``.

    htslib's BAM writer starts blocks at record boundaries; then a chunk may start at the block
    start (bringing a few extra records, which htsget allows) instead of re-compressing the
    block's tail. Record sizes are sanity-checked, so a block starting mid-record is not taken
    for one starting on a record except by an implausible coincidence.
    """
    if fmt is FileFormat.VCF or pos == 0:
        return pos == 0
    lengths = struct.Struct("<I" if fmt is FileFormat.BAM else "<II")
    smallest = 32 if fmt is FileFormat.BAM else 24  # fixed part of a BAM / BCF record
    at = 0
    while at < pos:
        if at + lengths.size > len(data):
            return False
        size = sum(lengths.unpack_from(data, at))
        if size < smallest:
            return False
        at += lengths.size + size
    return at == pos


class Blocks:
    """The blocks of one file read while planning, and how stream stretches become pieces.

    A piece is a (start, end) byte range of the file or bytes of re-compressed BGZF blocks.
    """

    def __init__(self, handle: BinaryIO, fmt: FileFormat) -> None:
        self._handle, self._fmt = handle, fmt
        self._cache: dict[int, tuple[bytes, int]] = {}

    def _get(self, coffset: int) -> tuple[bytes, int]:
        if coffset not in self._cache:
            self._cache[coffset] = read_block(self._handle, coffset)
        return self._cache[coffset]

    def expand(self, end: int) -> int:
        """``end``, or the next block's start when the block's records end with the block."""
        coffset, uoffset = split_voffset(end)
        if uoffset == 0:
            return end
        data, size = self._get(coffset)
        if uoffset >= len(data) or ends_on_record(self._fmt, data, uoffset):
            return make_voffset(coffset + size, 0)
        return end

    def contract(self, beg: int, floor: int) -> int:
        """``beg``, or its block's start when the block starts on a record (not before
        ``floor``'s block, which may hold header bytes)."""
        coffset, uoffset = split_voffset(beg)
        if uoffset == 0 or coffset <= split_voffset(floor)[0]:
            return beg
        if starts_on_record(self._fmt, self._get(coffset)[0], uoffset):
            return make_voffset(coffset, 0)
        return beg

    def pieces(self, beg: int, end: int) -> list[tuple[int, int] | bytes]:
        """The stream between the record boundaries ``beg`` and ``end`` as pieces.

        Whole blocks become a byte range; a partial first or last block is re-compressed, since
        its other bytes may belong to a record straddling the neighbouring block.
        """
        (bc, bu), (ec, eu) = split_voffset(beg), split_voffset(end)
        if bc == ec:
            return [compress(self._get(bc)[0][bu:eu])]
        pieces: list[tuple[int, int] | bytes] = []
        start = bc
        if bu:
            data, size = self._get(bc)
            pieces.append(compress(data[bu:]))
            start = bc + size
        pieces.append((start, ec))
        if eu:
            pieces.append(compress(self._get(ec)[0][:eu]))
        return pieces
