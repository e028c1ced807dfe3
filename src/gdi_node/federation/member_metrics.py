"""The members' Prometheus metrics on a hub (``/metrics``): per member, requests by outcome,
the time each took (a histogram; skipped requests are not timed) and whether its circuit is
open."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gdi_node.federation.circuit import Circuit
from gdi_node.federation.outcomes import MemberReply, Outcome


class MemberMetrics:
    def __init__(self, registry: CollectorRegistry, circuits: Mapping[str, Circuit]) -> None:
        self.requests = Counter(
            "gdi_node_member_requests_total",
            "Requests a hub made (or skipped) to its members, by member and outcome",
            ["member", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "gdi_node_member_request_duration_seconds",
            "Time a member took to answer the hub (or to reach its deadline), by member",
            ["member"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8),
        )
        registry.register(_CircuitCollector(circuits))

    def observe(self, reply: MemberReply) -> None:
        self.requests.labels(reply.member_id, reply.outcome.value).inc()
        if reply.outcome is not Outcome.CIRCUIT_OPEN:
            self.latency.labels(reply.member_id).observe(reply.seconds)


class _CircuitCollector(Collector):
    def __init__(self, circuits: Mapping[str, Circuit]) -> None:
        self._circuits = circuits

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "gdi_node_member_circuit_open",
            "1 while a member's circuit is open (it is skipped and probed in the background)",
            labels=["member"],
        )
        for member_id, circuit in self._circuits.items():
            family.add_metric([member_id], 0 if circuit.allows else 1)
        yield family
