"""Input-processing throughput: token counting and message normalisation.

The workload is a 100-message conversation (system prompt, alternating user and
assistant turns, one tool round) carrying 10 inline JPEG photos of 1024x768,
given as the OpenAI-shaped dicts callers pass in. Each row reports how many
messages per second an operation handles and how many MB/s of that input
(its JSON size) it gets through.

Run it alone (``python bench/bench_input.py [--quick]``) or call
``run(quick)`` from the benchmark driver.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from PIL import Image

from inference_core.adapters.anthropic.wire import to_anthropic
from inference_core.adapters.ollama.wire import to_ollama
from inference_core.compat.input_utils import InputUtils
from inference_core.domain.context import compress_messages, trim_messages
from inference_core.domain.tokens import HeuristicTokenCounter, count_tokens
from inference_core.domain.wire import coerce_messages, to_openai
from inference_core.ports.tokens import TokenCounter

MESSAGES = 100
IMAGES = 10


def _photo(seed: int) -> bytes:
    """A 1024x768 JPEG with photo-like entropy (a gradient plus noise)."""
    rng = random.Random(seed)
    base = Image.linear_gradient("L").resize((1024, 768)).convert("RGB")
    noise = Image.frombytes("RGB", (1024, 768), rng.randbytes(1024 * 768 * 3))
    buffer = io.BytesIO()
    Image.blend(base, noise, 0.25).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def conversation() -> list[dict[str, Any]]:
    """The benchmark conversation as OpenAI-shaped dicts (deterministic)."""
    rng = random.Random(5)
    words = ["scene", "camera", "light", "shadow", "storm", "harbour", "lantern", "figure"]

    def sentence(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n))

    photos = [
        "data:image/jpeg;base64," + base64.b64encode(_photo(i)).decode() for i in range(IMAGES)
    ]
    messages: list[dict[str, Any]] = [{"role": "system", "content": sentence(60)}]
    image_turns = set(range(1, MESSAGES, (MESSAGES - 1) // IMAGES)[:IMAGES])
    photo = iter(photos)
    while len(messages) < MESSAGES - 3:
        index = len(messages)
        if index % 2:
            if index in image_turns or (index + 1) in image_turns:
                content: Any = [
                    {"type": "text", "text": sentence(25)},
                    {"type": "image_url", "image_url": {"url": next(photo), "detail": "high"}},
                ]
            else:
                content = sentence(40)
            messages.append({"role": "user", "content": content})
        else:
            messages.append({"role": "assistant", "content": sentence(80)})
    call = {"id": "call_1", "type": "function", "function": {"name": "shot", "arguments": "{}"}}
    messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    messages.append({"role": "tool", "content": sentence(30), "tool_call_id": "call_1"})
    messages.append({"role": "user", "content": sentence(20)})
    leftover = list(photo)
    assert not leftover, f"{len(leftover)} photos unused"
    assert len(messages) == MESSAGES
    return messages


def _time(fn: Callable[[], object], min_seconds: float) -> tuple[int, float]:
    fn()  # warm up (imports, caches)
    iterations, start = 0, time.perf_counter()
    while True:
        fn()
        iterations += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return iterations, elapsed


def run(quick: bool, *, counter: TokenCounter | None = None) -> list[dict[str, Any]]:
    """Run every case; ``quick`` shortens each timing loop (for CI smoke runs).

    Args:
        quick: Time each case for about 0.05 s instead of 1 s.
        counter: Text token counter for the counting cases; the default is the
            pure estimate, so the benchmark never downloads a vocabulary. Pass
            ``TiktokenCounter()`` to measure exact counting.

    Returns:
        One row per case: ``name``, ``messages/s``, ``MB/s``, ``iterations``,
        ``seconds``, ``messages`` and ``MB`` (input size per iteration).
    """
    raw = conversation()
    parsed = coerce_messages(raw)
    size_mb = len(json.dumps(raw).encode()) / 1e6
    counter = counter or HeuristicTokenCounter()
    count_text = partial(counter.count_text, model="gpt-4o")
    budget = count_tokens(parsed, count_text).total // 2
    cases: Sequence[tuple[str, Callable[[], object]]] = [
        (
            "count_tokens_multimodal",
            lambda: InputUtils.count_tokens_multimodal(raw, "gpt-4o", counter=counter),
        ),
        ("count_tokens_domain", lambda: count_tokens(parsed, count_text)),
        ("normalise_coerce", lambda: coerce_messages(raw)),
        ("normalise_openai", lambda: to_openai(coerce_messages(raw))),
        ("normalise_anthropic", lambda: to_anthropic(coerce_messages(raw))),
        ("normalise_ollama", lambda: to_ollama(coerce_messages(raw))),
        ("trim_messages_half", lambda: trim_messages(parsed, budget, count_text=count_text)),
        ("compress_messages", lambda: compress_messages(parsed)),
    ]
    rows = []
    for name, fn in cases:
        iterations, seconds = _time(fn, 0.05 if quick else 1.0)
        rows.append(
            {
                "name": name,
                "messages/s": round(MESSAGES * iterations / seconds, 1),
                "MB/s": round(size_mb * iterations / seconds, 2),
                "iterations": iterations,
                "seconds": round(seconds, 4),
                "messages": MESSAGES,
                "MB": round(size_mb, 3),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short timing loops")
    parser.add_argument("--tiktoken", action="store_true", help="count text exactly with tiktoken")
    args = parser.parse_args()
    counter = None
    if args.tiktoken:
        from inference_core.adapters.tokens import TiktokenCounter

        counter = TiktokenCounter()
    rows = run(args.quick, counter=counter)
    width = max(len(r["name"]) for r in rows)
    print(f"{'case':<{width}}  {'messages/s':>12}  {'MB/s':>9}")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['messages/s']:>12,.0f}  {r['MB/s']:>9,.1f}")


if __name__ == "__main__":
    main()
