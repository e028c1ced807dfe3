"""connexion's request-parameter validation, with each parameter's JSON Schema validator kept.

connexion 3 deep-copies a parameter's definition and builds a new ``Draft4Validator`` for every
parameter of every request; on a Beacon query with four parameters that was about a tenth of a
worker's time (``scripts/bench beacon``). The checks and their messages are connexion's own:
only the validator of a definition is built once and reused.
"""

from __future__ import annotations

import threading
from typing import Any

from connexion.utils import is_null, is_nullable
from connexion.validators import ParameterValidator
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
            return str(exception)
        return None
