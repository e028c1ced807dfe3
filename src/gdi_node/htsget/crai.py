"""CRAM 3.x layout and its CRAI index (CRAM 3.1 spec §6 file definition, §7 containers, §8 blocks,
§9 EOF container, §12 indexing).

A CRAM file is a 26-byte file definition, a header container holding the SAM header, data
containers and a fixed 38-byte EOF container. Containers are independent, so the header
container, any subset of data containers in file order and the EOF container form a valid file.
A CRAI is gzipped text with one line per slice: reference id (-1 for unplaced unmapped reads),
1-based alignment start, alignment span, container byte offset, slice offset within the
container's data and slice size.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pysam

from gdi_node.htsget.bgzf import MalformedFileError

EOF_CONTAINER = bytes.fromhex(
    "0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b"
)
_DEFINITION = 26  # "CRAM", major, minor, 20-byte file id
_READ_AHEAD = 4096  # plenty for a container header and its landmarks
_DECOMPRESS: dict[int, Callable[[bytes], bytes]] = {
    0: bytes,
    1: gzip.decompress,
    2: bz2.decompress,
    3: lzma.decompress,
}


class UnsupportedCramError(MalformedFileError):
    """A CRAM version whose containers this module does not parse."""


@dataclass(frozen=True)
class CraiEntry:
    seq_id: int
    start: int  # 1-based alignment start
    span: int
    container: int  # byte offset of the container in the file


@dataclass(frozen=True)
class CramLayout:
    """Where the header and data containers end, and the SAM header text when readable."""

    header_end: int  # offset of the first data container
    data_end: int  # offset of the EOF container (the file size if it has none)
    sam_header: str | None  # None if the header block uses a codec not read here


def _itf8(buf: bytes, pos: int) -> tuple[int, int]:
    """An ITF8 integer (§2.3) at ``pos`` and the position after it."""
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    if first < 0xC0:
        return (first & 0x3F) << 8 | buf[pos + 1], pos + 2
    if first < 0xE0:
        return (first & 0x1F) << 16 | buf[pos + 1] << 8 | buf[pos + 2], pos + 3
    if first < 0xF0:
        value = (first & 0x0F) << 24 | int.from_bytes(buf[pos + 1 : pos + 4], "big")
        return value, pos + 4
    value = (first & 0x0F) << 28 | int.from_bytes(buf[pos + 1 : pos + 4], "big") << 4
    value |= buf[pos + 4] & 0x0F
    return value - (1 << 32) if value >= 1 << 31 else value, pos + 5


def _ltf8_end(buf: bytes, pos: int) -> int:
    """The position after the LTF8 integer (§2.3) at ``pos``: one byte plus one per leading 1."""
    return pos + 9 - (buf[pos] ^ 0xFF).bit_length()


def _container_header(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(content length, position after the header, n_blocks) of a CRAM 3 container header."""
    (length,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    for _ in range(4):  # reference id, alignment start, span, number of records
        _, pos = _itf8(buf, pos)
    pos = _ltf8_end(buf, _ltf8_end(buf, pos))  # record counter, bases
    n_blocks, pos = _itf8(buf, pos)
    n_landmarks, pos = _itf8(buf, pos)
    for _ in range(n_landmarks):
        _, pos = _itf8(buf, pos)
    return length, pos + 4, n_blocks  # + CRC32


def read_layout(handle: BinaryIO, size: int) -> CramLayout:
    """Parse the file definition and header container; locate the EOF container."""
    handle.seek(0)
    head = handle.read(_DEFINITION + _READ_AHEAD)
    if not head.startswith(b"CRAM") or len(head) < _DEFINITION + 4:
        raise MalformedFileError("not a CRAM file")
    if head[4] != 3:
        raise UnsupportedCramError(
            f"CRAM {head[4]}.{head[5]} cannot be sliced by region here; only CRAM 3.x can"
            " (convert with samtools view -C --output-fmt-option version=3.0)"
        )
    try:
        length, body, _ = _container_header(head, _DEFINITION)
    except (IndexError, struct.error):
        raise MalformedFileError("the CRAM header container is truncated") from None
    header_end = body + length
    data_end = size
    if size - len(EOF_CONTAINER) >= header_end:
        handle.seek(size - len(EOF_CONTAINER))
        if handle.read(len(EOF_CONTAINER)) == EOF_CONTAINER:
            data_end = size - len(EOF_CONTAINER)
    if header_end > data_end:
        raise MalformedFileError("the CRAM header container runs past the end of the file")
    handle.seek(body)
    return CramLayout(header_end, data_end, _sam_header(handle.read(length)))


def _sam_header(container: bytes) -> str | None:
    """The SAM text of the header container's first block: int32 length + text (§7.1)."""
    try:
        method, _content_type = container[0], container[1]
        _, pos = _itf8(container, 2)  # content id
        size, pos = _itf8(container, pos)
        _raw_size, pos = _itf8(container, pos)
        decompress = _DECOMPRESS.get(method)
        if decompress is None:
            return None
        data = decompress(container[pos : pos + size])
        (l_text,) = struct.unpack_from("<i", data)
        return data[4 : 4 + l_text].decode(errors="replace")
    except (IndexError, struct.error, OSError, EOFError, zlib.error, lzma.LZMAError):
        raise MalformedFileError("the CRAM header block cannot be read") from None


def references(path: Path, layout: CramLayout) -> dict[str, int]:
    """Reference name -> length from the @SQ lines, in order: the CRAI's reference ids."""
    if layout.sam_header is None:  # a header block codec read only by htslib (rANS, ...)
        with pysam.AlignmentFile(str(path), "rc", check_sq=False) as reader:
            return dict(zip(reader.references, reader.lengths, strict=True))
    refs = {}
    for line in layout.sam_header.splitlines():
        if line.startswith("@SQ\t"):
            tags = dict(f.split(":", 1) for f in line.split("\t")[1:] if ":" in f)
            refs[tags.get("SN", "")] = int(tags.get("LN", "0"))
    return refs


def parse_crai(raw: bytes) -> tuple[CraiEntry, ...]:
    """The entries of a CRAI file (gzipped, or plain text)."""
    try:
        text = gzip.decompress(raw) if raw.startswith(b"\x1f\x8b") else raw
        entries = []
        for line in text.decode().splitlines():
            if line.strip():
                seq_id, start, span, container, _slice, _size = (int(f) for f in line.split())
                entries.append(CraiEntry(seq_id, start, span, container))
    except (ValueError, OSError, EOFError, zlib.error):
        raise MalformedFileError("the CRAI index is not six integer columns per line") from None
    return tuple(entries)


def container_ends(entries: tuple[CraiEntry, ...], data_end: int) -> dict[int, int]:
    """Container offset -> end: the next container's offset, or the EOF container's."""
    offsets = sorted({e.container for e in entries})
    return {o: min(n, data_end) for o, n in zip(offsets, [*offsets[1:], data_end], strict=True)}


def select(
    entries: tuple[CraiEntry, ...], ends: dict[int, int], seq_id: int, beg: int, end: int
) -> list[tuple[int, int]]:
    """Byte ranges of the containers with a slice of ``seq_id`` overlapping 0-based [beg, end).

    ``seq_id`` -1 selects the slices of unplaced unmapped reads whatever the coordinates.
    """
    picked = set()
    for entry in entries:
        if entry.seq_id != seq_id:
            continue
        first = entry.start - 1  # 0-based
        if seq_id < 0 or (first < end and first + max(entry.span, 1) > beg):
            picked.add(entry.container)
    return [(o, ends[o]) for o in sorted(picked) if ends[o] > o]
