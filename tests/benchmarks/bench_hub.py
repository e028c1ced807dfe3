"""Benchmark: what a hub costs over asking its member directly, with a member hanging, and
under 64 clients (issue #20, decision record 0031).

Run with ``scripts/bench hub``. Needs ``wrk``. A member node (the demo's synthetic data, SQLite,
1 worker) and two hubs are ``gdi-node serve`` processes on loopback. Hub A federates the member
alone. Hub B also federates a member that accepts connections and never answers (deadline
1 s, circuit opening after 10 failures in a row). Neither hub holds data of its own.

Queries: Beacon ``g_variants`` allele queries, count granularity, for 200 SNVs of the member's
public dataset, cycled by wrk. Printed as one table:

1. p50 and p99 at 1 connection, asked of the member directly and of hub A. The rounds are
   interleaved and the overhead is the difference of the p50s in the same round. Goal: ≤ 10 ms.
2. Hub B while its circuit is closed: 10 requests one at a time, each waiting the hanging
   member's deadline. Goal: p99 ≤ deadline + 50 ms. Then, once the circuit is open: p99 at 1
   connection. Goal: ≤ hub A's p99 + 10 ms.
3. Hub A under wrk with 64 connections for 60 s. Goals: no errors, no member outcome other
   than ``answered`` (from the hub's ``/metrics``), and the hub's RSS flat (at the end at most
   1.1 times what it was after the warm-up).
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pysam
import yaml

from gdi_node.demo.runner import prepare_demo
from tests.benchmarks.bench_htsget import _WRK_SCRIPT, cells, print_table, progress, run_wrk
from tests.support.faulty_members import faulty_member
from tests.support.processes import RunningNode, free_port, running_node

BEACON = "/ga4gh/beacon/v2"
DEADLINE = 1.0
BEFORE_OPEN = 10
QUERIES = 200
# wrk asks from one address: a query budget would turn it away (bench_membership measures it)
UNLIMITED = 10**9


def allele_paths(vcf: Path) -> list[str]:
    paths = []
    with pysam.VariantFile(str(vcf)) as records:
        for r in records:
            if r.ref is None or not r.alts or len(r.ref) != 1 or len(r.alts[0]) != 1:
                continue
            paths.append(
                f"{BEACON}/g_variants?assemblyId=GRCh38&referenceName={r.chrom.removeprefix('chr')}"
                f"&start={r.start}&referenceBases={r.ref}&alternateBases={r.alts[0]}"
                "&requestedGranularity=count"
            )
            if len(paths) == QUERIES:
                break
    return paths


def unlimited_budget(config: Path) -> None:
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings.setdefault("beacon", {})["budget"] = {"units": UNLIMITED}
    config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")


def hub_config(folder: Path, port: int, members: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "data_dir": ".",
        "public_url": f"http://127.0.0.1:{port}",
        "server": {"port": port, "workers": 1},
        "logging": {"level": "WARNING"},
        "node": {"id": f"org.example.bench-hub-{port}", "name": "bench hub"},
        "beacon": {"budget": {"units": UNLIMITED}},
        "federation": {
            "members": members,
            "list_member_metadata": False,
            "circuit": {"failures": BEFORE_OPEN, "probe_seconds": 3600},
            "max_connections_per_member": 64,
        },
    }
    path = folder / "hub.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextlib.contextmanager
def serving(config: Path, port: int, folder: Path) -> Iterator[RunningNode]:
    with running_node(["--config", str(config), "serve"], port, folder, ready_timeout=120) as node:
        yield node


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def member_outcomes(hub: str) -> dict[str, float]:
    """``gdi_node_member_requests_total`` by outcome, from the hub's /metrics."""
    out: dict[str, float] = {}
    for line in httpx.get(f"{hub}/metrics").text.splitlines():
        if line.startswith("gdi_node_member_requests_total{"):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            out[outcome] = out.get(outcome, 0) + float(line.rsplit(" ", 1)[1])
    return out


def run(seconds: int, rounds: int) -> None:
    began = time.monotonic()
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="gdi-node-bench-hub-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        root = Path(tmp)
        script = root / "alleles.lua"
        member_port = free_port()
        progress("preparing the member (demo data)")
        member = prepare_demo(root / "member", "127.0.0.1", member_port)
        unlimited_budget(member.config_file)
        paths = allele_paths(member.files.vcf)
        script.write_text(_WRK_SCRIPT % ",\n".join(f'"{p}"' for p in paths), encoding="utf-8")
        member_node = stack.enter_context(serving(member.config_file, member_port, root / "member"))
        entry: dict[str, Any] = {"id": "member", "name": "member", "base_url": member_node.base_url}
        port_a = free_port()
        hub_a = stack.enter_context(
            serving(hub_config(root / "hub-a", port_a, [entry]), port_a, root / "hub-a")
        )
        for base in (member_node.base_url, hub_a.base_url):
            run_wrk(base, script, 4, 3)  # warm caches and connections
        direct_p50, hub_p50, hub_p99 = [], [], []
        for n in range(rounds):
            progress(f"round {n + 1}/{rounds}: member directly, then hub A, 1 connection")
            direct = run_wrk(member_node.base_url, script, 1, seconds)
            through = run_wrk(hub_a.base_url, script, 1, seconds)
            direct_p50.append(direct.p50_ms)
            hub_p50.append(through.p50_ms)
            hub_p99.append(through.p99_ms)
            overhead = through.p50_ms - direct.p50_ms
            rows.append(cells(
                f"allele count, 1 conn, round {n + 1}: hub A vs member p50", 1,
                f"p50 {through.p50_ms:.2f} ms, p99 {through.p99_ms:.2f} ms",
                f"member {direct.p50_ms:.2f} / {direct.p99_ms:.2f} ms",
                f"+{overhead:.2f}", "overhead <= 10 ms",
            ))  # fmt: skip
        healthy_p99 = statistics.median(hub_p99)

        hanging = stack.enter_context(faulty_member("hang"))
        port_b = free_port()
        entries = [entry, {"id": "hanging", "name": "hanging", "base_url": hanging.base_url,
                           "deadline_seconds": DEADLINE}]  # fmt: skip
        hub_b = stack.enter_context(
            serving(hub_config(root / "hub-b", port_b, entries), port_b, root / "hub-b")
        )
        progress(f"hub B: {BEFORE_OPEN} requests while the hanging member's circuit is closed")
        waits = []
        with httpx.Client(base_url=hub_b.base_url, timeout=30) as client:
            for path in paths[:BEFORE_OPEN]:
                started = time.monotonic()
                reply = client.get(path).json()
                waits.append(time.monotonic() - started)
                statuses = {
                    m["memberId"]: m["status"] for m in reply["info"]["federation"]["members"]
                }
                if statuses["hanging"] != "timeout":
                    raise RuntimeError(f"the hanging member was {statuses['hanging']}, not timeout")
            opened = client.get(paths[0]).json()["info"]["federation"]["members"]
        if {m["memberId"]: m["status"] for m in opened}["hanging"] != "circuit-open":
            raise RuntimeError("the circuit did not open")
        worst = max(waits)
        rows.append(cells(
            f"hub B, member hanging, circuit closed ({BEFORE_OPEN} requests)", 1,
            f"p99 {worst * 1000:.0f} ms", f"deadline {DEADLINE * 1000:.0f} ms",
            f"+{(worst - DEADLINE) * 1000:.0f}", "<= deadline + 50 ms",
        ))  # fmt: skip
        progress("hub B with the circuit open, 1 connection")
        run_wrk(hub_b.base_url, script, 1, 3)
        after = run_wrk(hub_b.base_url, script, 1, seconds)
        rows.append(cells(
            "hub B, member hanging, circuit open", 1,
            f"p50 {after.p50_ms:.2f} ms, p99 {after.p99_ms:.2f} ms",
            f"hub A p99 {healthy_p99:.2f} ms", f"+{after.p99_ms - healthy_p99:.2f}",
            "<= hub A p99 + 10 ms",
        ))  # fmt: skip

        progress("hub A, 64 connections for 60 s")
        run_wrk(hub_a.base_url, script, 64, 5)
        before_outcomes = member_outcomes(hub_a.base_url)
        rss_start = rss_mb(hub_a.process.pid)
        load = run_wrk(hub_a.base_url, script, 64, 60)
        rss_end = rss_mb(hub_a.process.pid)
        outcomes = member_outcomes(hub_a.base_url)
        missing = {}
        for outcome, count in outcomes.items():
            grown = count - before_outcomes.get(outcome, 0)
            if outcome != "answered" and grown > 0:
                missing[outcome] = grown
        not_answered = sum(missing.values())
        errors = load.bad_status + load.socket_errors
        rate = load.requests / load.seconds
        rows.append(cells(
            "hub A, 64 connections, 60 s", 1,
            f"{rate:.0f}/s, p50 {load.p50_ms:.0f} ms, p99 {load.p99_ms:.0f} ms",
            f"errors {errors:.0f}, partial {not_answered:.0f} {missing or ''}", "",
            "0 errors, 0 partial",
        ))  # fmt: skip
        rows.append(cells(
            "hub A RSS, after warm-up -> after 60 s at 64 conn", 1,
            f"{rss_start:.0f} MB -> {rss_end:.0f} MB", "", f"{rss_end / rss_start:.2f}", "<= 1.10",
        ))  # fmt: skip
    print()
    print_table(("case", "workers", "hub", "reference", "ratio", "goal"), rows)
    print(
        f"\nMachine: {platform.processor() or platform.machine()}, Python"
        f" {sys.version.split()[0]}; wrk {seconds} s per case, {rounds} interleaved rounds;"
        f" run took {time.monotonic() - began:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench hub", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=15, help="wrk seconds per 1-conn case")
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    run(options.seconds, options.rounds)


if __name__ == "__main__":
    main()
