"""Media wire protocols: OpenAI Images and Speech, OpenRouter image chat completions.

Routes (registered with the OpenAI protocol, so every :class:`Fault` applies):

* ``POST /v1/images/generations`` - JSON in, ``{"data": [{"b64_json"}], "usage"}`` out.
* ``POST /v1/images/edits`` - multipart in (``image`` / ``image[]`` parts, optional
  ``mask``); every part's name, file name, content type and bytes are recorded
  in :attr:`MediaScript.uploads`.
* ``POST /v1/audio/speech`` - JSON in, real audio of the asked ``response_format``
  out (a 440 Hz tone, WAV from :mod:`wave`, mp3/flac/opus/aac encoded with PyAV,
  raw 24 kHz s16le for ``pcm``), streamed in chunks. Its duration is
  :data:`SECONDS_PER_CHAR` per input character (at least :data:`MIN_SPEECH_S`).
* ``POST /openrouter/api/v1/chat/completions`` - OpenRouter: with ``"image"`` in
  ``modalities`` the answer's ``message.images`` holds a real PNG of the asked
  ``image_config`` (aspect ratio, 1K/2K/4K); without it, the OpenAI chat handler
  answers. Base URL for clients: :func:`openrouter_base_url`.

Images are real files of the asked size (Pillow), so clients can decode and
measure what they stored. Behaviours beyond faults are scripted per server with
:func:`media_script`::

    script = media_script(server)
    script.refuse()           # next media request: refused by the content policy
    script.no_image()         # an answer without any image
    script.wrong_bytes()      # an HTML page where image/audio bytes are promised
    script.oversized(10**6)   # the real media padded with a million zero bytes
    script.bad_base64()       # image data that is not base64
"""

from __future__ import annotations

import array
import asyncio
import base64
import io
import math
import threading
import time
import uuid
import weakref
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from aiohttp import BodyPartReader, MultipartReader, StreamReader, web
from aiohttp.base_protocol import BaseProtocol

from tests.servers import openai_proto
from tests.servers.errors import auth_error_body, openai_error
from tests.servers.plumbing import (
    FaultyStream,
    error_response,
    json_response,
    recorded,
    send_json_with_fault,
    state_of,
)
from tests.servers.state import ServerState

__all__ = [
    "HTML_PAGE",
    "MIN_SPEECH_S",
    "OPENROUTER_PREFIX",
    "SAMPLE_RATE",
    "SECONDS_PER_CHAR",
    "Behaviour",
    "MediaScript",
    "Upload",
    "UploadedPart",
    "add_routes",
    "media_script",
    "openrouter_base_url",
    "png_bytes",
    "tone_wav",
]

#: Where the OpenRouter routes live (``/api/...`` would be taken for Ollama's).
OPENROUTER_PREFIX = "/openrouter/api/v1"
#: Sample rate of every speech answer (OpenAI speaks at 24 kHz).
SAMPLE_RATE = 24_000
#: Seconds of speech per input character.
SECONDS_PER_CHAR = 0.0002
#: Shortest speech answer.
MIN_SPEECH_S = 0.25
#: What a "wrong bytes" answer sends instead of media.
HTML_PAGE = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>\n"

_SPEECH_CHUNK = 1024
_OUTPUT_TOKENS_PER_IMAGE = 1056
_INPUT_TOKENS_PER_IMAGE = 65
_OPENROUTER_COMPLETION_TOKENS = 1290
_LONG_EDGE = {"1K": 1024, "2K": 2048, "4K": 4096}

_SPEECH_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
# response_format -> (PyAV encoder, container)
_ENCODERS = {
    "mp3": ("libmp3lame", "mp3"),
    "flac": ("flac", "flac"),
    "opus": ("libopus", "ogg"),
    "aac": ("aac", "adts"),
}

Behaviour = Literal["no_image", "refuse", "wrong_bytes", "oversized", "bad_base64"]


@dataclass(frozen=True)
class UploadedPart:
    """One part of a multipart upload as the server received it."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class Upload:
    """One multipart request: its text fields and its file parts, in order."""

    path: str
    fields: dict[str, str]
    files: list[UploadedPart]


@dataclass
class _Scripted:
    behaviour: Behaviour
    extra_bytes: int = 0


@dataclass
class MediaScript:
    """Scripted media behaviours (FIFO, one per media request) and recorded uploads.

    Attributes:
        uploads: Every multipart request received, oldest first.
        openrouter_cost: ``usage.cost`` OpenRouter answers carry (``None``: omitted).
    """

    uploads: list[Upload] = field(default_factory=list)
    openrouter_cost: float | None = 0.039
    _queue: deque[_Scripted] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _push(self, behaviour: Behaviour, extra_bytes: int = 0) -> None:
        with self._lock:
            self._queue.append(_Scripted(behaviour, extra_bytes))

    def no_image(self) -> None:
        """Next media request: a 200 answer without any image."""
        self._push("no_image")

    def refuse(self) -> None:
        """Next media request: refused (OpenAI: 400 ``moderation_blocked``; OpenRouter: 200,
        ``finish_reason: content_filter`` and no image)."""
        self._push("refuse")

    def wrong_bytes(self) -> None:
        """Next media request: an HTML page where the image/audio bytes should be."""
        self._push("wrong_bytes")

    def oversized(self, extra_bytes: int) -> None:
        """Next media request: the real media followed by ``extra_bytes`` zero bytes."""
        self._push("oversized", extra_bytes)

    def bad_base64(self) -> None:
        """Next image request: image data that is not base64."""
        self._push("bad_base64")

    def clear(self) -> None:
        """Forget scripted behaviours and recorded uploads."""
        with self._lock:
            self._queue.clear()
            self.uploads.clear()
            self.openrouter_cost = 0.039

    def _next(self) -> _Scripted | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _record(self, upload: Upload) -> None:
        with self._lock:
            self.uploads.append(upload)


_SCRIPTS: weakref.WeakKeyDictionary[ServerState, MediaScript] = weakref.WeakKeyDictionary()
_SCRIPTS_LOCK = threading.Lock()


def media_script(state: ServerState) -> MediaScript:
    """The media script of a server (created on first use)."""
    with _SCRIPTS_LOCK:
        script = _SCRIPTS.get(state)
        if script is None:
            script = _SCRIPTS[state] = MediaScript()
        return script


def openrouter_base_url(server: Any) -> str:
    """The OpenRouter API root of a started :class:`~tests.servers.FakeServer`."""
    return str(server.base_url) + OPENROUTER_PREFIX


# --- real media --------------------------------------------------------------------------


@lru_cache(maxsize=64)
def png_bytes(width: int, height: int, fmt: str = "PNG") -> bytes:
    """A real image of ``width`` x ``height`` (PNG, JPEG or WEBP) with a gradient band."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (40, 90, 160))
    ImageDraw.Draw(image).rectangle((0, 0, max(width // 4, 1), height), fill=(230, 180, 40))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def _tone_pcm(duration: float) -> bytes:
    count = max(int(SAMPLE_RATE * duration), 1)
    step = 2 * math.pi * 440 / SAMPLE_RATE
    return array.array("h", (int(8000 * math.sin(step * i)) for i in range(count))).tobytes()


@lru_cache(maxsize=64)
def tone_wav(duration: float) -> bytes:
    """A mono 16-bit 24 kHz WAV of a 440 Hz tone (stdlib :mod:`wave`)."""
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(_tone_pcm(duration))
    return out.getvalue()


@lru_cache(maxsize=64)
def _speech_audio(fmt: str, duration: float) -> bytes:
    if fmt == "pcm":
        return _tone_pcm(duration)
    if fmt == "wav":
        return tone_wav(duration)
    import av
    from av.audio.stream import AudioStream

    codec, container = _ENCODERS[fmt]
    pcm = _tone_pcm(duration)
    out = io.BytesIO()
    with av.open(out, "w", format=container) as muxer:
        stream = muxer.add_stream(codec, rate=SAMPLE_RATE, layout="mono")
        assert isinstance(stream, AudioStream)
        resampler = av.AudioResampler(
            format=stream.codec_context.format, layout="mono", rate=SAMPLE_RATE
        )
        pts = 0
        step = 2048
        for start in range(0, len(pcm), step):
            piece = pcm[start : start + step]
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(piece) // 2)
            frame.planes[0].update(piece)
            frame.sample_rate = SAMPLE_RATE
            frame.pts = pts
            pts += len(piece) // 2
            for converted in resampler.resample(frame):
                muxer.mux(stream.encode(converted))
        for converted in resampler.resample(None):
            muxer.mux(stream.encode(converted))
        muxer.mux(stream.encode(None))
    return out.getvalue()


def speech_duration(text: str) -> float:
    """Seconds of audio the speech route answers for ``text``."""
    return round(max(len(text) * SECONDS_PER_CHAR, MIN_SPEECH_S), 4)


# --- shared answers ----------------------------------------------------------------------


def _unauthorised(request: web.Request) -> web.Response | None:
    if state_of(request)._key_ok("openai", recorded(request).headers):
        return None
    return json_response(auth_error_body("openai"), 401)


def _missing(param: str) -> dict[str, Any]:
    return openai_error(f"Missing required parameter: {param!r}.", "invalid_request_error", param)


def _moderation_blocked() -> web.Response:
    return json_response(
        openai_error(
            "Your request was rejected as a result of our safety system. Your prompt may "
            "contain text that is not allowed by our safety system.",
            "image_generation_user_error",
            None,
            "moderation_blocked",
        ),
        400,
    )


def _payload(real: bytes, scripted: _Scripted | None) -> bytes:
    if scripted is None:
        return real
    if scripted.behaviour == "wrong_bytes":
        return HTML_PAGE
    if scripted.behaviour == "oversized":
        return real + b"\0" * scripted.extra_bytes
    return real


def _b64(real: bytes, scripted: _Scripted | None) -> str:
    if scripted is not None and scripted.behaviour == "bad_base64":
        return "this is *not* base64!"
    return base64.b64encode(_payload(real, scripted)).decode("ascii")


def _size(value: Any) -> tuple[int, int]:
    if isinstance(value, str) and "x" in value:
        width, _, height = value.partition("x")
        if width.isdigit() and height.isdigit():
            return int(width), int(height)
    return 1024, 1024


def _pillow_format(output_format: Any) -> str:
    return {"jpeg": "JPEG", "webp": "WEBP"}.get(str(output_format), "PNG")


# --- OpenAI images -----------------------------------------------------------------------


async def _images_answer(
    request: web.Request, options: dict[str, Any], prompt: str, input_images: int
) -> web.StreamResponse:
    scripted = media_script(state_of(request))._next()
    if scripted is not None and scripted.behaviour == "refuse":
        return _moderation_blocked()
    n = options.get("n", 1)
    n = int(n) if str(n).isdigit() else 1
    width, height = _size(options.get("size"))
    real = png_bytes(width, height, _pillow_format(options.get("output_format")))
    data = (
        []
        if scripted is not None and scripted.behaviour == "no_image"
        else [{"b64_json": _b64(real, scripted), "revised_prompt": None} for _ in range(n)]
    )
    text_tokens = max(len(prompt.split()), 1)
    image_tokens = _INPUT_TOKENS_PER_IMAGE * input_images
    output_tokens = _OUTPUT_TOKENS_PER_IMAGE * len(data)
    body = {
        "created": int(time.time()),
        "data": data,
        "background": "opaque",
        "output_format": options.get("output_format") or "png",
        "quality": "medium",
        "size": f"{width}x{height}",
        "usage": {
            "input_tokens": text_tokens + image_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            "output_tokens": output_tokens,
            "total_tokens": text_tokens + image_tokens + output_tokens,
        },
    }
    faulted = await send_json_with_fault(request, "openai", body)
    return faulted if faulted is not None else json_response(body)


async def images_generations(request: web.Request) -> web.StreamResponse:
    """Handle ``POST /v1/images/generations``."""
    if (denied := _unauthorised(request)) is not None:
        return denied
    body = recorded(request).body
    if not isinstance(body, dict) or not body.get("prompt"):
        return json_response(
            openai_error(
                "Missing required parameter: 'prompt'.", "invalid_request_error", "prompt"
            ),
            400,
        )
    return await _images_answer(request, body, str(body["prompt"]), 0)


async def _parse_multipart(request: web.Request, raw: bytes) -> Upload:
    # The fake middleware has already read the body: parse the recorded bytes with aiohttp.
    loop = asyncio.get_running_loop()
    reader = StreamReader(BaseProtocol(loop), 2**16, loop=loop)
    reader.feed_data(raw)
    reader.feed_eof()
    multipart = MultipartReader(request.headers, reader)
    fields: dict[str, str] = {}
    files: list[UploadedPart] = []
    while (part := await multipart.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        data = bytes(await part.read(decode=False))
        if part.filename is None:
            fields[str(part.name)] = data.decode("utf-8", "replace")
        else:
            files.append(
                UploadedPart(
                    name=str(part.name),
                    filename=part.filename,
                    content_type=part.headers.get("Content-Type"),
                    data=data,
                )
            )
    return Upload(request.path, fields, files)


async def images_edits(request: web.Request) -> web.StreamResponse:
    """Handle ``POST /v1/images/edits`` (multipart)."""
    if (denied := _unauthorised(request)) is not None:
        return denied
    if not request.content_type.startswith("multipart/"):
        return error_response("openai", 400, "The request must be multipart/form-data.")
    upload = await _parse_multipart(request, recorded(request).raw)
    media_script(state_of(request))._record(upload)
    images = [part for part in upload.files if part.name in ("image", "image[]")]
    if not images:
        return json_response(
            _missing("image"),
            400,
        )
    if not upload.fields.get("prompt"):
        return json_response(
            openai_error(
                "Missing required parameter: 'prompt'.", "invalid_request_error", "prompt"
            ),
            400,
        )
    return await _images_answer(request, dict(upload.fields), upload.fields["prompt"], len(images))


# --- OpenAI speech -----------------------------------------------------------------------


async def audio_speech(request: web.Request) -> web.StreamResponse:
    """Handle ``POST /v1/audio/speech``: real audio of the asked format, streamed."""
    if (denied := _unauthorised(request)) is not None:
        return denied
    body = recorded(request).body
    if not isinstance(body, dict) or not isinstance(body.get("input"), str) or not body["input"]:
        return json_response(
            _missing("input"),
            400,
        )
    text = body["input"]
    if len(text) > 4096:
        return json_response(
            openai_error(
                f"[{{'type': 'string_too_long', 'loc': ('body', 'input'), 'msg': 'String should "
                f"have at most 4096 characters', 'input': '{len(text)} chars'}}]",
                "invalid_request_error",
                "input",
            ),
            400,
        )
    fmt = str(body.get("response_format") or "mp3")
    if fmt not in _SPEECH_TYPES:
        return error_response("openai", 400, f"Invalid response_format {fmt!r}.")
    scripted = media_script(state_of(request))._next()
    if scripted is not None and scripted.behaviour == "refuse":
        return _moderation_blocked()
    payload = _payload(_speech_audio(fmt, speech_duration(text)), scripted)
    stream = FaultyStream(request, _SPEECH_TYPES[fmt], lambda message: b"")
    await stream.start()
    for start in range(0, len(payload), _SPEECH_CHUNK):
        if not await stream.send(payload[start : start + _SPEECH_CHUNK]):
            return stream.result()
    await stream.finish()
    return stream.result()


# --- OpenRouter --------------------------------------------------------------------------


def _aspect_size(config: Any) -> tuple[int, int]:
    config = config if isinstance(config, dict) else {}
    long_edge = _LONG_EDGE.get(str(config.get("image_size") or "1K"), 1024)
    ratio = str(config.get("aspect_ratio") or "1:1")
    width_part, _, height_part = ratio.partition(":")
    try:
        w, h = float(width_part), float(height_part)
    except ValueError:
        w, h = 1.0, 1.0
    if w >= h:
        return long_edge, max(round(long_edge * h / w), 1)
    return max(round(long_edge * w / h), 1), long_edge


def _input_images(messages: Any) -> int:
    count = 0
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                count += 1
    return count


async def openrouter_chat(request: web.Request) -> web.StreamResponse:
    """Handle OpenRouter ``POST /api/v1/chat/completions`` (image modality, else plain chat)."""
    body = recorded(request).body
    modalities = body.get("modalities") if isinstance(body, dict) else None
    if not isinstance(modalities, list) or "image" not in modalities:
        return await openai_proto.chat_completions(request)
    if (denied := _unauthorised(request)) is not None:
        return denied
    assert isinstance(body, dict)
    script = media_script(state_of(request))
    scripted = script._next()
    width, height = _aspect_size(body.get("image_config"))
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "Here is your image.",
        "refusal": None,
    }
    finish, native = "stop", "STOP"
    if scripted is not None and scripted.behaviour == "refuse":
        message["content"] = ""
        finish, native = "content_filter", "IMAGE_SAFETY"
    elif scripted is not None and scripted.behaviour == "no_image":
        message["content"] = "I would rather describe it: a blue square with a yellow band."
    else:
        real = png_bytes(width, height)
        message["images"] = [
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64," + _b64(real, scripted)},
                "index": 0,
            }
        ]
    prompt_tokens = 12 + 258 * _input_images(body.get("messages"))
    completion = _OPENROUTER_COMPLETION_TOKENS if "images" in message else 14
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }
    if script.openrouter_cost is not None:
        usage["cost"] = script.openrouter_cost
    answer = {
        "id": "gen-" + uuid.uuid4().hex[:20],
        "provider": "Google AI Studio",
        "model": body.get("model"),
        "object": "chat.completion",
        "created": int(time.time()),
        "choices": [
            {
                "logprobs": None,
                "finish_reason": finish,
                "native_finish_reason": native,
                "index": 0,
                "message": message,
            }
        ],
        "usage": usage,
    }
    faulted = await send_json_with_fault(request, "openai", answer)
    return faulted if faulted is not None else json_response(answer)


def add_routes(app: web.Application) -> None:
    """Register the media routes."""
    app.router.add_post("/v1/images/generations", images_generations)
    app.router.add_post("/v1/images/edits", images_edits)
    app.router.add_post("/v1/audio/speech", audio_speech)
    app.router.add_post(OPENROUTER_PREFIX + "/chat/completions", openrouter_chat)
