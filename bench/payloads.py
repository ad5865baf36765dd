"""Pre-rendered wire payloads shared by the bench server and the bench clients.

Everything here is plain bytes built once at import from constants (stdlib only), so
the server answers with a dict lookup and a ``transport.write`` and is never the
bottleneck. The clients use the same constants to check what they received.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "ANTHROPIC_MODEL",
    "CHUNK_COUNT",
    "JSON_MODEL",
    "JSON_REPLY",
    "OPENAI_MODEL",
    "PROMPT",
    "REPLY_TEXT",
    "STREAM_PIECES",
    "anthropic_message",
    "anthropic_stream_frames",
    "chunked_frames",
    "compact_json",
    "http_response",
    "json_reply_document",
    "openai_completion",
    "openai_stream_frames",
]

#: Model ids the server recognises by substring (anything else gets the short reply).
OPENAI_MODEL = "bench-model"
ANTHROPIC_MODEL = "bench-claude"
JSON_MODEL = "bench-json"

PROMPT = "Write one short sentence about a lighthouse keeper."
CHUNK_COUNT = 20
#: The 20 streamed text deltas; joined they are the non-streamed reply.
_SENTENCE = (
    "The keeper lit the lamp at dusk and watched the ships pass "
    "through the dark and stormy water all night"
)
_WORDS = _SENTENCE.split(" ")
STREAM_PIECES: tuple[str, ...] = (_WORDS[0], *(" " + word for word in _WORDS[1:]))
assert len(STREAM_PIECES) == CHUNK_COUNT
REPLY_TEXT = "".join(STREAM_PIECES)

_PROMPT_TOKENS = 14
_COMPLETION_TOKENS = CHUNK_COUNT


def compact_json(data: Any) -> bytes:
    """``data`` as compact UTF-8 JSON bytes."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def json_reply_document(target_bytes: int = 50_000) -> dict[str, Any]:
    """A storyboard document of about ``target_bytes`` of JSON, valid for ``bench.schema``."""
    scenes: list[dict[str, Any]] = []
    size = 0
    index = 0
    while size < target_bytes:
        scene = {
            "index": index,
            "title": f"Scene {index}: the lamp room",
            "description": (
                "The keeper climbs the spiral stair, trims the wick and polishes the lens "
                f"while the storm gathers over the reef (shot {index})."
            ),
            "camera": {"shot": "wide", "movement": "slow push-in", "lens_mm": 35},
            "characters": ["keeper", "gull"],
            "tags": ["night", "storm", "interior", "warm light"],
            "duration_s": 4.5,
        }
        scenes.append(scene)
        size += len(compact_json(scene)) + 1
        index += 1
    return {
        "title": "The Lighthouse Keeper",
        "logline": "A quiet night, a loud sea.",
        "scenes": scenes,
    }


#: The ~50 KB schema-valid JSON text the server returns for ``JSON_MODEL``.
JSON_REPLY: str = compact_json(json_reply_document()).decode()


def _openai_usage() -> dict[str, Any]:
    return {
        "prompt_tokens": _PROMPT_TOKENS,
        "completion_tokens": _COMPLETION_TOKENS,
        "total_tokens": _PROMPT_TOKENS + _COMPLETION_TOKENS,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def openai_completion(model: str, text: str) -> bytes:
    """A ``chat.completion`` body answering ``text``."""
    return compact_json(
        {
            "id": "chatcmpl-bench0000000000000000",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "system_fingerprint": "fp_bench",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": _openai_usage(),
        }
    )


def openai_stream_frames(model: str) -> list[bytes]:
    """SSE events of a 20-chunk stream with ``include_usage`` (role, 20 deltas, usage, DONE)."""
    base = {
        "id": "chatcmpl-bench0000000000000000",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "system_fingerprint": "fp_bench",
        "usage": None,
    }

    def event(delta: dict[str, Any], finish: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return b"data: " + compact_json({**base, "choices": [choice]}) + b"\n\n"

    frames = [event({"role": "assistant", "content": "", "refusal": None}, None)]
    last = len(STREAM_PIECES) - 1
    frames += [
        event({"content": piece}, "stop" if i == last else None)
        for i, piece in enumerate(STREAM_PIECES)
    ]
    frames.append(
        b"data: " + compact_json({**base, "choices": [], "usage": _openai_usage()}) + b"\n\n"
    )
    frames.append(b"data: [DONE]\n\n")
    return frames


def _anthropic_usage(output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": _PROMPT_TOKENS,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _anthropic_message_dict(model: str, text: str | None) -> dict[str, Any]:
    return {
        "id": "msg_bench0000000000000000",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [] if text is None else [{"type": "text", "text": text}],
        "stop_reason": None if text is None else "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(1 if text is None else _COMPLETION_TOKENS),
    }


def anthropic_message(model: str, text: str) -> bytes:
    """A Messages API ``message`` body answering ``text``."""
    return compact_json(_anthropic_message_dict(model, text))


def anthropic_stream_frames(model: str) -> list[bytes]:
    """Messages API SSE events: start, block start, ping, 20 deltas, block stop, delta, stop."""

    def event(name: str, data: dict[str, Any]) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + compact_json(data) + b"\n\n"

    frames = [
        event(
            "message_start",
            {"type": "message_start", "message": _anthropic_message_dict(model, None)},
        ),
        event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        event("ping", {"type": "ping"}),
    ]
    frames += [
        event(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece},
            },
        )
        for piece in STREAM_PIECES
    ]
    frames += [
        event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": _COMPLETION_TOKENS},
            },
        ),
        event("message_stop", {"type": "message_stop"}),
    ]
    return frames


def http_response(
    body: bytes, *, status: str = "200 OK", content_type: str = "application/json"
) -> bytes:
    """A complete HTTP/1.1 keep-alive response with ``Content-Length``."""
    head = (
        f"HTTP/1.1 {status}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


def chunked_frames(frames: list[bytes], *, content_type: str = "text/event-stream") -> list[bytes]:
    """The writes of a chunked HTTP/1.1 response: head + first frame, one write per frame, end.

    The head travels with the first frame so a client never waits on a bare header write.
    """
    head = (
        "HTTP/1.1 200 OK\r\n"
        f"Content-Type: {content_type}; charset=utf-8\r\n"
        "Cache-Control: no-cache\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Connection: keep-alive\r\n"
        "\r\n"
    ).encode("ascii")
    encoded = [f"{len(frame):x}\r\n".encode("ascii") + frame + b"\r\n" for frame in frames]
    writes = [head + encoded[0], *encoded[1:]]
    writes[-1] += b"0\r\n\r\n"
    return writes


#: Side of the PNG the images endpoint returns (a noisy image: ~200 KB, not a tiny solid one).
IMAGE_SIDE = 256


def image_png(side: int = IMAGE_SIDE) -> bytes:
    """A deterministic, hard-to-compress RGB PNG (stdlib only)."""
    import random
    import struct
    import zlib

    rng = random.Random(7)
    rows = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))

    def chunk(tag: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(tag + body))
        return struct.pack(">I", len(body)) + tag + body + crc

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def images_response() -> bytes:
    """An OpenAI Images API answer carrying one ``b64_json`` PNG and token usage."""
    import base64

    body = {
        "created": 0,
        "data": [{"b64_json": base64.b64encode(image_png()).decode("ascii")}],
        "usage": {
            "input_tokens": 12,
            "output_tokens": 272,
            "total_tokens": 284,
            "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
        },
    }
    return compact_json(body)
