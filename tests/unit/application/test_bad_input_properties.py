"""Property: whatever a caller passes, a use-case answers or raises the library's own error.

Hostile messages, parameters and output schemas (hypothesis); no input may escape
as another exception type, and none may hang.
"""

from __future__ import annotations

import asyncio
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings

from inference_core.domain.chat import GenerationParams
from inference_core.domain.errors import InvalidParameterError
from tests.unit.application.bad_inputs import (
    config_texts,
    images,
    messages,
    params,
    probe,
    probe_config,
    probe_image,
    schemas,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(messages=messages)
def test_any_messages(messages: Any) -> None:
    for use_case in ("chat_text", "stream_chat"):
        assert asyncio.run(probe(use_case, messages=messages)) in ("ok", "typed")


@SETTINGS
@given(values=params)
def test_any_params(values: dict[str, Any]) -> None:
    try:
        built = GenerationParams.parse(values)
    except InvalidParameterError:
        return
    assert asyncio.run(probe("chat_text", user="hi", params=built)) in ("ok", "typed")


@SETTINGS
@given(schema=schemas)
def test_any_output_schema(schema: Any) -> None:
    assert asyncio.run(probe("chat_json", user="hi", schema=schema)) in ("ok", "typed")


@SETTINGS
@given(text=config_texts)
def test_any_config_file(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        assert probe_config(text, folder) in ("ok", "typed")


@SETTINGS
@given(data=images)
def test_any_image_bytes(data: bytes) -> None:
    assert probe_image(data) in ("ok", "typed")
