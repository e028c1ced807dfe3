"""Request parameters are checked by connexion's rules with one kept validator per parameter
definition (gdi_node.web.parameters): the same verdicts and messages as connexion's own validator,
without building a JSON Schema validator per parameter per request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
from connexion.validators import ParameterValidator

from gdi_node.app import create_app
from gdi_node.bootstrap import migrated_sessions
from gdi_node.web import parameters
from gdi_node.web.parameters import KeptValidatorParameterValidator, validator_for
from tests.support.htsget_setup import node_settings

DEFINITIONS: list[dict[str, Any]] = [
    {"name": "start", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "granularity", "in": "query", "schema": {"enum": ["boolean", "count"]}},
    {"name": "ids", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
    {"name": "maybe", "in": "query", "required": True, "x-nullable": True,
     "schema": {"type": "string"}},
]  # fmt: skip
VALUES: list[Any] = [0, 7, -1, "x", "count", "record", ["a"], [1], None, "null", True]


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d["name"])
def test_verdicts_equal_connexions_own_and_messages_are_its_first_line_named(
    definition: dict[str, Any],
) -> None:
    kept = KeptValidatorParameterValidator([definition], uri_parser=None)
    for value in VALUES:
        ours = kept.validate_parameter("query", value, definition)
        theirs = ParameterValidator.validate_parameter("query", value, definition)
        assert (ours is None) == (theirs is None), (definition["name"], value)
        if value is None or theirs is None:
            assert ours == theirs
        else:
            assert ours == f"{definition['name']}: {theirs.splitlines()[0]}"


def test_a_header_parameters_message_never_repeats_its_value() -> None:
    definition = {"name": "Authorization", "in": "header", "schema": {"type": "string",
                  "maxLength": 20}}  # fmt: skip
    kept = KeptValidatorParameterValidator([definition], uri_parser=None)
    message = kept.validate_parameter("header", "Bearer secret-token-text", definition)
    assert message == "header Authorization: must be at most 20 characters long"


def test_a_definitions_validator_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    original = jsonschema.Draft4Validator.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(jsonschema.Draft4Validator, "__init__", counting)
    definition = {"name": "start", "in": "query", "schema": {"type": "integer"}}
    kept = KeptValidatorParameterValidator([definition], uri_parser=None)
    for value in range(50):
        assert kept.validate_parameter("query", value, definition) is None
    assert len(built) == 1


def test_an_equal_definition_at_a_reused_address_gets_its_own_validator() -> None:
    """Entries hold their definition, so an id cannot be reused while kept; and a stale entry
    (another object at that id) is never trusted."""
    first = {"name": "n", "in": "query", "schema": {"type": "integer"}}
    assert validator_for(first).is_valid(3)
    stale = {"name": "n", "in": "query", "schema": {"type": "string"}}
    parameters._kept[id(stale)] = (first, validator_for(first))  # as if the id were reused
    assert validator_for(stale).is_valid("text")
    assert not validator_for(stale).is_valid(3)


def test_a_bad_parameter_is_named_with_what_is_allowed_never_a_regular_expression(
    tmp_path: Path,
) -> None:
    settings = node_settings(tmp_path, "http://testserver")
    with migrated_sessions(settings):
        pass
    with create_app(settings, validate_responses=True).test_client() as client:
        bad = client.get("/ga4gh/beacon/v2/g_variants?referenceName=22&start=-5&end=9")
        good = client.get("/ga4gh/beacon/v2/g_variants?referenceName=22&start=5&end=9")
    assert bad.status_code == 400
    message = bad.json()["error"]["errorMessage"]
    assert message.startswith("start: '-5' is not valid; allowed: 0-based start;")
    assert "\\d" not in message
    assert "^\\s" not in message
    assert good.status_code == 200
