"""``gdi-node ingest vcf`` on a folder of per-genome files (issue #18): several files at once,
every file its own load, one progress bar, a failed file alone, and a batch run again (after an
interruption) loading only what is missing. Per-genome files are cut from the shared 1000
Genomes chr22 VCF; counts are compared with the same files loaded one by one and with
``bcftools merge``. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gdi_node.beacon.ingest.folder_load import genomes_in
from gdi_node.beacon.queries.scopes import ScopeCache
from gdi_node.bootstrap import migrated_sessions
from gdi_node.cli import main
from gdi_node.config.settings import Settings
from gdi_node.db.models import BeaconCallset
from gdi_node.errors import InvalidInputError
from tests.support.per_genome import bcftools_counts, node_counts, per_genome_files, samples_of
from tests.unit import test_beacon_cli

GDI_NODE = Path(sys.executable).with_name("gdi-node")
# the node on each database and its config file, as the other command-line tests have them
settings = test_beacon_cli.settings
config_file = test_beacon_cli.config_file


@pytest.fixture(scope="module")
def genomes(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Eight per-genome VCFs in one folder (and nothing else there but their indexes)."""
    folder = tmp_path_factory.mktemp("genomes")
    files = per_genome_files(samples_of()[:8], folder)
    for leftover in folder.glob("joint.vcf.gz*"):
        leftover.unlink()
    return files


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["-c", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def states(settings: Settings) -> dict[str, str]:
    with migrated_sessions(settings) as sessions, sessions() as session:
        rows = session.execute(select(BeaconCallset.name, BeaconCallset.state)).all()
    return {row.name: row.state for row in rows}


def test_a_folder_loads_every_genome_side_by_side_and_counts_as_one_by_one(
    config_file: Path, settings: Settings, genomes: list[Path]
) -> None:
    folder = genomes[0].parent
    code, out, err = run(config_file, "ingest", "vcf", str(folder), "--dataset", "DS-PUBLIC",
                         "--jobs", "2", "--absent", "ref")  # fmt: skip
    assert code == 0, out + err
    assert "8 files into DS-PUBLIC: 8 loaded" in out
    assert "loading 8 files into DS-PUBLIC (2 at a time)" in err  # the progress bar's label
    for path in genomes:  # the same files one at a time, into another dataset
        code, out, err = run(
            config_file, "ingest", "vcf", str(path), "--dataset", "DS-CONTROLLED", "--absent", "ref"
        )
        assert code == 0, out + err
    expected = bcftools_counts(genomes, absent_is_reference=True)
    with migrated_sessions(settings) as sessions:
        batch = node_counts(sessions, "DS-PUBLIC", expected)
        one_by_one = node_counts(sessions, "DS-CONTROLLED", expected)
    assert len(expected) > 100
    assert batch == one_by_one
    wrong = {k: (batch[k], v) for k, v in expected.items() if batch[k] != v}
    assert not wrong, list(wrong.items())[:5]


def test_running_a_batch_again_loads_only_what_is_missing(
    config_file: Path, settings: Settings, genomes: list[Path]
) -> None:
    sheet = genomes[0].parent / "samples.tsv"  # one sheet for the whole batch
    sheet.write_text(
        "sample\tsex\tcountry\n"
        + "".join(f"{p.name.split('.')[0]}\t{'FM'[n % 2]}\tDK\n" for n, p in enumerate(genomes)),
        encoding="utf-8",
    )
    first = [str(p) for p in genomes[:3]]
    code, out, err = run(config_file, "ingest", "vcf", *first, "--dataset", "DS-PUBLIC",
                         "--absent", "nocall", "--samples", str(sheet))  # fmt: skip
    assert code == 0, out + err
    assert "3 files into DS-PUBLIC: 3 loaded" in out
    manifest = genomes[0].parent / "rerun.tsv"  # the statement may come per file
    manifest.write_text(
        "path\tabsent\n" + "".join(f"{p.name}\tnocall\n" for p in genomes), encoding="utf-8"
    )
    again = ["--manifest", str(manifest), "--jobs", "1", "--samples", str(sheet)]
    code, out, err = run(config_file, "ingest", "vcf", *again, "--dataset", "DS-PUBLIC")
    manifest.unlink()
    sheet.unlink()
    assert code == 0, out + err
    assert "8 files into DS-PUBLIC: 5 loaded, 3 unchanged" in out
    assert set(states(settings).values()) == {"ready"}
    with migrated_sessions(settings) as sessions, sessions() as session:
        sexes = {name for kind, name in ScopeCache().get(session).groups if kind == "sex"}
    assert sexes == {"F", "M"}


def test_a_bad_file_fails_alone_in_one_line_and_the_others_load(
    config_file: Path, settings: Settings, genomes: list[Path], tmp_path: Path
) -> None:
    bad = tmp_path / "broken.vcf.gz"
    bad.write_bytes(b"this is not a VCF\n")
    code, out, err = run(config_file, "ingest", "vcf", str(genomes[0]), str(bad), str(genomes[1]),
                         "--dataset", "DS-PUBLIC", "--absent", "ref")  # fmt: skip
    assert code == 1
    assert "3 files into DS-PUBLIC: 2 loaded, 1 failed" in out
    (line,) = [x for x in err.splitlines() if x.startswith("failed ")]
    assert str(bad) in line
    assert "Traceback" not in err
    assert sorted(states(settings)) == sorted([genomes[0].name, genomes[1].name])


def test_a_manifest_lists_files_relative_to_it_and_its_errors_are_one_line(
    genomes: list[Path], tmp_path: Path
) -> None:
    folder = genomes[0].parent
    manifest = folder / "manifest.tsv"
    manifest.write_text(f"path\n{genomes[1].name}\n{genomes[0].name}\n", encoding="utf-8")
    found = genomes_in([], manifest, option_columns=("absent",))
    assert [g.path.name for g in found] == [genomes[1].name, genomes[0].name]
    # a file named twice (folder and manifest) is loaded once, in the order first named
    assert len(genomes_in([folder], manifest, option_columns=("absent",))) == len(genomes)
    bad = tmp_path / "bad.tsv"
    for text, message in [
        ("file\nx.vcf.gz\n", "needs a 'path' column"),
        ("path\tquality\nx.vcf.gz\thigh\n", "unknown column 'quality'"),
        ("path\nnowhere.vcf.gz\n", "bad.tsv:2: nowhere.vcf.gz: no such file"),
    ]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(InvalidInputError, match=message):
            genomes_in([], bad, option_columns=("absent",))
    with pytest.raises(InvalidInputError, match="no such file or folder"):
        genomes_in([tmp_path / "missing"])
    with pytest.raises(InvalidInputError, match="nothing to load"):
        genomes_in([])
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a genome", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="no VCF/BCF files"):
        genomes_in([empty])


@pytest.mark.slow  # a real batch interrupted with Ctrl-C, then run again (10-30 s)
def test_an_interrupted_batch_leaves_no_genome_half_loaded_and_a_rerun_completes_it(
    config_file: Path, settings: Settings, genomes: list[Path]
) -> None:
    command = [str(GDI_NODE), "-c", str(config_file), "ingest", "vcf", str(genomes[0].parent),
               "--dataset", "DS-PUBLIC", "--jobs", "2", "--group", "2",
               "--absent", "ref"]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: Ctrl-C reaches it and its workers
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 120
    while "ready" not in states(settings).values():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    after_interrupt = states(settings)
    if process.returncode == 0:  # the batch finished before the interruption reached it
        assert "8 loaded" in out
    else:
        assert process.returncode == 130, out + err
        assert "interrupted:" in err
        assert "Run the same command again" in err
        assert "Traceback" not in err
    assert set(after_interrupt.values()) <= {"ready"}  # discarded loads leave no callset
    code, out, err = run(config_file, *command[3:])
    assert code == 0, out + err
    assert len(states(settings)) == 8
    assert set(states(settings).values()) == {"ready"}
    expected = bcftools_counts(genomes, absent_is_reference=True)
    with migrated_sessions(settings) as sessions:
        assert node_counts(sessions, "DS-PUBLIC", expected) == expected


@pytest.mark.slow  # two real batches at once (10-30 s)
def test_two_batches_at_once_on_one_database_both_load_and_count_once(
    config_file: Path, settings: Settings, genomes: list[Path], tmp_path: Path
) -> None:
    halves = [tmp_path / "first", tmp_path / "second"]
    for n, path in enumerate(genomes):
        half = halves[n % 2]
        half.mkdir(exist_ok=True)
        (half / path.name).symlink_to(path)
        (half / f"{path.name}.tbi").symlink_to(f"{path}.tbi")
    command = [str(GDI_NODE), "-c", str(config_file), "ingest", "vcf", "--dataset", "DS-PUBLIC",
               "--jobs", "1", "--group", "1", "--absent", "ref"]  # fmt: skip
    processes = [
        subprocess.Popen(
            [*command, str(half)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for half in halves
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err
        assert "4 loaded" in out
    assert set(states(settings).values()) == {"ready"}
    assert len(states(settings)) == 8
    expected = bcftools_counts(genomes, absent_is_reference=True)
    with migrated_sessions(settings) as sessions:
        assert node_counts(sessions, "DS-PUBLIC", expected) == expected


def test_groups_smaller_than_the_batch_count_as_one_group(
    config_file: Path, settings: Settings, genomes: list[Path]
) -> None:
    folder = genomes[0].parent
    code, out, err = run(config_file, "ingest", "vcf", str(folder), "--dataset", "DS-PUBLIC",
                         "--jobs", "1", "--group", "3", "--absent", "ref")  # fmt: skip
    assert code == 0, out + err
    assert "8 files into DS-PUBLIC: 8 loaded" in out
    expected = bcftools_counts(genomes, absent_is_reference=True)
    with migrated_sessions(settings) as sessions:
        assert node_counts(sessions, "DS-PUBLIC", expected) == expected
    code, out, err = run(config_file, "ingest", "vcf", str(folder), "--dataset", "DS-PUBLIC",
                         "--jobs", "2", "--group", "5", "--absent", "ref")  # fmt: skip
    assert code == 0, out + err
    assert "8 unchanged" in out
