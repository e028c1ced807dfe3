"""The commands ``gdi-node demo`` prints, each with a stable ``id``, a label saying what its
output means, and the shell line (its test runs every one and checks the output against the
label).

htsget (htsget 1.3 §Query parameters) may answer a region with whole BGZF blocks or CRAM
containers, so a client counting an htsget URL counts the blocks' records, more than the
region's; samtools and bcftools cannot use an index on a stream. The commands say so: one
counts what htsget sent, the others keep the region's records by position (``samtools view
-e``, ``bcftools view -t``), which gives what the same query on the local file with its index
gives.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REGION = ("chr1", 30_000, 40_000)  # 0-based, half-open: chr1:30,001-40,000
VARIANT_CONTIG = "chr2"


@dataclass(frozen=True)
class DemoObjects:
    """The registered demo objects the commands use: object ids and ``drs://`` URIs."""

    bam: str
    cram: str
    vcf: str
    patients: str
    vcf_drs_uri: str


def gdi_node_program() -> str:
    """How to call this gdi-node from a shell: ``gdi-node`` when that is on PATH and the same
    program, else the program's absolute path (a virtualenv that is not activated)."""
    running = Path(sys.argv[0])
    on_path = shutil.which("gdi-node")
    if running.name != "gdi-node":
        return "gdi-node"
    if on_path is not None and Path(on_path).resolve() == running.resolve():
        return "gdi-node"
    return shlex.quote(str(running.absolute()))


def region_label() -> str:
    contig, start, end = REGION
    return f"{contig}:{start + 1:,}-{end:,}"


def node_commands(base: str, token_file: Path, catalogued: str) -> list[dict[str, str]]:
    """Commands of the node API and the catalogue; ``catalogued``: a dataset identifier."""
    bearer = f'-H "Authorization: Bearer $(cat {shlex.quote(str(token_file))})"'
    return [
        {
            "id": "service-info",
            "what": "Describe the node (GA4GH service-info)",
            "run": f"curl -s {base}/service-info",
        },
        {"id": "services", "what": "List the APIs it serves", "run": f"curl -s {base}/services"},
        {"id": "ready", "what": "Is it ready?", "run": f"curl -s {base}/ready"},
        {
            "id": "permissions-anonymous",
            "what": "What an anonymous caller may see",
            "run": f"curl -s {base}/permissions",
        },
        {
            "id": "permissions-passport",
            "what": "What the demo passport may see",
            "run": f"curl -s {bearer} {base}/permissions",
        },
        {
            "id": "catalogue",
            "what": "The FAIR Data Point (Turtle): the catalogue a GDI portal harvests; each"
            " dataset's dct:identifier is the id of its Beacon result sets",
            "run": f"curl -s {base}/fdp/dataset/{catalogued}",
        },
    ]


def htsget_commands(
    base: str, token_file: Path, reference: Path, ids: DemoObjects
) -> list[dict[str, str]]:
    contig, start, end = REGION
    query = f"referenceName={contig}&start={start}&end={end}"
    htslib = (
        f"HTS_AUTH_LOCATION={shlex.quote(str(token_file))}"
        " HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER='I understand the risks'"
    )
    in_region = f"-e 'rname==\"{contig}\" && endpos>={start + 1} && pos<={end}'"
    bam = f"'{base}/htsget/reads/{ids.bam}?{query}'"
    cram = f"'{base}/htsget/reads/{ids.cram}?format=CRAM&{query}'"
    vcf = f"'{base}/htsget/variants/{ids.vcf}?referenceName={VARIANT_CONTIG}'"
    ref = shlex.quote(str(reference))
    region = region_label()
    return [
        {
            "id": "htsget-bam-sent",
            "what": f"htsget: how many reads htsget sends for {region} of the controlled BAM"
            " (whole BGZF blocks: more than the region, far fewer than the file)",
            "run": f"{htslib} samtools view -c {bam}",
        },
        {
            "id": "htsget-bam-region",
            "what": f"htsget: how many reads of the controlled BAM overlap {region}"
            " (the blocks htsget sent, kept by position)",
            "run": f"{htslib} samtools view -c {in_region} {bam}",
        },
        {
            "id": "htsget-cram-region",
            "what": f"htsget: the same from the CRAM (reads overlapping {region}; decoding needs"
            " the reference)",
            "run": f"{htslib} samtools view -c -T {ref} {in_region} {cram}",
        },
        {
            "id": "htsget-vcf-contig",
            "what": f"htsget: the public VCF's variants on {VARIANT_CONTIG} (bcftools -t keeps"
            f" {VARIANT_CONTIG}'s records of the blocks htsget sent)",
            "run": f"bcftools view -H -t {VARIANT_CONTIG} {vcf}",
        },
    ]


def drs_commands(
    base: str, program: str, config_file: Path, data_dir: Path, ids: DemoObjects
) -> list[dict[str, str]]:
    config = shlex.quote(str(config_file))
    target = shlex.quote(str(data_dir / "downloaded.vcf.gz"))
    return [
        {
            "id": "drs-object",
            "what": "DRS: the public VCF's DRS object (size, checksums, access methods)",
            "run": f"curl -s {base}/ga4gh/drs/v1/objects/{ids.vcf}",
        },
        {
            "id": "drs-resolve",
            "what": f"DRS: resolve {ids.vcf_drs_uri} and download it, checksum verified"
            " (--config names the node that serves it)",
            "run": f"{program} drs resolve --config {config} {ids.vcf_drs_uri} -d {target}",
        },
        {
            "id": "objects",
            "what": "The demo node's catalogue",
            "run": f"{program} objects --config {config}",
        },
    ]


def print_commands(commands: list[dict[str, str]], *, serving: bool) -> None:
    """Each command under its label, as a person pastes them into another terminal."""
    import click

    click.echo("\nTry (in another terminal):" if serving else "\nOnce served, try:")
    for command in commands:
        click.echo(f"  # {command['what']}\n  {command['run']}")
