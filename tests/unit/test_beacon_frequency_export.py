"""``gdi-node export frequencies``: the sites-only frequency release, checked field by field
against ``bcftools +fill-tags`` on the same genotypes, with opt-outs left out, small counts as
bounds named in IMPRECISE, a region limit, a header declaring every key, all-or-nothing writes,
the audit record, and a department's ``bcftools annotate`` run. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pysam
import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import update

from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.beacon.model.precision import CountPolicy
from gdi_node.beacon.queries.frequency_export import FrequencyExport, resolve_assembly
from gdi_node.beacon.queries.scopes import ScopeCache
from gdi_node.beacon.queries.sites_vcf import vcf_line, write_release
from gdi_node.beacon.store.callsets import LOADING
from gdi_node.beacon.store.generation import bump_generation
from gdi_node.bootstrap import migrated_sessions
from gdi_node.cli import main
from gdi_node.config.settings import Settings
from gdi_node.db.models import BeaconCallset
from gdi_node.errors import ConflictError, UnavailableError
from tests.support.beacon_data import write_vcf
from tests.support.sex_chromosomes import ploidy_table

DATASET = "DS-PUBLIC"
SAMPLES = [f"S0{n}" for n in range(1, 9)]  # bcftools 1.16 -S misreads one-letter names
RECORDS = [
    "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0\t0/1\t./.\t0/0\t0/1\t1/1",
    "chr22\t100\t.\tA\tC\t.\tPASS\t.\tGT\t0/0\t0/0\t0/1\t0/0\t0/0\t0/0\t0/0\t0/0",
    "chr22\t200\t.\tC\tT,G\t.\tPASS\t.\tGT\t0/1\t1/2\t2/2\t0/0\t0/0\t1/1\t./.\t0/2",
    "chr22\t300\t.\tAT\tA\t.\tPASS\t.\tGT\t0|1\t0/0\t0/0\t0/0\t0/0\t0/0\t0/0\t0/0",
    "chr22\t350\t.\tG\tC\t.\tPASS\t.\tGT\t0/0\t0/1\t0/0\t0/0\t0/0\t0/0\t0/0\t0/0",
    "chr22\t400\t.\tG\tT\t.\tPASS\t.\tGT\t0/0\t0/0\t0/0\t0/0\t0/0\t0/0\t0/0\t0/0",
    # outside the PARs: the men S02, S04, S06, S08 written 1, 1/1, 0/1 (his reference call), 0
    "chrX\t500\t.\tG\tA\t.\tPASS\t.\tGT\t0/1\t1\t1/1\t1/1\t0/1\t0/1\t0/0\t0",
]
# sample sheet: EUR S01-S04, AFR S05-S08; F odd, M even (fill-tags group names)
POPULATION = {s: "EUR" if n < 4 else "AFR" for n, s in enumerate(SAMPLES)}
SEX = {s: "F" if n % 2 == 0 else "M" for n, s in enumerate(SAMPLES)}
SUFFIXES = {"": "", "_eur": "_EUR", "_afr": "_AFR", "_XX": "_F", "_XY": "_M"}  # ours: theirs
COUNT_KEYS = ("AC", "AN", "AF", "nhomalt", "nhet", "nhemi")


@pytest.fixture
def node(make_settings: Callable[..., Settings], database_url: str) -> Callable[..., Path]:
    """A config file for a node with that small-count threshold and count rounding."""

    def config(threshold: int = 1, rounding: int = 1) -> Path:
        beacon = {"small_count_threshold": threshold, "count_rounding": rounding}
        settings = make_settings(database_url=database_url, beacon=beacon)
        path = settings.data_dir.parent / f"node-{threshold}-{rounding}.yaml"
        path.write_text(yaml.safe_dump(settings.model_dump(mode="json")), encoding="utf-8")
        return path

    return config


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["-c", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def load(
    config: Path,
    tmp_path: Path,
    samples: list[str],
    records: list[str],
    groups: dict[str, tuple[str, str]] | None = None,
) -> Path:
    """Load ``records`` with a sample sheet: ``groups`` (population, sex) per sample."""
    vcf = write_vcf(tmp_path / "cohort.vcf.gz", samples, records)
    groups = groups or {s: (POPULATION[s], SEX[s]) for s in samples}
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "sample\tpopulation\tsex\n" + "".join(f"{s}\t{p}\t{x}\n" for s, (p, x) in groups.items()),
        encoding="utf-8",
    )
    code, out, err = run(
        config, "ingest", "vcf", str(vcf), "--dataset", DATASET, "--samples", str(sheet)
    )
    assert code == 0, out + err
    return vcf


def export(config: Path, output: Path, *args: str) -> str:
    code, out, err = run(
        config, "export", "frequencies", "--dataset", DATASET, "-o", str(output), *args
    )
    assert code == 0, out + err
    return out


def released(path: Path) -> dict[tuple[str, int, str, str], dict[str, Any]]:
    with pysam.VariantFile(str(path)) as vcf:
        return {
            (r.chrom, r.pos, str(r.ref), _alt(r)): {k: _one(v) for k, v in r.info.items()}
            for r in vcf
        }


def _alt(record: Any) -> str:
    return str(record.alts[0])


def _one(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) and len(value) == 1 else value


def fill_tags(vcf: Path, tmp_path: Path, *, without: tuple[str, ...] = ()) -> dict[Any, Any]:
    """bcftools +fixploidy (the sample sheet's sexes, the GRC PARs) then +fill-tags per
    population and sex on the same genotypes, one entry per ALT with a carrier (``without``:
    samples left out)."""
    groups = tmp_path / "groups.txt"
    groups.write_text(
        "".join(f"{s}\t{POPULATION[s]},{SEX[s]}\n" for s in SAMPLES if s not in without),
        encoding="utf-8",
    )
    source = str(vcf)
    if without:
        source = str(tmp_path / "kept.vcf")
        subprocess.run(
            ["bcftools", "view", "-s", "^" + ",".join(without), "-Ov", "-o", source, str(vcf)],
            check=True,
        )
    sexes = tmp_path / "sexes.txt"
    sexes.write_text("".join(f"{s} {SEX[s]}\n" for s in SAMPLES), encoding="utf-8")
    fixed = subprocess.run(
        ["bcftools", "+fixploidy", source, "--", "-s", str(sexes),
         "-p", str(ploidy_table("GRCh38", tmp_path / "ploidy.txt"))],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    out = subprocess.run(
        ["bcftools", "+fill-tags", "-", "-Ov", "--",
         "-S", str(groups), "-t", "AC,AN,AF,AC_Hom,AC_Het,AC_Hemi"],
        input=fixed, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    expected: dict[Any, Any] = {}
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        chrom, pos, _, ref, alts, *_, info = line.split("\t")[:8]
        tags = dict(item.split("=") for item in info.split(";"))
        for k, alt in enumerate(alts.split(",")):
            if int(tags["AC"].split(",")[k]):
                expected[(chrom, int(pos), ref, alt)] = {
                    name: tags[name].split(",")[k] if name.split("_")[0] != "AN" else tags[name]
                    for name in tags
                }
    return expected


def assert_matches_fill_tags(ours: dict[Any, Any], theirs: dict[Any, Any]) -> None:
    assert sorted(ours) == sorted(theirs)
    for site, info in ours.items():
        tags = theirs[site]
        assert "IMPRECISE" not in info, site
        for suffix, their_suffix in SUFFIXES.items():
            assert info[f"AC{suffix}"] == int(tags[f"AC{their_suffix}"]), (site, suffix)
            assert info[f"AN{suffix}"] == int(tags[f"AN{their_suffix}"]), (site, suffix)
            if info[f"AN{suffix}"]:
                assert info[f"AF{suffix}"] == pytest.approx(
                    float(tags[f"AF{their_suffix}"]), rel=1e-5
                )
            hom, het = int(tags[f"AC_Hom{their_suffix}"]), int(tags[f"AC_Het{their_suffix}"])
            assert info[f"nhomalt{suffix}"] == hom // 2, (site, suffix)
            assert info[f"nhet{suffix}"] == het, (site, suffix)
            assert info[f"nhemi{suffix}"] == int(tags[f"AC_Hemi{their_suffix}"]), (site, suffix)


def test_every_field_matches_bcftools_fill_tags_per_population_and_sex(
    node: Callable[..., Path], tmp_path: Path
) -> None:
    config = node(threshold=1)
    vcf = load(config, tmp_path, SAMPLES, RECORDS)
    output = tmp_path / "out" / "sites.vcf.gz"
    output.parent.mkdir()
    said = export(config, output)
    assert "wrote" in said
    assert "7 sites on chr22, chrX (0 with bounded counts, 0 without group fields)" in said
    assert Path(str(output) + ".tbi").exists()
    ours = released(output)
    assert_matches_fill_tags(ours, fill_tags(vcf, tmp_path))
    assert ("chr22", 400, "G", "T") not in ours  # nobody carries it
    assert sorted(p.name for p in output.parent.iterdir()) == ["sites.vcf.gz", "sites.vcf.gz.tbi"]


def test_opted_out_people_are_left_out_and_an_allele_only_they_carry_is_not_released(
    node: Callable[..., Path], tmp_path: Path
) -> None:
    config = node(threshold=1)
    vcf = load(config, tmp_path, SAMPLES, RECORDS)
    code, _, _ = run(config, "consent", "opt-out", "--individual", "S02")
    assert code == 0
    output = tmp_path / "sites.vcf.gz"
    said = export(config, output)
    assert "7 samples" in said
    ours = released(output)
    assert ("chr22", 350, "G", "C") not in ours  # S02's alone
    assert_matches_fill_tags(ours, fill_tags(vcf, tmp_path, without=("S02",)))


def test_small_counts_are_upper_bounds_named_in_imprecise_and_small_groups_are_left_out(
    node: Callable[..., Path], tmp_path: Path
) -> None:
    config = node(threshold=5)
    samples = [f"T{n:02}" for n in range(1, 13)]  # 12 people: AFR T11-T12 only (2 < 5)
    groups = {
        s: ("AFR" if n >= 10 else "EUR", "F" if n % 2 == 0 else "M") for n, s in enumerate(samples)
    }
    rare = ["0/1"] + ["0/0"] * 11  # one carrier, a woman
    one_hom = ["1/1"] + ["0/1"] * 5 + ["0/0"] * 6  # AC 7, one homozygote, 5 heterozygotes
    every_cell_safe = ["0/1"] * 10 + ["0/0"] * 2  # 5 EUR women, 5 EUR men, no AFR carrier
    load(config, tmp_path, samples, [
        "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(rare),
        "chr22\t200\t.\tC\tT\t.\tPASS\t.\tGT\t" + "\t".join(one_hom),
        "chr22\t300\t.\tG\tA\t.\tPASS\t.\tGT\t" + "\t".join(every_cell_safe),
    ], groups)  # fmt: skip
    output = tmp_path / "sites.vcf.gz"
    assert "2 with bounded counts, 2 without group fields" in export(config, output)
    ours = released(output)
    first, second = ours[("chr22", 100, "A", "G")], ours[("chr22", 200, "C", "T")]
    # one carrier of 24 called chromosomes: at most 4 (and at least 1), AF at most 4/24
    assert (first["AC"], first["AN"], first["nhomalt"], first["nhet"]) == (4, 24, 0, 4)
    assert first["AF"] == pytest.approx(4 / 24, abs=1e-7)
    assert first["AF"] >= 4 / 24
    assert first["IMPRECISE"] == ("AC", "AF", "nhet")
    # a small cell: the group fields would give it away by subtraction (decision record 0020)
    for site in (first, second):
        assert not any(key.endswith(("_XX", "_XY", "_eur")) for key in site)
    third = ours[("chr22", 300, "G", "A")]
    assert (third["AC"], third["AC_XX"], third["AC_XY"], third["AC_eur"]) == (10, 5, 5, 10)
    assert "IMPRECISE" not in third
    # AC 7 is exact; one homozygote is at most 3 (half of 7), so nhet is at least 7 - 6 = 1
    assert (second["AC"], second["nhomalt"], second["nhet"]) == (7, 3, 1)
    assert {"nhomalt", "nhet"} <= set(second["IMPRECISE"])
    assert "AC" not in second["IMPRECISE"]
    with pysam.VariantFile(str(output)) as vcf:
        declared = set(vcf.header.info)
        meta = {r.key: str(r.value) for r in vcf.header.records if r.type == "GENERIC"}
    assert not any(key.endswith("_afr") for key in declared)  # 2 people: left out
    assert {"AC_eur", "AC_XX", "AC_XY"} <= declared
    assert "small_count_threshold=5" in meta["gdi_node_dataset"]
    assert "precision=anonymous" in meta["gdi_node_dataset"]


def test_rounded_counts_are_named_in_rounded(node: Callable[..., Path], tmp_path: Path) -> None:
    config = node(threshold=5, rounding=10)
    load(config, tmp_path, SAMPLES, RECORDS)
    output = tmp_path / "sites.vcf.gz"
    export(config, output)
    # chr22:100 A>G: AC 7 (3 heterozygous, 2 homozygous) of AN 14
    site = released(output)[("chr22", 100, "A", "G")]
    assert (site["AC"], site["AN"], site["nhomalt"], site["nhet"]) == (10, 14, 4, 4)
    assert site["ROUNDED"] == ("AC", "AF")
    assert site["IMPRECISE"] == ("nhomalt", "nhet")  # nhet: at most, as AC is rounded
    with pysam.VariantFile(str(output)) as vcf:
        assert "ROUNDED" in vcf.header.info


def test_a_region_limits_the_records_and_the_file_is_indexed(
    node: Callable[..., Path], tmp_path: Path
) -> None:
    config = node(threshold=1)
    load(config, tmp_path, SAMPLES, RECORDS)
    output = tmp_path / "region.vcf.gz"
    export(config, output, "--region", "chr22:150-350")
    assert [site[1] for site in released(output)] == [200, 200, 300, 350]
    with pysam.VariantFile(str(output)) as vcf:
        assert list(vcf.header.contigs) == ["chr22"]
        assert vcf.header.contigs["chr22"].length == 50_818_468  # GRCh38, from the assembly table
        assert [r.pos for r in vcf.fetch("chr22", 250, 400)] == [300, 350]
    plain = tmp_path / "plain.vcf.gz"
    export(config, plain, "--region", "X", "--no-chr-prefix")
    assert list(released(plain)) == [("X", 500, "G", "A")]


def test_the_header_declares_every_info_key_and_the_release(
    node: Callable[..., Path], tmp_path: Path
) -> None:
    config = node(threshold=5)
    load(config, tmp_path, SAMPLES, RECORDS)
    output = tmp_path / "sites.vcf.gz"
    export(config, output)
    with pysam.VariantFile(str(output)) as vcf:
        header = vcf.header
        written = {key for record in vcf for key in record.info}
        assert len(vcf.header.samples) == 0  # sites only
    declared = set(header.info)
    assert written <= declared
    assert declared == {*COUNT_KEYS, "IMPRECISE"}  # every group has 4 people (< 5): left out
    generic = {r.key: str(r.value) for r in header.records if r.type == "GENERIC"}
    assert generic["fileformat"] == "VCFv4.3"
    assert generic["source"].startswith("gdi-node ")
    assert generic["source"].endswith(" export frequencies")
    assert generic["reference"] == "GRCh38"
    assert generic["gdi_node_dataset"].startswith(f"{DATASET};generation=")
    assert "samples=8" in generic["gdi_node_dataset"]
    assert "pseudo-autosomal" in str(header.info["nhemi"].description)
    assert "upper bound" in str(header.info["IMPRECISE"].description)


def test_the_export_reads_in_chunks_and_leaves_out_callsets_not_shown(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url=database_url)
    second = [
        "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t1/1\t0/1",
        "chr22\t600\t.\tT\tC\t.\t.\t.\tGT\t0/1\t0/0",
    ]
    with migrated_sessions(settings) as sessions:
        ingestor = VcfIngestor(sessions)
        ingestor.ingest(write_vcf(tmp_path / "a.vcf.gz", SAMPLES, RECORDS), DATASET)
        ingestor.ingest(write_vcf(tmp_path / "b.vcf.gz", ["U1", "U2"], second), DATASET)

        def lines(chunk_rows: int) -> list[str]:
            with sessions() as session:
                scopes = ScopeCache().get(session)
                found = FrequencyExport(
                    session, scopes, DATASET, resolve_assembly("GRCh38"), CountPolicy(),
                    chunk_rows=chunk_rows,
                )  # fmt: skip
                return [vcf_line(site) for site in found.sites()]

        whole = lines(10_000)
        assert whole == lines(1) == lines(2)  # one start with three alleles outgrows a chunk
        assert "AC=10;AN=18" in next(line for line in whole if "\t100\t.\tA\tG\t" in line)
        assert any("\t600\t" in line for line in whole)
        with sessions() as session, session.begin():
            session.execute(
                update(BeaconCallset).where(BeaconCallset.name == "b.vcf.gz").values(state=LOADING)
            )
            bump_generation(session)
        shown = lines(10_000)
        assert not any("\t600\t" in line for line in shown)
        assert "AC=7;AN=14" in next(line for line in shown if "\t100\t.\tA\tG\t" in line)


def test_nothing_is_written_when_the_data_changes_or_the_audit_trail_fails(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url=database_url)
    output = tmp_path / "sites.vcf.gz"
    output.write_text("the earlier release", encoding="utf-8")
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(write_vcf(tmp_path / "a.vcf.gz", SAMPLES, RECORDS), DATASET)
        with sessions() as session:
            scopes = ScopeCache().get(session)
            assembly = resolve_assembly("GRCh38")
            changed = FrequencyExport(session, scopes, DATASET, assembly, CountPolicy())
            with sessions() as other, other.begin():
                bump_generation(other)
            with pytest.raises(ConflictError, match="changed during the export"):
                write_release(changed, output)

            def refused(_stats: Any) -> None:
                raise UnavailableError("the audit trail cannot record decisions now")

            fresh = FrequencyExport(
                session, ScopeCache().get(session), DATASET, assembly, CountPolicy()
            )
            with pytest.raises(UnavailableError):
                write_release(fresh, output, before_publish=refused)
    assert output.read_text(encoding="utf-8") == "the earlier release"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_errors_are_one_line_and_the_release_is_audited(
    node: Callable[..., Path], tmp_path: Path
) -> None:
    config = node(threshold=5)
    load(config, tmp_path, SAMPLES, RECORDS)
    output = tmp_path / "sites.vcf.gz"
    for args, message in [
        (["--dataset", "NOPE", "-o", str(output)], "dataset 'NOPE' is not declared"),
        (["--dataset", DATASET, "-o", str(output), "--region", "chr22:9-1"], "bad region"),
        (["--dataset", DATASET, "-o", str(output), "--region", "chr99"], "no sequence"),
        (["--dataset", DATASET, "-o", str(output), "--assembly", "hg1"], "unknown assembly"),
        (["--dataset", DATASET, "-o", str(tmp_path / "x.vcf")], "must end with .vcf.gz"),
        (["--dataset", DATASET, "-o", str(tmp_path / "no" / "x.vcf.gz")], "does not exist"),
    ]:
        code, _, err = run(config, "export", "frequencies", *args)
        assert code == 1, args
        assert message in err, err
        assert len(err.strip().splitlines()) == 1, err
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        code, _, err = run(config, "export", "frequencies", "--dataset", DATASET,
                           "-o", str(locked / "x.vcf.gz"))  # fmt: skip
        assert code == 1
        assert "cannot write in" in err
    assert not output.exists()
    export(config, output, "--region", "chr22")
    code, out, _ = run(config, "audit", "export")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    exported = [r for r in rows if r["operation"] == "exportFrequencies"]
    assert len(exported) == 1
    assert exported[0]["dataset_id"] == DATASET
    assert exported[0]["decision"] == "allow"
    assert str(output.resolve()) in exported[0]["object_id"]
    assert "chr22" in exported[0]["object_id"]
    code, out, _ = run(config, "audit", "verify")
    assert code == 0, out


def test_a_department_annotates_a_patient_vcf_with_bcftools_annotate(
    node: Callable[..., Path], tmp_path: Path
) -> None:
    config = node(threshold=5)
    load(config, tmp_path, SAMPLES, RECORDS)
    sites = tmp_path / "sites.vcf.gz"
    export(config, sites)
    release = released(sites)
    patient = write_vcf(tmp_path / "patient.vcf.gz", ["PATIENT"], [
        "chr22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1",
        "chr22\t200\t.\tC\tG\t.\tPASS\t.\tGT\t1/1",
        "chr22\t300\t.\tAT\tA\t.\tPASS\t.\tGT\t0/1",
        "chr22\t900\t.\tT\tC\t.\tPASS\t.\tGT\t0/1",
    ])  # fmt: skip
    pysam.tabix_index(str(patient), preset="vcf", force=True)
    annotated = tmp_path / "patient.ngc.vcf"
    columns = ",".join(
        f"INFO/NGC_{key}:=INFO/{key}" for key in ("AC", "AN", "AF", "nhomalt", "IMPRECISE")
    )
    subprocess.run(
        ["bcftools", "annotate", "-a", str(sites), "-c", columns, str(patient),
         "-Ov", "-o", str(annotated)],
        check=True, capture_output=True,
    )  # fmt: skip
    with pysam.VariantFile(str(annotated)) as vcf:
        assert vcf.header.info["NGC_AC"].number == "A"
        records = {(r.pos, _alt(r)): r for r in vcf}
    for position, alt, ref in [(100, "G", "A"), (200, "G", "C"), (300, "A", "AT")]:
        info = records[(position, alt)].info
        expected = release[("chr22", position, ref, alt)]
        assert info["NGC_AC"][0] == expected["AC"]
        assert info["NGC_AN"] == expected["AN"]
        assert info["NGC_AF"][0] == pytest.approx(expected["AF"], rel=1e-5)  # bcftools: %g
        assert info["NGC_nhomalt"][0] == expected["nhomalt"]
        assert tuple(info.get("NGC_IMPRECISE", ())) == tuple(expected.get("IMPRECISE", ()))
    assert records[(300, "A")].info["NGC_IMPRECISE"][:2] == ("AC", "AF")  # one carrier of 16
    assert "NGC_AC" not in records[(900, "C")].info  # not in the release
