"""connexion's request validation, with each parameter's JSON Schema validator kept and
messages that are one line and never repeat a credential.

connexion 3 deep-copies a parameter's definition and builds a new ``Draft4Validator`` for every
parameter of every request; on a Beacon query with four parameters that was about a tenth of a
worker's time (``scripts/bench beacon``). The checks are connexion's own: only the validator of a
definition is built once and reused.

Messages: a query or path parameter's is jsonschema's first line, prefixed with the parameter's
name; a value not in the form a ``pattern`` or ``format`` asks for is explained by the
parameter's ``description`` in the OpenAPI document, never by the regular expression. Header
parameters (``Authorization``) and JSON bodies (``passports``) carry credentials, so
their messages name the place and the rule broken, never the value sent.
"""

from __future__ import annotations

import threading
from typing import Any

from connexion.exceptions import BadRequestProblem
from connexion.utils import is_null, is_nullable
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError

MAX_KEPT = 4096  # parameter definitions of every app built in this process (tests build many)

_lock = threading.Lock()
# id(definition) -> (definition, validator); holding the definition keeps its id from being
# reused by another object while the entry exists
_kept: dict[int, tuple[dict[str, Any], Draft4Validator]] = {}


def validator_for(definition: dict[str, Any]) -> Draft4Validator:
    """The validator of one OpenAPI parameter definition (its ``schema``, or itself)."""
    entry = _kept.get(id(definition))
    if entry is not None and entry[0] is definition:
        return entry[1]
    schema = definition.get("schema", definition)
    validator = Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    with _lock:
        if len(_kept) >= MAX_KEPT:
            _kept.clear()
        _kept[id(definition)] = (definition, validator)
    return validator


class KeptValidatorParameterValidator(ParameterValidator):  # type: ignore[misc]
    """connexion's ``ParameterValidator`` with validators from :func:`validator_for`."""

    def validate_parameter(
        self,
        parameter_type: str,
        value: Any,
        param: dict[str, Any],
        param_name: str | None = None,
    ) -> str | None:
        if value is None or (is_nullable(param) and is_null(value)):
            result: str | None = ParameterValidator.validate_parameter(
                parameter_type, value, param, param_name
            )
            return result
        try:
            validator_for(param).validate(value)
        except ValidationError as exception:
            name = param_name or param.get("name", parameter_type)
            if parameter_type == "header":
                return f"header {name}: {rule_broken(exception)}"
            described = param.get("description") or param.get("schema", {}).get("description")
            if exception.validator in ("pattern", "format") and described:
                return f"{name}: {value!r} is not valid; allowed: {_sentence(described)}"
            return f"{name}: {exception.message}"
        return None


class RedactedJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """connexion's JSON body validation, answering with :func:`rule_broken` at the failing
    place instead of a message that repeats the value (a passport, say)."""

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if not self._nullable and body is None:
            raise BadRequestProblem(detail="Request body must not be empty")
        try:
            self._validator.validate(body)
        except ValidationError as exception:
            where = ".".join(str(part) for part in exception.absolute_path) or "the request body"
            raise BadRequestProblem(detail=f"{where}: {rule_broken(exception)}") from None
        return None


_RULES = {
    "maxLength": "must be at most {} characters long",
    "minLength": "must be at least {} characters long",
    "maxItems": "must have at most {} items",
    "minItems": "must have at least {} items",
    "maxProperties": "must have at most {} members",
    "minProperties": "must have at least {} members",
    "maximum": "must be at most {}",
    "minimum": "must be at least {}",
    "pattern": "is not in the form this field takes",
    "format": "must be a valid {}",
}


def rule_broken(error: ValidationError) -> str:
    """What the value must be, from the schema alone (the value itself is not repeated)."""
    keyword, expected = str(error.validator), error.validator_value
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    if keyword in ("pattern", "format") and described:
        return f"is not valid; allowed: {_sentence(described)}"
    if keyword in ("required", "additionalProperties", "dependencies"):
        return str(error.message)  # names members of the object, not values
    if keyword in _RULES:
        return _RULES[keyword].format(expected)
    if keyword in ("type", "enum"):
        choices = expected if isinstance(expected, list) else [expected]
        joiner = " or " if keyword == "type" else ", "
        return f"must be {'of type' if keyword == 'type' else 'one of'} " + joiner.join(
            str(c) for c in choices
        )
    return f"does not satisfy {keyword!r} of its schema"


def _sentence(description: str) -> str:
    """A parameter's description as one line (YAML folds and Markdown backticks removed)."""
    return " ".join(description.replace("`", "").split()).rstrip(".")
