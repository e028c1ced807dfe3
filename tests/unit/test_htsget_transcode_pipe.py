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
        for _ in range(50):  # this thread runs while the waiter waits: it leaves the GIL free
            time.sleep(0.001)
        assert not done.is_set()  # still waiting: nothing was read
        os.read(read_fd, _CLOSE_ROOM + 8192)
        assert done.wait(10)  # a guard against hanging, not a speed check
        waiting.join()
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_the_writer_stops_waiting_when_the_reader_is_gone() -> None:
    read_fd, write_fd = os.pipe()
    capacity = _widened(write_fd)
    _fill(write_fd)
    os.close(read_fd)
    waiting = threading.Thread(target=room_waiter(write_fd, capacity), daemon=True)
    waiting.start()
    waiting.join(timeout=10)  # a guard against hanging: a waiter that missed it would wait forever
    assert not waiting.is_alive(), "still waiting for a reader that is gone"
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
for _ in range(100):  # frozen for good if the writer blocked in close holding the GIL
    time.sleep(0.001)
assert writer.is_alive()  # still waiting for room: nothing was read
os.set_blocking(read_fd, False)
while writer.is_alive():
    try:
        os.read(read_fd, 1 << 20)
    except BlockingIOError:
        time.sleep(0.001)
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
    assert done.returncode == 0, done.stderr  # the timeout is a guard against the freeze


def test_a_slowly_read_transcoded_slice_keeps_the_process_responsive(tmp_path: Path) -> None:
    cram = shared_path("data", "htsget", "cram", "htsnexus_test_NA12878.cram")
    index = cram.with_name(cram.name + ".crai")
    stream = transcoded(
        cram, index, FileFormat.CRAM, header_only=False,
        regions=[Region("11", 4_900_000, 5_100_000)], reference=None,
    )  # fmt: skip
    chunks = [next(stream)]
    # Unread for a while, so the writer fills the pipe and waits to close it; this thread keeps
    # waking meanwhile (a writer blocked holding the GIL would freeze it here for good).
    for _ in range(500):
        time.sleep(0.002)
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
