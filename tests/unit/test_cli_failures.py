"""What a person sees when a command cannot do its work (issue 17, points 5, 6 and 8): one line
saying what failed, where the setting came from and what to do, never a traceback; a command
that opened a new, empty database says so; ``--config`` works after the subcommand too."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gdi_node.cli import main


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, list(args), env={"GDI_NODE_CONFIG": "", **(env or {})}, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


COMMANDS_ON_THE_DATABASE = [
    ("serve", "--port", "1"),  # a port nobody listens on: the database is checked first
    ("db", "upgrade"),
    ("objects",),
    ("consent", "list"),
    ("audit", "verify"),
    ("audit", "export"),
    ("verify",),
]


@pytest.mark.parametrize("command", COMMANDS_ON_THE_DATABASE, ids=" ".join)
def test_an_unreachable_postgresql_is_one_line_naming_the_variable_that_set_it(
    command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"postgresql://gdi:secret@127.0.0.1:{closed_port()}/nowhere"
    code, _, stderr = run(*command, env={"GDI_NODE_DATABASE_URL": url})
    assert code == 1
    line = one_line(stderr)
    assert line.startswith("Error: cannot reach the database postgresql://gdi:***@127.0.0.1:")
    assert "(database_url, from GDI_NODE_DATABASE_URL)" in line
    assert "secret" not in line
    assert line.endswith("start the database server or correct database_url")


def test_an_unreachable_database_named_in_a_settings_file_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "node.yaml"
    url = f"postgresql://gdi@127.0.0.1:{closed_port()}/nowhere"
    config.write_text(yaml.safe_dump({"database_url": url}), encoding="utf-8")
    code, _, stderr = run("objects", "--config", str(config))
    assert code == 1
    assert f"(database_url, in {config})" in one_line(stderr)


@pytest.mark.parametrize("command", [("serve", "--port", "1"), ("objects",), ("db", "upgrade")])
def test_a_data_dir_that_cannot_be_created_is_one_line_naming_where_it_was_set(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, stderr = run(*command, env={"GDI_NODE_DATA_DIR": str(blocker / "data")})
    assert code == 1
    line = one_line(stderr)
    assert line.startswith(f"Error: cannot create or write the data directory {blocker / 'data'}")
    assert "(data_dir, from GDI_NODE_DATA_DIR)" in line
    assert "GDI_NODE_DATA_DIR" in line.rsplit(";", 1)[1]


def test_the_demo_names_a_folder_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, stderr = run("demo", "--no-serve", "--data-dir", str(blocker / "demo"))
    assert code == 1
    assert "choose a writable folder with --data-dir" in one_line(stderr)


def test_a_command_on_a_new_empty_database_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, stderr = run("objects")
    assert (code, out) == (0, "")
    line = one_line(stderr)
    assert "is a new, empty database (data_dir, the default: no --config given" in line
    assert "--config FILE or GDI_NODE_CONFIG" in line
    assert run("objects") == (0, "", "")


def test_config_is_accepted_after_the_subcommand_too(tmp_path: Path) -> None:
    config = tmp_path / "node.yaml"
    config.write_text(yaml.safe_dump({"data_dir": "data"}), encoding="utf-8")
    before = run("--config", str(config), "db", "upgrade")
    after = run("db", "upgrade", "--config", str(config))
    assert before[0] == after[0] == 0
    assert before[1] == after[1]
    assert str((tmp_path / "data").resolve()) in after[1]
    listed = run("objects", "-c", str(config))
    assert listed == (0, "", "")  # the database the file names, already set up: no note


def test_a_port_in_use_is_one_line_naming_the_port_and_the_option(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = {"GDI_NODE_DATA_DIR": str(tmp_path)}
        code, _, stderr = run("serve", "--port", str(port), env=data)
        demo = run("demo", "--port", str(port), "--data-dir", str(tmp_path / "demo"))
    assert code == 1
    line = one_line(stderr)
    assert f"port {port} on 127.0.0.1 is already in use (server.port, --port)" in line
    assert line.endswith("choose another port with --port N")
    assert demo[0] == 1
    assert f"port {port} on 127.0.0.1 is already in use (server.port, --port)" in one_line(demo[2])
    assert not (tmp_path / "demo").exists(), "refused before anything is generated"
