"""Secrets the node keeps in files (URL-signing key, audit pseudonymisation key, issuer key).

A secret is created once, mode 0600, written to a private temporary file and hard-linked into
place: a concurrent reader never sees a partial file, and of two racing processes (uvicorn
workers) the first one wins and the other uses its secret.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

SECRET_BYTES = 32


def write_once(path: Path, make_content: Callable[[], bytes]) -> bytes:
    """The content of ``path``, created from ``make_content()`` if the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(descriptor, 0o600)
            os.write(descriptor, make_content())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        finally:
            temporary.unlink()
    return path.read_bytes()


def load_or_create_secret(path: Path) -> bytes:
    """A random 32-byte secret kept at ``path``."""
    key = write_once(path, lambda: secrets.token_bytes(SECRET_BYTES))
    if len(key) != SECRET_BYTES:
        raise ValueError(f"{path} must hold exactly {SECRET_BYTES} bytes, found {len(key)}")
    return key
