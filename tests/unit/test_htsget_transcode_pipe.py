"""Transcoding streams through a pipe whose writer must never block while holding the GIL:
pysam flushes its last blocks on close without releasing it, so before closing the writer
waits, with the GIL free, for room in the pipe (gdi_node.htsget.transcode)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pysam

from gdi_node.htsget.planner import Region
from gdi_node.htsget.transcode import _CLOSE_ROOM, _widened, room_waiter, transcoded
from gdi_node.storage.formats import FileFormat
from tests.conftest import shared_path


def _fill(write_fd: int) -> None:
    os.set_blocking(write_fd, False)
    try:
        while True:
            os.write(write_fd, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(write_fd, True)


def test_the_writer_waits_for_room_before_closing_without_holding_the_gil() -> None:
    read_fd, write_fd = os.pipe()
    try:
        capacity = _widened(write_fd)
        assert capacity >= 2 * _CLOSE_ROOM  # widened from Linux's 64 KiB default
        _fill(write_fd)
        done = threading.Event()

        def wait_for_room() -> None:
            room_waiter(write_fd, capacity)()
            done.set()

        waiting = threading.Thread(target=wait_for_room)
        waiting.start()
        ticks = 0
        until = time.monotonic() + 0.3
        while time.monotonic() < until:  # this thread runs: the waiter leaves the GIL free
            ticks += 1
            time.sleep(0.001)
        assert ticks > 50
        assert not done.is_set()
        os.read(read_fd, _CLOSE_ROOM + 8192)
        assert done.wait(5)
        waiting.join()
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_the_writer_stops_waiting_when_the_reader_is_gone() -> None:
    read_fd, write_fd = os.pipe()
    capacity = _widened(write_fd)
    _fill(write_fd)
    os.close(read_fd)
    started = time.monotonic()
    room_waiter(write_fd, capacity)()
    assert time.monotonic() - started < 1
    os.close(write_fd)


_CLOSE_ON_A_FULL_PIPE = """
import os, sys, threading, time
from gdi_node.htsget.planner import Region
from gdi_node.htsget.transcode import _widened, _write_reads, room_waiter
from tests.unit.test_htsget_transcode_pipe import _fill

cram = sys.argv[1]
read_fd, write_fd = os.pipe()
wait = room_waiter(write_fd, _widened(write_fd))
filled = threading.Event()

def fill_then_wait():  # the pipe is full at the moment the writer would close
    _fill(write_fd)
    filled.set()
    wait()

writer = threading.Thread(target=_write_reads, args=(
    cram, cram + ".crai", None, f"/proc/self/fd/{write_fd}", [Region("11", 5000000, 5000500)],
), kwargs={"header_only": False, "before_close": fill_then_wait})
writer.start()
assert filled.wait(10)
ticks, until = 0, time.monotonic() + 0.5
while time.monotonic() < until:
    ticks += 1
    time.sleep(0.001)
os.set_blocking(read_fd, False)
while writer.is_alive():
    try:
        os.read(read_fd, 1 << 20)
    except BlockingIOError:
        time.sleep(0.001)
print(ticks)
"""


def test_closing_the_writer_on_a_full_pipe_does_not_hang_the_process() -> None:
    """Run apart: without the wait, pysam's close would block holding the GIL and freeze the
    whole process (this is what killed uvicorn workers mid-stream)."""
    cram = shared_path("data", "htsget", "cram", "htsnexus_test_NA12878.cram")
    done = subprocess.run(
        [sys.executable, "-c", _CLOSE_ON_A_FULL_PIPE, str(cram)],
        capture_output=True, text=True, timeout=60, check=False,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 100


def test_a_slowly_read_transcoded_slice_keeps_the_process_responsive(tmp_path: Path) -> None:
    cram = shared_path("data", "htsget", "cram", "htsnexus_test_NA12878.cram")
    index = cram.with_name(cram.name + ".crai")
    stream = transcoded(
        cram, index, FileFormat.CRAM, header_only=False,
        regions=[Region("11", 4_900_000, 5_100_000)], reference=None,
    )  # fmt: skip
    chunks = [next(stream)]
    ticks = 0
    until = time.monotonic() + 1.0  # the writer fills the pipe and finishes meanwhile
    while time.monotonic() < until:
        ticks += 1
        time.sleep(0.001)
    assert ticks > 200, "another thread was kept from running"
    chunks += list(stream)
    out = tmp_path / "slice.bam"
    out.write_bytes(b"".join(chunks))
    with (
        pysam.AlignmentFile(str(out), "rb") as got,
        pysam.AlignmentFile(str(cram), "rc", index_filename=str(index)) as expected,
    ):
        wanted = [r.query_name for r in expected.fetch("11", 4_900_000, 5_100_000)]
        assert [r.query_name for r in got.fetch(until_eof=True)] == wanted
    assert wanted
