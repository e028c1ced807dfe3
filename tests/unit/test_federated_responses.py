"""Combining a hub's answer with its members' (decision record 0031), on documents written
here: the caller's includeResultsetResponses applies to the combined answer, granularities
combine as the record says, and the federation's circuit opens and closes as configured."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gdi_node.beacon.framework.federated_responses import Combination, Part, opaque, transparent
from gdi_node.beacon.framework.requests import ResultsetsShown
from gdi_node.config.federation import FederationSettings
from gdi_node.federation.circuit import Circuit, CircuitState
from gdi_node.federation.member_hosts import member_hosts


def answer(level: str, *sets: dict[str, Any]) -> dict[str, Any]:
    exists = any(s["exists"] for s in sets)
    summary: dict[str, Any] = {"exists": exists}
    if level != "boolean":
        summary["numTotalResults"] = sum(s["resultsCount"] for s in sets)
    return {
        "meta": {
            "beaconId": "b",
            "apiVersion": "v2.1.1",
            "returnedSchemas": [],
            "returnedGranularity": level,
            "receivedRequestSummary": {"includeResultsetResponses": "ALL"},
        },
        "responseSummary": summary,
        "response": {"resultSets": list(sets)},
    }


def result_set(name: str, count: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": name,
        "setType": "dataset",
        "exists": count > 0,
        "resultsCount": count,
        "results": [],
        **extra,
    }


def test_the_callers_hit_choice_applies_to_the_combined_result_sets() -> None:
    own = Part(answer("count", result_set("A", 0)))
    member = Part(answer("count", result_set("B", 3), result_set("C", 0)), "north", "North")
    combined = transparent(own, [member], Combination(shown=ResultsetsShown.HIT))
    assert [s["id"] for s in combined["response"]["resultSets"]] == ["north:B"]
    assert combined["responseSummary"]["numTotalResults"] == 3
    assert combined["meta"]["receivedRequestSummary"]["includeResultsetResponses"] == "HIT"


def test_transparent_granularity_is_the_best_any_part_answered_at() -> None:
    own = Part(answer("boolean", result_set("A", 1, info={"returnedGranularity": "boolean"})))
    member = Part(answer("count", result_set("B", 7)), "south", "South")
    combined = transparent(own, [member], Combination(shown=ResultsetsShown.ALL))
    assert combined["meta"]["returnedGranularity"] == "count"
    (own_set, member_set) = combined["response"]["resultSets"]
    assert own_set["info"] == {"returnedGranularity": "boolean"}
    assert member_set["info"]["member"]["id"] == "south"


def test_opaque_answer_of_boolean_parts_only_says_at_least_one() -> None:
    own = Part(answer("boolean", result_set("A", 0)))
    member = Part(answer("boolean", result_set("B", 1)), "east", "East")
    combined = opaque(own, [member], Combination(shown=ResultsetsShown.ALL, national_id="DK"))
    (national,) = combined["response"]["resultSets"]
    assert national["exists"] is True
    assert national["resultsCount"] == 1
    assert national["countPrecision"] == "imprecise"
    assert "numTotalResults" not in combined["responseSummary"]


def test_opaque_count_keeps_the_least_precise_parts_precision_and_adjustments() -> None:
    own = Part(answer("count", result_set("A", 4, countPrecision="imprecise", countAdjustedTo=[4])))
    member = Part(answer("count", result_set("B", 10, countPrecision="exact")), "m", "M")
    combined = opaque(own, [member], Combination(shown=ResultsetsShown.ALL))
    assert combined["responseSummary"] == {
        "exists": True,
        "numTotalResults": 14,
        "countPrecision": "imprecise",
        "countAdjustedTo": [4],
    }


def test_a_circuit_opens_after_the_configured_failures_in_a_row_and_closes_on_success() -> None:
    circuit = Circuit(failures=2)
    assert circuit.failed() is False
    circuit.succeeded()  # a success in between resets the run
    assert circuit.failed() is False
    assert circuit.failed() is True
    assert state_of(circuit) is CircuitState.OPEN
    assert circuit.allows is False
    circuit.succeeded()
    assert state_of(circuit) is CircuitState.CLOSED


def state_of(circuit: Circuit) -> CircuitState:
    return circuit.state


def test_member_ids_must_be_unique() -> None:
    member = {"id": "north", "name": "North", "base_url": "http://north.example.org"}
    with pytest.raises(ValidationError, match="repeated"):
        FederationSettings.model_validate({"members": [member, member]})


def test_a_host_two_members_share_names_neither_but_host_and_port_do() -> None:
    settings = FederationSettings.model_validate(
        {
            "members": [
                {"id": "north", "name": "N", "base_url": "http://127.0.0.1:8081"},
                {"id": "south", "name": "S", "base_url": "http://127.0.0.1:8082"},
                {"id": "west", "name": "W", "base_url": "https://drs.west.example.org"},
            ]
        }
    )
    assert member_hosts(settings) == {
        "127.0.0.1:8081": "north",
        "127.0.0.1:8082": "south",
        "drs.west.example.org": "west",
    }
