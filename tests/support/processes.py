"""Helpers to run the real ``gdi-node`` command as a server process on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from gdi_node.config.settings import Settings

GDI_NODE = Path(sys.executable).with_name("gdi-node")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(path: Path, settings: Settings, port: int) -> Path:
    """``settings`` as a YAML file for ``gdi-node --config``, served on ``port``."""
    data = settings.model_dump(mode="json")
    data["server"]["port"] = port
    data["public_url"] = f"http://127.0.0.1:{port}"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@dataclass
class RunningNode:
    process: subprocess.Popen[str]
    base_url: str
    log_path: Path

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def wait_until_ready(base_url: str, process: subprocess.Popen[Any], timeout: float = 60) -> float:
    """Poll /ready; return the seconds it took. Fail early if the process died."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"node exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{base_url}/ready", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{base_url} not ready within {timeout} s")


@contextmanager
def running_node(
    args: Sequence[str],
    port: int,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 60,
) -> Iterator[RunningNode]:
    """Start ``gdi-node ARGS`` with stdout+stderr in a log file; stop it afterwards."""
    log_path = workdir / f"node-{port}.log"
    log = log_path.open("w", encoding="utf-8")
    full_env = {**os.environ, **(env or {})}
    process = subprocess.Popen(
        [str(GDI_NODE), *args],
        cwd=workdir,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    node = RunningNode(process, f"http://127.0.0.1:{port}", log_path)
    try:
        try:
            wait_until_ready(node.base_url, process, ready_timeout)
        except (RuntimeError, TimeoutError) as exc:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"{exc}; its log ends:\n{tail}") from None
        yield node
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def drs_resolve(
    *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``gdi-node drs resolve ARGS`` as a user runs it (output captured, never raising)."""
    return subprocess.run(
        [str(GDI_NODE), "drs", "resolve", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
