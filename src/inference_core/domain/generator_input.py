"""Generator inputs: one pydantic model per generator, published and enforced as one schema.

A generator's ``input_model`` is a :class:`GeneratorInput`: strict (``True`` is
not an integer, ``"3"`` is not a number), unknown fields refused, defaults
applied. Its JSON Schema is what the generator publishes, so what callers read
is what is checked. A generator may opt in to ignoring unknown fields
(``model_config = ConfigDict(extra="ignore")``); :func:`validate_params` then
reports what it ignored so the caller can say so.

Generators written for the original module describe their input as a flat
``{field: {"type", "required", "default", "description"}}`` dict;
:func:`flat_schema_model` turns that into the same kind of model, so they are
held to the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from inference_core.domain.errors import InvalidGeneratorInput

__all__ = [
    "FLAT_TYPES",
    "GeneratorInput",
    "flat_schema_model",
    "input_schema",
    "validate_params",
]


class GeneratorInput(BaseModel):
    """Base of every generator's input model: strict, closed, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


#: The flat seed schema's type names and the Python types they check.
FLAT_TYPES: Mapping[str, Any] = {
    "string": str,
    "integer": int,
    "float": float,
    "number": float,
    "boolean": bool,
    "array": list[Any],
    "object": dict[str, Any],
}


def _problem(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ())) or "input"
    if error.get("type") == "extra_forbidden":
        return f"unknown field {where!r}"
    if error.get("type") == "missing":
        return f"missing required field {where!r}"
    return f"{where}: {error.get('msg', 'invalid')}"


def validate_params(
    generator_id: str, model: type[BaseModel], params: Mapping[str, Any]
) -> tuple[BaseModel, tuple[str, ...]]:
    """Validate ``params`` against ``model``; return the instance and the fields it ignored.

    Raises:
        InvalidGeneratorInput: Naming every field that was wrong, unknown or missing.
    """
    try:
        instance = model.model_validate(dict(params))
    except ValidationError as exc:
        problems = [_problem(cast("Mapping[str, Any]", e)) for e in exc.errors()]
        raise InvalidGeneratorInput(generator_id, problems) from None
    if model.model_config.get("extra") != "ignore":
        return instance, ()  # closed models refuse unknown fields, so none was ignored
    known = set(model.model_fields)
    known |= {f.alias for f in model.model_fields.values() if f.alias}
    ignored = tuple(sorted(k for k in params if k not in known))
    return instance, ignored


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema a generator publishes for ``model`` (validation mode)."""
    return model.model_json_schema(mode="validation")


def flat_schema_model(generator_id: str, flat: Mapping[str, Any]) -> type[GeneratorInput]:
    """Build the input model of a seed-style flat schema.

    Raises:
        InvalidGeneratorInput: The flat schema itself is malformed (unknown
            type, a field that is not a mapping).
    """
    fields: dict[str, Any] = {}
    problems: list[str] = []
    for name, spec in flat.items():
        if not isinstance(spec, Mapping):
            problems.append(f"schema field {name!r} must be a mapping")
            continue
        type_name = spec.get("type", "string")
        python_type = FLAT_TYPES.get(type_name)
        if python_type is None:
            problems.append(
                f"schema field {name!r} has unknown type {type_name!r} "
                f"(expected one of {', '.join(FLAT_TYPES)})"
            )
            continue
        description = spec.get("description")
        if spec.get("required", False):
            fields[name] = (python_type, Field(description=description))
        else:
            default = spec.get("default")
            annotation = python_type if default is not None else python_type | None
            fields[name] = (annotation, Field(default=default, description=description))
    if problems:
        raise InvalidGeneratorInput(generator_id, problems)
    model_name = "".join(part.title() for part in generator_id.split("_")) + "Input"
    created = create_model(model_name, __base__=GeneratorInput, **fields)
    return cast("type[GeneratorInput]", created)
