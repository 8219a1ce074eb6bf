"""Validation of Splice's own methods' params against the plugin-protocol schema."""

from __future__ import annotations

import functools
from typing import Any

import jsonschema

from splice.errors import InvalidParamsError
from splice.protocol.generated import METHOD_PARAMS, SCHEMA


@functools.cache
def _validator(method: str) -> jsonschema.protocols.Validator:
    definition = METHOD_PARAMS[method]
    schema = {"$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(schema)


def validate_params(method: str, params: Any) -> None:
    """Raise InvalidParamsError naming the first problem with ``params`` for ``method``."""
    error = jsonschema.exceptions.best_match(_validator(method).iter_errors(params))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "params"
        raise InvalidParamsError(f"{method}: {where}: {error.message}")
