"""Write src/inference_core/data/catalog.json from the table below (run after editing it).

Prices are US dollars per million tokens as published by each provider; ``None``
where we do not know. Limits are (context window, max output tokens).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "src" / "inference_core" / "data" / "catalog.json"

VISION_JSON_SCHEMA = {"vision": True, "json_output": "json_schema", "tools": True}
GPT5 = {**VISION_JSON_SCHEMA, "reasoning": True, "sampling_params": False}


def m(
    id: str,
    provider: str,
    ctx: int | None,
    out: int | None,
    price: tuple[float | None, float | None, float | None] | None = None,
    caps: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"id": id, "provider": provider}
    if ctx:
        spec["context_window"] = ctx
    if out:
        spec["max_output_tokens"] = out
    if caps:
        spec["capabilities"] = caps
    if price:
        spec["pricing"] = {
            k: v
            for k, v in zip(("input", "output", "cached_input"), price, strict=True)
            if v is not None
        }
    spec.update(extra)
    return spec


ANTHROPIC_OLD = {"vision": True, "json_output": "none", "tools": True}
ANTHROPIC_NEW = {"vision": True, "json_output": "json_schema", "tools": True}
OLLAMA_TEXT = {"json_output": "json_schema", "stream_usage": True}
# Models whose Ollama template has a tool section (Ollama's "tools" tag).
OLLAMA_TOOLS = {**OLLAMA_TEXT, "tools": True}
LOCAL = 0.0, 0.0, None

MODELS = [
    # OpenAI: chat completions. GPT-5 family: max_completion_tokens + reasoning_effort.
    m("gpt-5", "openai", 400_000, 128_000, (1.25, 10.0, 0.125), GPT5, client="gpt5_http"),
    m("gpt-5-mini", "openai", 400_000, 128_000, (0.25, 2.0, 0.025), GPT5, client="gpt5_http"),
    m("gpt-5-nano", "openai", 400_000, 128_000, (0.05, 0.40, 0.005), GPT5, client="gpt5_http"),
    m("gpt-4.1", "openai", 1_047_576, 32_768, (2.0, 8.0, 0.50), VISION_JSON_SCHEMA),
    m("gpt-4.1-mini", "openai", 1_047_576, 32_768, (0.40, 1.60, 0.10), VISION_JSON_SCHEMA),
    m("gpt-4.1-nano", "openai", 1_047_576, 32_768, (0.10, 0.40, 0.025), VISION_JSON_SCHEMA),
    m("gpt-4o", "openai", 128_000, 16_384, (2.50, 10.0, 1.25), VISION_JSON_SCHEMA),
    m("gpt-4o-mini", "openai", 128_000, 16_384, (0.15, 0.60, 0.075), VISION_JSON_SCHEMA),
    m("gpt-4-turbo", "openai", 128_000, 4_096, (10.0, 30.0, None), {"vision": True, "tools": True}),
    m("gpt-4", "openai", 8_192, 4_096, (30.0, 60.0, None), {"json_output": "none", "tools": True}),
    m("gpt-3.5-turbo", "openai", 16_385, 4_096, (0.50, 1.50, None), {"tools": True}),
    # Anthropic: Messages API.
    m(
        "claude-opus-4-5-20251101",
        "anthropic",
        200_000,
        64_000,
        (5.0, 25.0, 0.50),
        ANTHROPIC_NEW,
        aliases=["claude-opus-4-5"],
    ),
    m(
        "claude-sonnet-4-5-20250929",
        "anthropic",
        200_000,
        64_000,
        (3.0, 15.0, 0.30),
        ANTHROPIC_NEW,
        aliases=["claude-sonnet-4-5"],
    ),
    m(
        "claude-haiku-4-5-20251001",
        "anthropic",
        200_000,
        64_000,
        (1.0, 5.0, 0.10),
        ANTHROPIC_NEW,
        aliases=["claude-haiku-4-5"],
    ),
    m(
        "claude-opus-4-1-20250805",
        "anthropic",
        200_000,
        32_000,
        (15.0, 75.0, 1.50),
        ANTHROPIC_NEW,
        aliases=["claude-opus-4-1"],
    ),
    m(
        "claude-opus-4-20250514",
        "anthropic",
        200_000,
        32_000,
        (15.0, 75.0, 1.50),
        ANTHROPIC_OLD,
        aliases=["claude-opus-4-0"],
    ),
    m(
        "claude-sonnet-4-20250514",
        "anthropic",
        200_000,
        64_000,
        (3.0, 15.0, 0.30),
        ANTHROPIC_OLD,
        aliases=["claude-sonnet-4-0"],
    ),
    m(
        "claude-3-7-sonnet-20250219",
        "anthropic",
        200_000,
        64_000,
        (3.0, 15.0, 0.30),
        ANTHROPIC_OLD,
        aliases=["claude-3-7-sonnet-latest"],
    ),
    m(
        "claude-3-5-sonnet-20241022",
        "anthropic",
        200_000,
        8_192,
        (3.0, 15.0, 0.30),
        ANTHROPIC_OLD,
        aliases=["claude-3-5-sonnet-latest"],
    ),
    m(
        "claude-3-5-haiku-20241022",
        "anthropic",
        200_000,
        8_192,
        (0.80, 4.0, 0.08),
        ANTHROPIC_OLD,
        aliases=["claude-3-5-haiku-latest"],
    ),
    m("claude-3-opus-20240229", "anthropic", 200_000, 4_096, (15.0, 75.0, 1.50), ANTHROPIC_OLD),
    m("claude-3-sonnet-20240229", "anthropic", 200_000, 4_096, (3.0, 15.0, None), ANTHROPIC_OLD),
    m("claude-3-haiku-20240307", "anthropic", 200_000, 4_096, (0.25, 1.25, 0.03), ANTHROPIC_OLD),
    # Google Gemini, through LiteLLM (provider prefix "gemini/").
    m(
        "google-ai-studio/gemini-2.5-flash",
        "google",
        1_048_576,
        8_192,
        (0.30, 2.50, 0.075),
        {"vision": True, "json_output": "json_schema", "tools": True, "reasoning": True},
        wire_id="gemini/gemini-2.5-flash",
        aliases=["gemini-pro", "gemini-2.5-flash"],
    ),
    m(
        "gemini-2.5-pro",
        "google",
        1_048_576,
        65_536,
        (1.25, 10.0, 0.31),
        {"vision": True, "json_output": "json_schema", "tools": True, "reasoning": True},
        wire_id="gemini/gemini-2.5-pro",
    ),
    m(
        "gemini-2.0-flash",
        "google",
        1_048_576,
        8_192,
        (0.10, 0.40, 0.025),
        {"vision": True, "json_output": "json_schema", "tools": True},
        wire_id="gemini/gemini-2.0-flash",
    ),
    m(
        "gemini-1.5-pro",
        "google",
        2_097_152,
        8_192,
        (1.25, 5.0, None),
        {"vision": True, "json_output": "json_schema", "tools": True},
        wire_id="gemini/gemini-1.5-pro",
    ),
    m(
        "gemini-1.5-flash",
        "google",
        1_048_576,
        8_192,
        (0.075, 0.30, None),
        {"vision": True, "json_output": "json_schema", "tools": True},
        wire_id="gemini/gemini-1.5-flash",
    ),
    m(
        "gemini-pro-vision",
        "google",
        16_384,
        4_096,
        None,
        {"vision": True, "json_output": "none"},
        wire_id="gemini/gemini-pro-vision",
    ),
    # Ollama: local server, no per-token price.
    m("llama2", "ollama", 4_096, None, LOCAL, OLLAMA_TEXT),
    m("llama3", "ollama", 8_192, None, LOCAL, OLLAMA_TEXT),
    m("llama3.1", "ollama", 131_072, None, LOCAL, OLLAMA_TOOLS),
    m("llama3.2", "ollama", 131_072, None, LOCAL, OLLAMA_TOOLS),
    m("mistral", "ollama", 32_768, None, LOCAL, OLLAMA_TOOLS),
    m("codellama", "ollama", 16_384, None, LOCAL, OLLAMA_TEXT),
    m("qwen2.5", "ollama", 32_768, None, LOCAL, OLLAMA_TOOLS),
    m("gemma3", "ollama", 131_072, None, LOCAL, {**OLLAMA_TEXT, "vision": True}),
    m("llava", "ollama", 4_096, None, LOCAL, {**OLLAMA_TEXT, "vision": True}),
    # Embedded default: Gemma 3 270M (Q4_K_M GGUF) in-process through llama-cpp-python.
    m(
        "local/gemma-3-270m",
        "local",
        32_768,
        8_192,
        LOCAL,
        # Tools: calls held by a grammar (adapters/llama_cpp/tools.py), so always well-formed.
        {"json_output": "json_object_with_schema", "stream_usage": True, "tools": True},
        name="Gemma 3 270M (embedded, Q4_K_M)",
        wire_id="gemma-3-270m",
        aliases=["gemma-3-270m"],
        description=(
            "Small base model bundled by the `local` extra; runs offline on CPU. Good for "
            "offline demos, tests and schema-constrained JSON; weak at facts and long text."
        ),
        # About 40-60 tokens/s on 2 cores: a call that sets no cap answers in seconds.
        default_max_tokens=256,
    ),
]

if __name__ == "__main__":
    OUT.write_text(json.dumps({"models": MODELS}, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(MODELS)} models to {OUT}")
