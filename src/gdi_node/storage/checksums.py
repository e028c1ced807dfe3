"""Size, SHA-256 and MD5 of a file in one streaming pass.

These are the DRS 1.5 ``Checksum`` types ``sha-256`` and ``md5`` (hex digests). Files in the
national store are tens to hundreds of gigabytes, so the file is read once, in fixed-size chunks
into one reused buffer: memory use does not depend on the file size.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gdi_node.errors import ConflictError, InvalidInputError, NotFoundError


@dataclass(frozen=True)
class FileDigest:
    """What was read: byte count and hex digests."""

    size: int
    sha256: str
    md5: str


def digest_file(
    path: Path,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = 4 * 1024 * 1024,
) -> FileDigest:
    """Hash ``path``, calling ``progress(n)`` with the bytes read after every chunk.

    Raises NotFoundError for a missing file, InvalidInputError for a directory or an unreadable
    file, and ConflictError when the file's size or mtime changed while it was being read.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)  # an integrity checksum (DRS), not a security one
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    size = 0
    try:
        with path.open("rb", buffering=0) as handle:
            before = os.fstat(handle.fileno())
            while n := handle.readinto(buffer):
                chunk = view[:n]
                sha256.update(chunk)
                md5.update(chunk)
                size += n
                if progress is not None:
                    progress(n)
            after = os.fstat(handle.fileno())
    except FileNotFoundError:
        raise NotFoundError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{path} is a directory, not a file") from None
    except PermissionError:
        raise InvalidInputError(f"{path} cannot be read: permission denied") from None
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or (
        size != after.st_size
    ):
        raise ConflictError(f"{path} changed while its checksums were computed; try again")
    return FileDigest(size=size, sha256=sha256.hexdigest(), md5=md5.hexdigest())
