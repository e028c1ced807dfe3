"""Benchmark: cost of verifying a GA4GH passport with 10 visas, and the latency it adds.

Run with ``scripts/bench passport`` (or ``python -m tests.benchmarks.bench_passport``). Issuers
are real HTTP servers on loopback; the node is ``gdi-node serve`` for the request figures.
Prints one table; goal: warm verification p50 <= 1 ms.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from gdi_node.passport.audit_event import AuditEvent
from gdi_node.passport.authorizer import Credentials, RequestFacts
from gdi_node.passport.jwks import JwksCache
from gdi_node.passport.transport import TrustedHttp
from gdi_node.passport.verifier import PassportVerifier
from tests.support.passport_world import World, open_stack, open_world
from tests.support.processes import GDI_NODE, free_port, wait_until_ready

FACTS = RequestFacts("bench", "127.0.0.1", None)


def passport_with_ten_visas(world: World) -> str:
    visas = [world.grant(value=f"urn:gdi:dataset-{n}") for n in range(7)] + [
        *world.registered(),
        world.aai.visa(
            "alice", "AffiliationAndRole", "faculty@uni.example", world.aai.issuer, by="so"
        ),
    ]
    return world.broker.passport("alice", visas)


def timed(action: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def row(name: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"| {name:<46} | {len(samples):>5} | {p50:>7.3f} | {p99:>7.3f} |"


def decide_all(stack: Any, token: str) -> None:
    principal = stack.authorizer.principal(Credentials(bearer=token), FACTS)
    for dataset_id in stack.authorizer.policy.dataset_ids:
        stack.authorizer.decide(principal, dataset_id, FACTS)


def verification_rows(world: World, workdir: Path) -> list[str]:
    token = passport_with_ten_visas(world)
    settings = world.settings(workdir)
    rows = []

    trust = settings.trust
    http = TrustedHttp(timeout=3, allow_insecure_http=True)

    def verifier() -> PassportVerifier:
        jwks = JwksCache(
            http, max_bytes=trust.jwks_max_bytes, ttl_seconds=600, min_refetch_seconds=60
        )
        return PassportVerifier(trust, jwks, http)

    def cold() -> None:
        verifier().principal_from_passports([token])

    rows.append(row("cold: empty caches, JWKS fetched (3 issuers)", timed(cold, 50)))
    warm = verifier()
    warm.principal_from_passports([token])

    def warm_keys() -> None:
        # forget verified visas and principals: every signature is checked again
        warm._visa_cache = type(warm._visa_cache)(10_000)
        warm._principal_cache = type(warm._principal_cache)(10_000)
        warm.principal_from_passports([token])

    rows.append(row("warm keys: 11 signatures checked, JWKS cached", timed(warm_keys, 300)))
    rows.append(
        row(
            "warm caches: same passport again",
            timed(lambda: warm.principal_from_passports([token]), 5000),
        )
    )
    with open_stack(settings) as stack:
        audit = stack.audit
        event = AuditEvent(
            time=datetime.now(UTC),
            subject_iss="https://aai.example",
            subject_sub="alice",
            operation="bench",
            dataset_id="DS-CTRL",
            object_id=None,
            decision="allow",
            disclosure="file",
            visa_ids=("a", "b"),
            client_address="127.0.0.1",
            request_id="r",
        )
        rows.append(
            row("audit: record one decision (enqueue)", timed(lambda: audit.record(event), 5000))
        )
        audit.flush()
        rows.append(
            row(
                "authorizer: principal + 4 permits + audit",
                timed(
                    lambda: [
                        stack.authorizer.decide(
                            stack.authorizer.principal(Credentials(bearer=token), FACTS), ds, FACTS
                        )
                        for ds in stack.authorizer.policy.dataset_ids
                    ],
                    2000,
                ),
            )
        )
    http.close()
    return rows


def request_rows(world: World, workdir: Path) -> list[str]:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "node.yaml"
    data = world.settings(workdir).model_dump(mode="json")
    data["server"]["port"] = port
    data["logging"]["level"] = "WARNING"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    token = passport_with_ten_visas(world)
    process = subprocess.Popen(
        [str(GDI_NODE), "--config", str(config), "serve"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base, process)
        with httpx.Client(base_url=base) as client:
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(50):  # warm up both paths
                client.get("/permissions")
                client.get("/permissions", headers=headers)
            anonymous = timed(lambda: client.get("/permissions"), 1000)
            with_passport = timed(lambda: client.get("/permissions", headers=headers), 1000)
    finally:
        process.terminate()
        process.wait(timeout=30)
    added = [p - a for p, a in zip(sorted(with_passport), sorted(anonymous), strict=True)]
    return [
        row("GET /permissions, anonymous (HTTP, 1 worker)", anonymous),
        row("GET /permissions, passport with 10 visas", with_passport),
        row("added by the passport (per percentile)", added),
    ]


def main() -> None:
    with open_world() as world, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rows = verification_rows(world, workdir / "v")
        rows += request_rows(world, workdir / "r")
    print(f"\nPassport verification, 10 visas (RS256 x8, ES256 x3), {os.cpu_count()} cores")
    print(f"| {'case':<46} |  runs |  p50 ms |  p99 ms |")
    print(f"|{'-' * 48}|-------|---------|---------|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
