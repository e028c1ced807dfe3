"""The built wheel installs into a fresh virtualenv and runs, finding its shipped documents."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, wait_until_ready

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
# the installed wheel's code, never the checkout's that a PYTHONPATH (a worktree) may name
INSTALLED = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("gdi_node-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("venv") / "env"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(target)], check=True, timeout=120)
    subprocess.run(
        [
            str(target / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    return target


def test_wheel_carries_openapi_service_homes_migrations_and_igv_js(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    browser = REPO / "src" / "gdi_node" / "browser"
    shipped = [f"gdi_node/browser/static/{p.name}" for p in (browser / "static").iterdir()]
    for required in (
        *shipped,  # the frequency browser's scripts and styles: no CDN
        "gdi_node/browser/messages.json",
        "gdi_node/_shipped/openapi/browser.yaml",
        "gdi_node/node/static/igv.min.js",
        "gdi_node/node/static/igv.LICENSE",
        "gdi_node/_shipped/openapi/node.yaml",
        "gdi_node/_shipped/beacon/README.md",
        "gdi_node/_shipped/htsget/README.md",
        "gdi_node/_shipped/drs/README.md",
        "gdi_node/_shipped/catalogue/shapes/gdi-metadata-3f1085d/SHA256SUMS",
        "gdi_node/db/migrations/env.py",
        "gdi_node/db/migrations/versions/0001_object_catalogue.py",
    ):
        assert required in names
    assert not any(
        name.startswith(("tests/", "beacon/", "htsget/", "drs/", "catalogue/")) for name in names
    )


def test_installed_wheel_runs_help_and_finds_its_documents(venv: Path) -> None:
    help_text = subprocess.run(
        [str(venv / "bin" / "gdi-node"), "--help"],
        check=True,
        capture_output=True,
        text=True,
        env=INSTALLED,
    ).stdout
    assert "serve" in help_text
    located = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from gdi_node.resources import shipped_dir as d; print(d('openapi'))",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=venv,
        env=INSTALLED,
    ).stdout.strip()
    assert "site-packages/gdi_node/_shipped/openapi" in located


def test_installed_wheel_serves(venv: Path, tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(venv / "bin" / "gdi-node"), "serve", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env=INSTALLED,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base, process)
        assert httpx.get(f"{base}/service-info").json()["name"] == "gdi-node"
        assert httpx.get(f"{base}/openapi.json").json()["openapi"].startswith("3.")
        assert httpx.get(f"{base}/static/igv.min.js").status_code == 200
        assert (tmp_path / "gdi-node-data" / "gdi-node.sqlite3").is_file()
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
