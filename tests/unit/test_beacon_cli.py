"""``gdi-node ingest vcf`` and ``gdi-node consent`` from the command line, including a load
killed half-way (nothing half-loaded shown, and removed by the next load), on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.queries.scopes import ScopeCache
from gdi_node.bootstrap import migrated_sessions
from gdi_node.cli import main
from gdi_node.config.settings import Settings
from tests.support.beacon_data import allele_counts, table_counts, write_vcf

SAMPLES = ["A", "B", "C"]
RECORDS = [
    "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0",
    "chr22\t200\t.\tC\tT,G\t.\tPASS\t.\tGT\t0/2\t0/0\t1/1",
]
GDI_NODE = Path(sys.executable).with_name("gdi-node")


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def config_file(tmp_path: Path, settings: Settings) -> Path:
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json")), encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_ingest_vcf_reports_what_it_loaded_and_is_idempotent(
    config_file: Path, tmp_path: Path
) -> None:
    vcf = write_vcf(tmp_path / "trio.vcf.gz", SAMPLES, RECORDS)
    code, out, _ = run("-c", str(config_file), "ingest", "vcf", str(vcf), "--dataset", "DS-PUBLIC")
    assert code == 0, out
    assert "loaded trio.vcf.gz into DS-PUBLIC: 2 records, 3 alleles, 3 samples" in out
    code, out, _ = run(
        "-c", str(config_file), "ingest", "vcf", str(vcf), "--dataset", "DS-PUBLIC", "--json"
    )
    assert code == 0
    assert json.loads(out)["status"] == "unchanged"
    code, _, err = run("-c", str(config_file), "ingest", "vcf", str(vcf), "--dataset", "NOPE")
    assert code == 1
    assert "not declared" in err


def test_consent_commands_record_opt_outs_and_opt_ins(config_file: Path, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "trio.vcf.gz", SAMPLES, RECORDS)
    run("-c", str(config_file), "ingest", "vcf", str(vcf), "--dataset", "DS-PUBLIC")
    ids = tmp_path / "ids.txt"
    ids.write_text("# withdrawn\nB\nNOT-LOADED\n", encoding="utf-8")
    code, out, err = run("-c", str(config_file), "consent", "opt-out", "--individual", "A",
                         "--file", str(ids), "--reason", "letter 2026-11-22")  # fmt: skip
    assert code == 0
    assert out.splitlines() == ["opted-out A", "opted-out B", "opted-out NOT-LOADED"]
    assert "NOT-LOADED has no genotyped sample or individual record loaded" in err
    code, out, _ = run("-c", str(config_file), "consent", "list")
    assert [line.split("\t")[0] for line in out.splitlines()] == ["A", "B", "NOT-LOADED"]
    assert "letter 2026-11-22" in out
    code, out, _ = run("-c", str(config_file), "consent", "opt-in", "--individual", "A")
    assert out.splitlines() == ["opted-in A"]
    code, out, _ = run("-c", str(config_file), "consent", "opt-in", "--individual", "A")
    assert out.splitlines() == ["unchanged A"]
    code, _, err = run("-c", str(config_file), "consent", "opt-out")
    assert code == 1
    assert "individual ids" in err


@pytest.mark.slow  # a real load killed with SIGKILL, then loaded again (25-40 s)
def test_a_load_killed_half_way_shows_nothing_and_the_next_load_removes_what_it_wrote(
    config_file: Path, settings: Settings, tmp_path: Path
) -> None:
    rng = random.Random(7)
    samples = [f"S{n}" for n in range(200)]
    records = [
        f"chr22\t{1000 + 10 * i}\t.\tA\tG\t.\tPASS\t.\tGT\t"
        + "\t".join(rng.choice(("0/0", "0/0", "0/1", "1/1")) for _ in samples)
        for i in range(60_000)
    ]
    vcf = write_vcf(tmp_path / "big.vcf.gz", samples, records)
    with migrated_sessions(settings) as sessions:
        before = table_counts(sessions)
    process = subprocess.Popen(
        [
            str(GDI_NODE),
            "-c",
            str(config_file),
            "ingest",
            "vcf",
            str(vcf),
            "--dataset",
            "DS-PUBLIC",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    line = process.stderr.readline()  # the first progress line: rows are being written
    assert "records" in line, line
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stderr.close()
    first = AlleleKey("GRCh38", "22", 999, "A", "G")
    with migrated_sessions(settings) as sessions:
        assert allele_counts(sessions, first, "DS-PUBLIC").allele_count == 0
        with sessions() as session:
            scopes = ScopeCache().get(session)
        assert not scopes.datasets  # no sample shown
        assert not scopes.present  # no file shown
        assert scopes.unsettled == {"DS-PUBLIC"}  # the killed load's callset is left
        assert table_counts(sessions)["beacon_variants"] > 0  # rows of the killed load
    code, out, _ = run("-c", str(config_file), "ingest", "vcf", str(vcf), "--dataset", "DS-PUBLIC")
    assert code == 0, out
    assert "60,000 records" in out
    with migrated_sessions(settings) as sessions:
        counts = table_counts(sessions)
        assert allele_counts(sessions, first, "DS-PUBLIC").allele_count > 0
    assert counts == before | {  # the killed load's rows are gone
        "beacon_callsets": 1,
        "beacon_samples": 200,
        "beacon_variants": 60_000,
        "beacon_variant_terms": 60_000,
        "beacon_variant_bins": counts["beacon_variant_bins"],
    }


def test_a_single_sample_vcf_without_a_callability_statement_is_refused_in_one_line(
    config_file: Path, tmp_path: Path
) -> None:
    vcf = write_vcf(tmp_path / "HG1.vcf.gz", ["HG1"], RECORDS[:1])
    code, out, err = run(
        "-c", str(config_file), "ingest", "vcf", str(vcf), "--dataset", "DS-PUBLIC"
    )
    said = (out + err).strip()
    assert code != 0
    assert "HG1.vcf.gz has one sample and no reference blocks: pass --absent ref" in said
    assert "--absent nocall" in said
    assert len(said.splitlines()) == 1, said
    code, out, _ = run(
        "-c", str(config_file), "ingest", "vcf", str(vcf), "--dataset", "DS-PUBLIC",
        "--absent", "nocall",
    )  # fmt: skip
    assert code == 0, out


def test_ingest_remove_withdraws_a_genome_or_a_file_in_one_line_each(
    config_file: Path, tmp_path: Path, settings: Settings
) -> None:
    for sample in ("A", "B"):
        vcf = write_vcf(tmp_path / f"{sample}.vcf.gz", [sample], RECORDS[:1])
        code, out, _ = run(
            "-c", str(config_file), "ingest", "vcf", str(vcf), "--dataset", "DS-PUBLIC",
            "--absent", "ref",
        )  # fmt: skip
        assert code == 0, out
    code, out, _ = run(
        "-c", str(config_file), "ingest", "remove", "--dataset", "DS-PUBLIC", "--sample", "A"
    )
    assert (code, out) == (0, "withdrew A.vcf.gz from DS-PUBLIC\n")
    code, out, err = run(
        "-c", str(config_file), "ingest", "remove", "--dataset", "DS-PUBLIC", "--sample", "A"
    )
    assert code != 0
    assert "no genotypes of biosample 'A' loaded into DS-PUBLIC" in out + err
    assert "Traceback" not in out + err
    code, out, _ = run(
        "-c", str(config_file), "ingest", "remove", "--dataset", "DS-PUBLIC", "--file", "B.vcf.gz"
    )
    assert (code, out) == (0, "withdrew B.vcf.gz from DS-PUBLIC\n")
    with migrated_sessions(settings) as sessions:
        assert table_counts(sessions)["beacon_callsets"] == 0
