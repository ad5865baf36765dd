"""Descriptor files: a sub-agent declared in YAML or JSON, or named as ``module:attribute``.

A file holds the fields of :class:`~inference_core.domain.descriptors.AgentDescriptor`
(prompts, ``output_schema``, ``evaluator``, ``materialize`` rules), so a
story -> keyframes -> narration step needs no Python. It is read with the same
safe loader and limits as ``inference_runtime.yaml`` (no YAML tags, no aliases),
and every problem names the file and the field.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from inference_core.adapters.config.loader import parse_config_text, read_config_file
from inference_core.domain.descriptors import AgentDescriptor
from inference_core.domain.errors import ConfigurationError

__all__ = ["BUILTIN_DESCRIPTORS", "load_descriptor"]

#: Descriptor files shipped with the library (``inference-core run storyboard``).
BUILTIN_DESCRIPTORS = Path(__file__).resolve().parents[2] / "data" / "descriptors"


def load_descriptor(spec: str | Path) -> AgentDescriptor:
    """The descriptor a path, a built-in name or ``module:attribute`` names.

    Raises:
        ConfigurationError: The file is missing or malformed, the attribute is
            not an ``AgentDescriptor``, or a field is invalid (named).
    """
    text = str(spec)
    path = Path(text).expanduser()
    if not path.exists() and ":" in text and not text.startswith(("/", ".")):
        return _from_module(text)
    if not path.exists():
        shipped = BUILTIN_DESCRIPTORS / f"{text}.yaml"
        if shipped.exists():
            path = shipped
        else:
            names = ", ".join(sorted(p.stem for p in BUILTIN_DESCRIPTORS.glob("*.yaml")))
            raise ConfigurationError(
                f"{text}: no such descriptor file (built-in descriptors: {names or 'none'})"
            )
    data = parse_config_text(
        read_config_file(path), source=str(path), is_json=path.suffix.lower() == ".json"
    )
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: a descriptor file must hold a mapping")
    return _validated(data, str(path))


def _validated(data: dict[str, Any], source: str) -> AgentDescriptor:
    if "output_model" in data:
        raise ConfigurationError(
            f"{source}: output_model needs Python; use output_schema (a JSON Schema) in a file"
        )
    try:
        return AgentDescriptor.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'descriptor'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigurationError(f"{source}: invalid descriptor: {problems}") from None


def _from_module(spec: str) -> AgentDescriptor:
    module_name, _, attribute = spec.partition(":")
    try:
        value = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"{spec}: cannot import the descriptor ({exc})") from None
    if not isinstance(value, AgentDescriptor):
        raise ConfigurationError(f"{spec} is a {type(value).__name__}, not an AgentDescriptor")
    return value
