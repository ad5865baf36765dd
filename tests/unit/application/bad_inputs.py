"""Hypothesis strategies for hostile input, and the probe that classifies what a call did.

Shared by ``test_bad_input_properties.py`` and ``scripts/reliability_report.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import strategies as st

from inference_core.adapters.fakes import FakeChatModel
from inference_core.domain.errors import InferenceError
from tests.unit.application.support import Wired

#: Text including lone surrogates, controls and astral characters.
texts = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), texts, st.binary(max_size=8)
)
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)
    ),
    max_leaves=12,
)
roles = st.one_of(st.sampled_from(["system", "user", "assistant", "tool", "developer"]), json_like)
message = st.one_of(
    st.fixed_dictionaries({"role": roles, "content": json_like}),
    st.fixed_dictionaries(
        {
            "role": roles,
            "content": st.lists(
                st.fixed_dictionaries(
                    {"type": st.sampled_from(["text", "image_url", "input_audio", "x"])},
                    optional={"text": json_like, "image_url": json_like, "input_audio": json_like},
                ),
                max_size=3,
            ),
        },
        optional={"tool_calls": json_like, "name": json_like, "tool_call_id": json_like},
    ),
    json_like,
)
messages = st.one_of(st.lists(message, max_size=4), json_like)
PARAM_NAMES = ["temperature", "max_tokens", "top_p", "stop", "seed", "reasoning_effort", "x"]
params = st.dictionaries(st.sampled_from(PARAM_NAMES), json_like, max_size=4)
KEYWORDS = [
    "type", "properties", "items", "required", "enum", "const", "$ref", "$defs", "pattern",
    "minLength", "maxItems", "anyOf", "oneOf", "allOf", "not", "additionalProperties",
    "patternProperties", "prefixItems", "uniqueItems", "minimum", "if", "then", "$schema",
]  # fmt: skip
schemas = st.recursive(
    st.one_of(json_like, st.dictionaries(st.sampled_from(KEYWORDS), json_like, max_size=3)),
    lambda children: st.dictionaries(st.sampled_from(KEYWORDS), children, max_size=4),
    max_leaves=10,
)


CONFIG_KEYS = [
    "default_model", "api_keys", "routing", "models", "fallbacks", "retry", "timeouts",
    "model_configs", "custom_endpoints", "provider_client", "max_attempts", "deadline", "x",
]  # fmt: skip
#: Config documents: real keys with hostile values, or arbitrary text (YAML syntax errors).
config_texts = st.one_of(
    st.dictionaries(st.sampled_from(CONFIG_KEYS), json_like, max_size=5).map(repr),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")),
)
#: Image bytes: random, or a real PNG/JPEG/GIF header followed by junk.
HEADERS = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP", b"BM"]
images = st.one_of(
    st.binary(max_size=256),
    st.tuples(st.sampled_from(HEADERS), st.binary(max_size=256)).map(lambda t: t[0] + t[1]),
)


def probe_config(text: str, folder: str) -> str:
    """Load ``text`` as a runtime config: ``ok``, ``typed`` or the escaped exception type."""
    from pathlib import Path

    from inference_core.adapters.config import load_runtime

    path = Path(folder) / "inference_runtime.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_runtime(path, environ={})
    except InferenceError:
        return "typed"
    except Exception as exc:
        return f"untyped {type(exc).__name__}: {exc}"[:200]
    return "ok"


def probe_image(data: bytes) -> str:
    """Read ``data`` as an image through ImageUtils: ``ok``, ``typed`` or the escaped type."""
    from inference_core import ImageUtils

    try:
        ImageUtils.get_image_info(data)
    except InferenceError:
        return "typed"
    except Exception as exc:
        return f"untyped {type(exc).__name__}: {exc}"[:200]
    return "ok"


async def probe(use_case: str, **kwargs: Any) -> str:
    """``ok``, ``typed`` (an InferenceError), ``hang`` (no answer in 5 s) or the escaped type."""
    wired = Wired(fakes={"p1": FakeChatModel(default_text='{"a": 1}')})
    call = getattr(wired.inference, use_case)
    try:
        async with asyncio.timeout(5):
            if use_case == "stream_chat":
                async for _ in call(**kwargs):
                    pass
            else:
                await call(**kwargs)
    except TimeoutError:
        return "hang"
    except InferenceError:
        return "typed"
    except Exception as exc:  # what the property forbids
        return f"untyped {type(exc).__name__}: {exc}"[:200]
    return "ok"
