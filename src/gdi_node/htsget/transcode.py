"""Transcoding for clients that cannot read the stored format over htsget: a CRAM region
streamed as BAM and a BCF region streamed as VCF (igv.js reads only BAM and VCF over htsget).

pysam writes the output into a pipe from a worker thread while the response reads the other
end, so memory stays constant whatever the slice size. A client that goes away closes the pipe
and the writer stops at its next write.

pysam releases the GIL while it writes records, but not while it flushes its last blocks on
close: if the pipe were full then, the response (which needs the GIL to read) could never
drain it, and the whole worker would hang until uvicorn's health check killed it. So the pipe
is widened, and before closing the writer waits, without the GIL, until the reader has left
room for that flush (or has gone away).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import termios
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pysam

from gdi_node.errors import UnavailableError
from gdi_node.htsget.planner import Region
from gdi_node.storage.formats import FileFormat

_CHUNK = 256 * 1024
_PIPE_BYTES = 1 << 20  # Linux's default limit for an unprivileged pipe
# what htslib may still hold at close: a BGZF block (64 KiB) and its hFILE buffer, with margin
_CLOSE_ROOM = 256 * 1024


def _widened(write_fd: int) -> int:
    """Grow the pipe to ``_PIPE_BYTES`` if allowed; its capacity."""
    with contextlib.suppress(OSError):  # over the user's pipe allowance: keep the default
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    return fcntl.fcntl(write_fd, fcntl.F_GETPIPE_SZ)


def _queued(fd: int) -> int:
    """Bytes waiting in the pipe (Linux answers FIONREAD on either end)."""
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4), "little")


def room_waiter(write_fd: int, capacity: int) -> Callable[[], None]:
    """A function that returns once the pipe has ``_CLOSE_ROOM`` free (all of it if the pipe
    is smaller), or once its reader is gone; it sleeps between looks, so the GIL stays free."""
    limit = max(0, capacity - _CLOSE_ROOM)
    poller = select.poll()
    poller.register(write_fd, select.POLLOUT)

    def wait() -> None:
        while _queued(write_fd) > limit:
            if any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0)):
                return  # nobody reads any more: closing fails at once, it cannot block
            time.sleep(0.002)

    return wait


def _merged(regions: Sequence[Region]) -> list[Region]:
    """Regions sorted per reference with overlaps joined, so no record is written twice."""
    by_name: dict[str, list[Region]] = {}
    for region in regions:
        by_name.setdefault(region.reference_name, []).append(region)
    merged: list[Region] = []
    for name, group in by_name.items():
        spans = sorted((r.start or 0, r.end if r.end is not None else 1 << 62) for r in group)
        current = list(spans[0])
        for start, end in spans[1:]:
            if start <= current[1]:
                current[1] = max(current[1], end)
            else:
                merged.append(Region(name, current[0], current[1]))
                current = [start, end]
        merged.append(Region(name, current[0], current[1]))
    return merged


def _bounds(region: Region) -> tuple[int, int | None]:
    stop = region.end if region.end is not None and region.end < 1 << 62 else None
    return region.start or 0, stop


def _selected_reads(reader: Any, regions: Sequence[Region] | None) -> Iterator[Any]:
    if regions is None:
        yield from reader.fetch(until_eof=True)
        return
    for region in _merged(regions):
        if region.reference_name == "*":
            yield from reader.fetch(region="*")
        else:
            start, stop = _bounds(region)
            yield from reader.fetch(region.reference_name, start, stop)


def _selected_records(reader: Any, regions: Sequence[Region] | None) -> Iterator[Any]:
    if regions is None:
        yield from reader.fetch()
        return
    for region in _merged(regions):
        start, stop = _bounds(region)
        yield from reader.fetch(region.reference_name, start, stop)


def _write_reads(
    src: Path,
    index: Path,
    reference: Path | None,
    out: str,
    regions: Sequence[Region] | None,
    *,
    header_only: bool,
    before_close: Callable[[], None],
) -> None:
    ref = str(reference) if reference else None
    with (
        pysam.AlignmentFile(
            str(src), "rc", index_filename=str(index), reference_filename=ref
        ) as reader,
        pysam.AlignmentFile(out, "wb", template=reader) as writer,
    ):
        if not header_only:
            for read in _selected_reads(reader, regions):
                writer.write(read)
        before_close()


def _write_variants(
    src: Path,
    index: Path,
    out: str,
    regions: Sequence[Region] | None,
    *,
    header_only: bool,
    before_close: Callable[[], None],
) -> None:
    with (
        pysam.VariantFile(str(src), index_filename=str(index)) as reader,
        pysam.VariantFile(out, "wz", header=reader.header) as writer,
    ):
        if not header_only:
            for record in _selected_records(reader, regions):
                writer.write(record)
        before_close()


def transcoded(
    src: Path,
    index: Path,
    stored: FileFormat,
    *,
    header_only: bool,
    regions: Sequence[Region] | None,
    reference: Path | None,
) -> Iterator[bytes]:
    """Yield the slice re-encoded as BAM (from CRAM) or bgzipped VCF (from BCF)."""
    read_fd, write_fd = os.pipe()
    out = f"/proc/self/fd/{write_fd}"
    wait = room_waiter(write_fd, _widened(write_fd))
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            if stored is FileFormat.CRAM:
                _write_reads(
                    src, index, reference, out, regions, header_only=header_only, before_close=wait
                )
            else:
                _write_variants(
                    src, index, out, regions, header_only=header_only, before_close=wait
                )
        except (OSError, ValueError) as exc:  # includes a reader that went away (EPIPE)
            failure.append(exc)
        finally:
            os.close(write_fd)

    worker = threading.Thread(target=produce, name="htsget-transcode", daemon=True)
    worker.start()
    try:
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(_CHUNK):
                yield chunk
    finally:
        worker.join(timeout=30)
    if failure:
        raise failure[0]


def check_decodable(src: Path, index: Path, stored: FileFormat, reference: Path | None) -> None:
    """Decode the first record, so a ticket is refused up front (not mid-stream) when the file
    cannot be transcoded, e.g. a CRAM whose reference is neither embedded nor configured."""
    if stored is not FileFormat.CRAM:
        return
    ref = str(reference) if reference else None
    try:
        with pysam.AlignmentFile(
            str(src), "rc", index_filename=str(index), reference_filename=ref
        ) as reader:
            next(reader.fetch(until_eof=True), None)
    except (OSError, ValueError) as exc:
        raise UnavailableError(
            f"{src.name} cannot be decoded for transcoding to BAM ({exc}); the CRAM's reference"
            " must be embedded or configured as htsget.reference_fasta"
        ) from None
