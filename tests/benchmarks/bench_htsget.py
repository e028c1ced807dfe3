"""Benchmark: htsget ticket latency, data-endpoint streaming against nginx, 1 Mb region delivery.

Run with ``scripts/bench htsget`` (or ``python -m tests.benchmarks.bench_htsget``). Needs
``samtools``, ``curl``, ``nginx`` and ``wrk`` on PATH (Debian: ``apt-get install -y nginx wrk``;
no system nginx service is used: a private instance runs from a temporary folder).

The data is a deterministic synthetic BAM of about 1.1 GB (10 contigs of 100 Mb, 4 M reads of
250 bp, coordinate-sorted, with a BAI), generated once with pysam into ``$GDI_NODE_BENCH_CACHE``
(default ``/tmp/gdi-node-bench/``, about 2-3 minutes on 2 cores) and reused on later runs. Every
run registers it in a fresh node data folder and serves it with ``gdi-node serve`` on loopback,
with 1 and with 2 workers, first with data URLs on the main port, then on the zero-copy data
listener (``htsget.data_listener``); nginx serves the same file (``sendfile on``) with as many
workers. All traffic goes to 127.0.0.1; every loop is bounded in count and time; the whole run
takes about 1.5 minutes after the first generation.

Measured, printed as one table (MB = 10^6 bytes):

* tickets: ``GET /htsget/reads/{id}?referenceName=..&start=..&end=..`` for random 1 Mb regions
  on a warm index cache, ``wrk`` at 1 and 16 connections: p50, p99 and requests/s;
* data: the same bytes fetched with ``curl`` from the node's signed data URLs and from nginx
  (byte ranges with ``Range``): the whole file, the ranges of three large tickets, and the whole
  file on 4 concurrent streams; MB/s and node/nginx (goal >= 0.9); the node's peak RSS
  (``VmHWM`` of the serve process, or of each uvicorn worker when there are several) before
  streaming, after the single streams and after the concurrent ones (goal: constant, < 200 MB);
* regions: a 1 Mb region delivered by ticket + fetch of all its URLs into a file, against
  ``samtools view -b`` cutting the same region from the local file (median over regions).
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pysam
import yaml

from gdi_node.bootstrap import open_ingestor
from tests.support.htsget_setup import node_settings
from tests.support.processes import free_port, running_node

CACHE = Path(os.environ.get("GDI_NODE_BENCH_CACHE", "/tmp/gdi-node-bench"))
BAM_NAME = "synthetic-v1.bam"  # change the version when the generator changes
CONTIGS = tuple(f"chr{n}" for n in range(1, 11))
CONTIG_LENGTH = 100_000_000
READS_PER_CONTIG = 400_000
READ_LENGTH = 250
MAX_STEP = 490  # gap to the next read start: uniform in [0, MAX_STEP), mean about 1x coverage
SEED = 20240601
MIN_SIZE = 1_000_000_000

REGION = 1_000_000
TICKET_REGIONS = 200  # distinct random regions cycled through by wrk
WRK_SECONDS = 10
WRK_WARMUP_SECONDS = 3
DATA_REPEATS = 3
CONCURRENT_STREAMS = 4
BIG_TICKETS = (("chr3", None, None), ("chr7", None, None), ("chr1", 20_000_000, 70_000_000))
DELIVERY_REGIONS = 7
CURL_TIMEOUT = 300
MB = 1e6


def progress(message: str) -> None:
    """A progress line on stderr, prefixed with the running benchmark's module name."""
    bench = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "bench"
    print(f"[{bench}] {message}", file=sys.stderr, flush=True)


# --- the synthetic BAM ------------------------------------------------------------------------

_BASES = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)
_QUALS = bytes.maketrans(bytes(range(256)), bytes(range(2, 42)) * 6 + bytes(range(2, 18)))


def _write_bam(path: Path) -> int:
    """Coordinate-sorted reads with random bases and qualities; returns the number written."""
    rng = random.Random(SEED)
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": name, "LN": CONTIG_LENGTH} for name in CONTIGS],
    }
    cigar = [(0, READ_LENGTH)]
    written = 0
    with pysam.AlignmentFile(str(path), "wb", header=header, threads=2) as out:
        for ref_id in range(len(CONTIGS)):
            pos = 0
            for _ in range(READS_PER_CONTIG):
                pos = min(pos + rng.randrange(MAX_STEP), CONTIG_LENGTH - READ_LENGTH)
                record = pysam.AlignedSegment(out.header)
                record.query_name = f"syn{written:08d}"
                record.flag = 16 if rng.random() < 0.5 else 0
                record.reference_id = ref_id
                record.reference_start = pos
                record.mapping_quality = 60
                record.cigartuples = cigar
                record.query_sequence = rng.randbytes(READ_LENGTH).translate(_BASES).decode()
                record.query_qualities = array("B", rng.randbytes(READ_LENGTH).translate(_QUALS))
                out.write(record)
                written += 1
    return written


def synthetic_bam() -> tuple[Path, float, bool]:
    """The cached BAM (generated first if missing): path, generation seconds, reused?"""
    bam = CACHE / BAM_NAME
    done = CACHE / f"{BAM_NAME}.json"
    if done.exists() and bam.exists() and bam.with_suffix(".bam.bai").exists():
        facts = json.loads(done.read_text(encoding="utf-8"))
        if facts.get("size") == bam.stat().st_size:
            return bam, float(facts["seconds"]), True
    CACHE.mkdir(parents=True, exist_ok=True)
    CACHE.chmod(0o755)  # nginx workers run as an unprivileged user
    partial = CACHE / f"{BAM_NAME}.partial"
    partial_index = CACHE / f"{BAM_NAME}.partial.bai"
    progress(f"generating {bam} (once; a few minutes)")
    started = time.monotonic()
    reads = _write_bam(partial)
    pysam.index("-@", "2", str(partial), str(partial_index))
    seconds = time.monotonic() - started
    size = partial.stat().st_size
    if size < MIN_SIZE:
        raise RuntimeError(f"the synthetic BAM is only {size} bytes; raise READS_PER_CONTIG")
    os.replace(partial, bam)
    os.replace(partial_index, bam.with_suffix(".bam.bai"))
    facts = {"seconds": round(seconds, 1), "reads": reads, "size": size}
    done.write_text(json.dumps(facts), encoding="utf-8")
    progress(f"generated {size / MB:.0f} MB, {reads} reads in {seconds:.0f} s")
    return bam, seconds, False


def random_regions(count: int, seed: int) -> list[tuple[str, int, int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        start = rng.randrange(CONTIG_LENGTH - REGION)
        out.append((rng.choice(CONTIGS), start, start + REGION))
    return out


# --- servers ----------------------------------------------------------------------------------

_NGINX_CONF = """\
worker_processes {workers};
daemon off;
pid {home}/nginx.pid;
error_log {home}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {home}/client_body;
    proxy_temp_path {home}/proxy;
    fastcgi_temp_path {home}/fastcgi;
    uwsgi_temp_path {home}/uwsgi;
    scgi_temp_path {home}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def running_nginx(root: Path, workers: int, workdir: Path) -> Iterator[str]:
    """A private nginx serving ``root`` on a free loopback port; yields its base URL."""
    home = workdir / f"nginx-{workers}"
    home.mkdir(parents=True)
    port = free_port()
    conf = home / "nginx.conf"
    conf.write_text(
        _NGINX_CONF.format(workers=workers, home=home, port=port, root=root), encoding="utf-8"
    )
    process = subprocess.Popen(
        ["nginx", "-p", str(home), "-c", str(conf), "-e", str(home / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                log = (home / "error.log").read_text(errors="replace")
                raise RuntimeError(f"nginx exited with {process.returncode}: {log}")
            try:
                if httpx.head(f"{base}/{BAM_NAME}", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("nginx did not answer within 15 s")
            time.sleep(0.05)
        yield base
    finally:
        _stop(process)


def worker_pids(serve_pid: int, workers: int) -> list[int]:
    """The processes that answer requests: the serve process, or its uvicorn worker children."""
    if workers == 1:
        return [serve_pid]
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == serve_pid and b"spawn_main" in cmdline:
            pids.append(int(entry.name))
    if len(pids) != workers:
        raise RuntimeError(f"found {len(pids)} uvicorn workers under {serve_pid}, not {workers}")
    return sorted(pids)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / MB
    raise RuntimeError(f"no VmHWM for {pid}")


# --- tickets with wrk -------------------------------------------------------------------------

_WRK_SCRIPT = """\
local paths = {
%s
}
local threads = 0
setup = function(thread)
  thread:set("first", threads * 61)
  threads = threads + 1
end
init = function(args)
  n = first
end
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad_status: int
    socket_errors: int


def ticket_paths(object_id: str, regions: Sequence[tuple[str, int, int]]) -> list[str]:
    return [
        f"/htsget/reads/{object_id}?"
        + urlencode({"format": "BAM", "referenceName": name, "start": start, "end": end})
        for name, start, end in regions
    ]


def run_wrk(base: str, script: Path, connections: int, seconds: int) -> WrkResult:
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    requests, duration_us, p50_us, p99_us, status, errors = (int(v) for v in line.split()[1:])
    return WrkResult(requests, duration_us / 1e6, p50_us / 1000, p99_us / 1000, status, errors)


# --- data with curl ---------------------------------------------------------------------------


def curl_command(url: str, byte_range: tuple[int, int] | None = None) -> list[str]:
    command = ["curl", "-s", "-o", "/dev/null", "--max-time", str(CURL_TIMEOUT)]
    if byte_range is not None:
        command += ["-r", f"{byte_range[0]}-{byte_range[1] - 1}"]
    return [*command, "-w", "%{http_code} %{size_download}", url]


def _checked(output: str, expected: int) -> int:
    code, size = output.split()
    if code not in ("200", "206") or int(size) != expected:
        raise RuntimeError(f"curl got HTTP {code} and {size} bytes, wanted {expected}")
    return int(size)


@dataclass(frozen=True)
class Fetch:
    """One byte range of the file as a node data URL and as the same bytes from nginx."""

    node_url: str
    start: int
    end: int


def fetch_all(fetches: Sequence[Fetch], nginx: str | None) -> float:
    """Fetch the ranges one after the other from the node (or nginx); MB/s."""
    total, seconds = 0, 0.0
    for item in fetches:
        if nginx is None:
            command = curl_command(item.node_url)
        else:
            command = curl_command(f"{nginx}/{BAM_NAME}", (item.start, item.end))
        started = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CURL_TIMEOUT + 10, check=True
        )
        seconds += time.perf_counter() - started
        total += _checked(done.stdout, item.end - item.start)
    return total / seconds / MB


def fetch_concurrently(item: Fetch, nginx: str | None, streams: int) -> float:
    """``streams`` simultaneous downloads of the same range; aggregate MB/s."""
    if nginx is None:
        command = curl_command(item.node_url)
    else:
        command = curl_command(f"{nginx}/{BAM_NAME}", (item.start, item.end))
    started = time.perf_counter()
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(streams)
    ]
    try:
        outputs = [p.communicate(timeout=CURL_TIMEOUT + 10)[0] for p in processes]
    finally:
        for process in processes:
            _stop(process)
    seconds = time.perf_counter() - started
    total = sum(_checked(output, item.end - item.start) for output in outputs)
    return total / seconds / MB


def ticket(
    client: httpx.Client, object_id: str, name: str, start: int | None, end: int | None
) -> Any:
    params: dict[str, Any] = {"format": "BAM", "referenceName": name}
    if start is not None and end is not None:
        params |= {"start": start, "end": end}
    answer = client.get(f"/htsget/reads/{object_id}", params=params)
    answer.raise_for_status()
    return answer.json()["htsget"]


def byte_fetches(urls: Sequence[dict[str, Any]]) -> list[Fetch]:
    """The http URLs of a ticket as fetches (``data:`` URIs left out)."""
    out = []
    for entry in urls:
        url = entry["url"]
        if url.startswith("data:"):
            continue
        part = parse_qs(urlsplit(url).query)["part"][0]
        kind, span = part.split(":", 1)
        if kind != "b":
            raise RuntimeError(f"unexpected part {part!r}")
        start, end = (int(v) for v in span.split("-"))
        out.append(Fetch(url, start, end))
    return out


# --- region delivery --------------------------------------------------------------------------


def deliver(client: httpx.Client, object_id: str, region: tuple[str, int, int], out: Path) -> float:
    """Seconds to get a ticket for ``region`` and write all its URLs' bytes to ``out``."""
    name, start, end = region
    started = time.perf_counter()
    urls = ticket(client, object_id, name, start, end)["urls"]
    with out.open("wb") as sink:
        for entry in urls:
            url = entry["url"]
            if url.startswith("data:"):
                sink.write(base64.b64decode(url.split(",", 1)[1]))
                continue
            with client.stream("GET", url) as answer:
                answer.raise_for_status()
                for chunk in answer.iter_raw(1 << 20):
                    sink.write(chunk)
    return time.perf_counter() - started


def samtools_cut(bam: Path, region: tuple[str, int, int], out: Path) -> float:
    name, start, end = region
    started = time.perf_counter()
    subprocess.run(
        ["samtools", "view", "-b", "-o", str(out), str(bam), f"{name}:{start + 1}-{end}"],
        check=True,
        timeout=120,
    )
    return time.perf_counter() - started


def check_delivery(bam: Path, region: tuple[str, int, int], delivered: Path) -> None:
    """The delivered file is a valid BAM with at least the region's records."""
    name, start, end = region
    subprocess.run(["samtools", "quickcheck", str(delivered)], check=True, timeout=60)
    got = subprocess.run(
        ["samtools", "view", "-c", str(delivered)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    want = subprocess.run(
        ["samtools", "view", "-c", str(bam), f"{name}:{start + 1}-{end}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    if int(got.stdout) < int(want.stdout):
        raise RuntimeError(f"delivered {got.stdout.strip()} records, want {want.stdout.strip()}")


# --- the run ----------------------------------------------------------------------------------


def cells(case: str, workers: int | str, node: str, ref: str, ratio: str, goal: str) -> str:
    return f"| {case:<52} | {workers!s:>8} | {node:<34} | {ref:<22} | {ratio:>8} | {goal:<18} |"


def print_table(headings: tuple[str, str, str, str, str, str], rows: Sequence[str]) -> None:
    """The benchmark's Markdown table: headings, the rule, then ``rows`` made by ``cells``."""
    print(cells(*headings))
    print(cells(*("-" * 52, "-" * 8, "-" * 34, "-" * 22, "-" * 8, "-" * 18)).replace(" ", "-"))
    print("\n".join(rows))


def ticket_cell(result: WrkResult) -> str:
    rate = result.requests / result.seconds
    return f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, {rate:.0f}/s"


def ratio_row(case: str, workers: str, node: float, ref: float, goal: str = ">= 0.9") -> str:
    return cells(
        case, workers, f"{node:.0f} MB/s", f"nginx {ref:.0f} MB/s", f"{node / ref:.2f}", goal
    )


def ticket_rows(base: str, object_id: str, workers: int, workdir: Path) -> list[str]:
    script = workdir / "tickets.lua"
    paths = ticket_paths(object_id, random_regions(TICKET_REGIONS, SEED + 1))
    script.write_text(_WRK_SCRIPT % ",\n".join(json.dumps(p) for p in paths), encoding="utf-8")
    run_wrk(base, script, 16, WRK_WARMUP_SECONDS)  # warms every worker's index cache
    rows = []
    for connections in (1, 16):
        result = run_wrk(base, script, connections, WRK_SECONDS)
        note = ""
        if result.bad_status or result.socket_errors:
            note = f"{result.bad_status} non-2xx, {result.socket_errors} socket errors"
        case = f"ticket, random 1 Mb region, {connections} conn."
        rows.append(cells(case, workers, ticket_cell(result), "", "", note))
    return rows


def data_rows(
    bam: Path, object_id: str, workers: str, client: httpx.Client, nginx: str, pids: list[int]
) -> list[str]:
    full = client.get(f"/htsget/reads/{object_id}", params={"format": "BAM"})
    full.raise_for_status()
    whole = byte_fetches(full.json()["htsget"]["urls"])
    if len(whole) != 1 or (whole[0].start, whole[0].end) != (0, bam.stat().st_size):
        raise RuntimeError(f"the whole-file ticket is not one range: {whole}")
    big = [
        fetch
        for spec in BIG_TICKETS
        for fetch in byte_fetches(ticket(client, object_id, *spec)["urls"])
    ]
    rss = [max(peak_rss_mb(pid) for pid in pids)]
    fetch_all(whole, None)  # warm both paths and the page cache
    fetch_all(whole, nginx)
    runs: dict[str, list[float]] = {key: [] for key in ("wn", "wx", "bn", "bx", "cn", "cx")}
    for _ in range(DATA_REPEATS):  # interleaved, so drift hits both servers alike
        runs["wn"].append(fetch_all(whole, None))
        runs["wx"].append(fetch_all(whole, nginx))
        runs["bn"].append(fetch_all(big, None))
        runs["bx"].append(fetch_all(big, nginx))
    rss.append(max(peak_rss_mb(pid) for pid in pids))
    for _ in range(DATA_REPEATS):
        runs["cn"].append(fetch_concurrently(whole[0], None, CONCURRENT_STREAMS))
        runs["cx"].append(fetch_concurrently(whole[0], nginx, CONCURRENT_STREAMS))
    rss.append(max(peak_rss_mb(pid) for pid in pids))
    median = {key: statistics.median(values) for key, values in runs.items()}
    big_mb = sum(f.end - f.start for f in big) / MB
    cases = (
        (f"data: whole file ({whole[0].end / MB:.0f} MB), 1 stream", "w"),
        (f"data: 3 big tickets' {len(big)} ranges ({big_mb:.0f} MB)", "b"),
        (f"data: whole file, {CONCURRENT_STREAMS} concurrent streams", "c"),
    )
    rows = [ratio_row(case, workers, median[f"{k}n"], median[f"{k}x"]) for case, k in cases]
    per = "" if workers.startswith("1,") else " per worker"
    rows.append(
        cells(
            f"node peak RSS{per}: idle, 1 stream, {CONCURRENT_STREAMS} streams",
            workers,
            " -> ".join(f"{value:.0f}" for value in rss) + " MB",
            "",
            "",
            "< 200 MB, constant",
        )
    )
    return rows


def serve_rows(
    bam: Path, object_id: str, workers: int, listener: bool, config: dict[str, Any], workdir: Path
) -> list[str]:
    """Against ``workers`` node workers and as many nginx workers: tickets (when the data is on
    the main port) and data, from the main port or from the zero-copy data listener."""
    port = free_port()
    data = json.loads(json.dumps(config))
    data["public_url"] = f"http://127.0.0.1:{port}"
    data["server"] |= {"port": port, "workers": workers}
    if listener:
        data["htsget"]["data_listener"] = {"port": free_port()}
    data["logging"]["level"] = "WARNING"
    workdir.mkdir(parents=True)
    path = workdir / f"node-{workers}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with (
        running_nginx(bam.parent, workers, workdir) as nginx,
        running_node(["--config", str(path), "serve"], port, workdir) as node,
        httpx.Client(base_url=node.base_url, timeout=60) as client,
    ):
        pids = worker_pids(node.process.pid, workers)
        where = "data listener" if listener else "main port"
        rows = []
        if not listener:
            progress(f"{workers} worker(s): tickets")
            rows += ticket_rows(node.base_url, object_id, workers, workdir)
        progress(f"{workers} worker(s): data from the {where}")
        rows += data_rows(bam, object_id, f"{workers}, {where[:4]}", client, nginx, pids)
        if workers == 1:
            progress(f"1 worker: region delivery from the {where}")
            rows.append(delivery_row(bam, object_id, client, workdir, where[:4]))
    return rows


def delivery_row(bam: Path, object_id: str, client: httpx.Client, workdir: Path, where: str) -> str:
    regions = random_regions(DELIVERY_REGIONS, SEED + 2)
    delivered, cut = workdir / "delivered.bam", workdir / "cut.bam"
    node_s, local_s = [], []
    for n, region in enumerate(regions):
        node_s.append(deliver(client, object_id, region, delivered))
        local_s.append(samtools_cut(bam, region, cut))
        if n == 0:
            check_delivery(bam, region, delivered)
    node, local = statistics.median(node_s) * 1000, statistics.median(local_s) * 1000
    return cells(
        f"1 Mb region: ticket + fetch to file ({len(regions)}x)",
        f"1, {where}",
        f"median {node:.0f} ms",
        f"samtools view -b {local:.0f} ms",
        f"{node / local:.2f}",
        "time ratio, < 1",
    )


def missing_tools() -> list[str]:
    return [tool for tool in ("samtools", "curl", "nginx", "wrk") if shutil.which(tool) is None]


def tool_versions() -> tuple[str, str]:
    """nginx's and samtools' versions (both print a line of text; samtools' is Latin-1)."""
    nginx = subprocess.run(
        ["nginx", "-v"], capture_output=True, text=True, errors="replace", check=True, timeout=30
    ).stderr
    samtools = subprocess.run(
        ["samtools", "--version"],
        capture_output=True,
        text=True,
        errors="replace",
        check=True,
        timeout=30,
    ).stdout
    return nginx.strip().split("/")[-1], samtools.split()[1]


def main() -> None:
    missing = missing_tools()
    if missing:
        sys.exit(
            f"bench_htsget needs {', '.join(missing)}: apt-get install -y nginx wrk curl samtools"
        )
    nginx_version, samtools_version = tool_versions()
    # SIGTERM unwinds like Ctrl-C, so nginx and the node are stopped on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    bam, generation_s, reused = synthetic_bam()
    size = bam.stat().st_size
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-htsget-") as tmp:
        workdir = Path(tmp)
        settings = node_settings(workdir, "http://127.0.0.1:8080")
        progress("registering the BAM")
        with open_ingestor(settings) as ingestor:
            object_id = ingestor.ingest([bam], "OPEN")[0].object_id
        config = settings.model_dump(mode="json")
        for workers, listener in ((1, False), (2, False), (1, True), (2, True)):
            folder = workdir / f"w{workers}{'-listener' if listener else ''}"
            rows += serve_rows(bam, object_id, workers, listener, config, folder)
    generated = "reused; generated" if reused else "generated"
    print(
        f"\nhtsget, {size / MB:.0f} MB synthetic BAM ({len(CONTIGS)} x 100 Mb contigs,"
        f" {len(CONTIGS) * READS_PER_CONTIG / 1e6:.0f} M reads of {READ_LENGTH} bp;"
        f" {generated} in {generation_s:.0f} s), {os.cpu_count()} cores, loopback;"
        f" nginx {nginx_version} (sendfile on), samtools {samtools_version};"
        f" run took {time.monotonic() - started:.0f} s"
    )
    print("workers: uvicorn workers, and where ticket URLs send the data: main port or listener")
    print_table(("case", "workers", "gdi-node", "reference", "node/ref", "goal"), rows)


if __name__ == "__main__":
    main()
