"""The frequency benchmark's own logic (tests/benchmarks/bench_frequencies): its sizes, the
ingest command line it builds for what ``gdi-node ingest vcf`` offers, and the timings it
reads from the command's JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks import bench_frequencies as bench

TODAY = bench.IngestCli(False, frozenset({"--dataset", "--samples", "--update", "--json"}))
LATER = bench.IngestCli(True, TODAY.options | {"--absent", "--jobs"})


@pytest.fixture(autouse=True)
def _no_benchmark_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GENOMES",
        "BACKEND",
        "PROBES",
        "QUERY_SECONDS",
        "PHASE_TIMEOUT",
        "DRIVER",
        "ABSENT",
    ):
        monkeypatch.delenv(f"GDI_NODE_BENCH_FREQ_{name}", raising=False)


def test_sizes_scale_down_for_small_cohorts_and_keep_the_issue_points_at_full_size() -> None:
    full = bench.parse_options([])
    assert (full.genomes, full.early, full.middle, full.joint) == (60_000, 1_000, 2_500, 5_000)
    assert full.backends == ("sqlite", "postgresql")
    quick = bench.parse_options(["--quick", "--backend", "sqlite"])
    assert (quick.genomes, quick.early, quick.middle, quick.joint) == (300, 75, 150, 300)
    assert quick.backends == ("sqlite",)
    assert quick.phase_timeout <= 600


def test_sizes_that_leave_no_room_for_the_timed_genomes_are_refused() -> None:
    with pytest.raises(SystemExit):
        bench.parse_options(["--genomes", "100", "--early", "48", "--middle", "50"])
    with pytest.raises(SystemExit):
        bench.parse_options(["--genomes", "100", "--joint-genomes", "200"])


def test_todays_command_loads_one_file_with_its_sheet() -> None:
    options = bench.parse_options(["--quick"])
    files = [Path("/d/G000001.g.vcf.gz")]
    args = bench.ingest_command(TODAY, Path("node.yaml"), files, Path("s.tsv"), options)
    assert args == [
        "--config", "node.yaml", "ingest", "vcf", "/d/G000001.g.vcf.gz",
        "--dataset", "NATIONAL", "--samples", "s.tsv", "--json",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="one file"):
        bench.ingest_command(TODAY, Path("node.yaml"), files * 2, Path("s.tsv"), options)


def test_absent_is_passed_only_to_a_command_that_has_it_and_never_for_the_joint_file() -> None:
    options = bench.parse_options(["--quick", "--absent", "ref"])
    files = [Path("a.vcf.gz"), Path("b.vcf.gz")]
    args = bench.ingest_command(LATER, Path("n.yaml"), files, Path("s.tsv"), options)
    assert args[4:6] == ["a.vcf.gz", "b.vcf.gz"]
    assert args[args.index("--absent") + 1] == "ref"
    assert args[args.index("--jobs") + 1] == str(options.workers)
    joint = bench.ingest_command(
        LATER, Path("n.yaml"), files[:1], Path("s.tsv"), options, joint=True
    )
    assert "--absent" not in joint
    with pytest.raises(bench.BenchError, match="no --absent"):
        bench.ingest_command(TODAY, Path("n.yaml"), files[:1], Path("s.tsv"), options)


@pytest.mark.parametrize(
    ("stdout", "seconds"),
    [
        ('{"status": "loaded", "seconds": 0.25}', 0.25),
        ('[{"seconds": 1.0}, {"seconds": 0.5}]', 1.5),
        ("loaded G000001.g.vcf.gz into NATIONAL", None),
        ('{"status": "loaded"}', None),
    ],
)
def test_the_load_time_is_read_from_the_commands_json(stdout: str, seconds: float | None) -> None:
    assert bench._own_seconds(stdout) == seconds


def test_the_help_text_tells_one_path_from_many_and_lists_the_options() -> None:
    one = bench.IngestCli.from_help(
        "Usage: gdi-node ingest vcf [OPTIONS] PATH\n\n  Load a VCF...\n\n"
        "Options:\n  --dataset TEXT  Dataset.  [required]\n  --update  Replace...\n"
    )
    assert one == bench.IngestCli(False, frozenset({"--dataset", "--update"}))
    many = bench.IngestCli.from_help(
        "Usage: gdi-node ingest vcf [OPTIONS] PATH...\n\n  Load...\n\n"
        "Options:\n  --absent [ref|nocall]  Absent sites are...\n  --min-gq INTEGER\n"
    )
    assert many == bench.IngestCli(True, frozenset({"--absent", "--min-gq"}))
