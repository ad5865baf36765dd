"""Rows of the MediaGenerator contract suite (``test_media_contract.py``).

Every media generator the library ships is one :class:`MediaRow`; the same
cases run over all of them. A row knows:

* how to build its generator (wire rows: against the session
  :class:`~tests.servers.FakeServer`, with the row's own API key and the
  ``timeout`` / ``max_output_bytes`` options a case asks for; local rows:
  through their ``PLUGIN.create(GeneratorContext())``, or the shipped fake);
* its *happy request* (small sizes and durations, so the suite stays fast)
  and what the file it yields must measure;
* which faults it can express (:data:`FEATURES`), and why not when it cannot
  (cases skip with that reason, as the chat suite does).

Adding a generator to the suite means adding a row to :data:`ROWS`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from inference_core.adapters.fakes import FakeMediaGenerator
from inference_core.adapters.media.offline import image_card, soundscape, speech, video
from inference_core.adapters.media.openai_images import OpenAIImageGenerator
from inference_core.adapters.media.openai_speech import OpenAISpeechGenerator
from inference_core.adapters.media.openrouter_image import OpenRouterImageGenerator
from inference_core.domain.media import GenerationRequest, MediaKind
from inference_core.ports.media import MediaGenerator
from inference_core.ports.plugins import GeneratorContext
from tests.contract.harness import closed_port
from tests.servers import FakeServer, Fault, RecordedRequest
from tests.servers.media_proto import (
    OPENROUTER_PREFIX,
    SAMPLE_RATE,
    MediaScript,
    media_script,
    openrouter_base_url,
    speech_duration,
)

__all__ = [
    "FEATURES",
    "ROWS",
    "Happy",
    "LocalRow",
    "MediaRow",
    "RecordingSleeper",
    "WireRow",
]

#: Faults (and other abilities) a case may ask :meth:`MediaRow.supports` about.
FEATURES: Mapping[str, str] = {
    "wire": "calls cross a real HTTP connection to the local fake server",
    "api_key": "the generator holds an API key (which must never show in an error)",
    "rate_limit": "the server can answer 429 with Retry-After",
    "server_error": "the server can answer 5xx",
    "timeout": "the generator has a per-attempt timeout option and the server can stall",
    "timeout_mid_body": "the server can stall an answer after its first bytes",
    "refused_connection": "the generator can be pointed at a port nobody listens on",
    "cut_body": "the server can cut an answer midway or drop the connection without one",
    "malformed_body": "the answer is a document the generator parses (it can be malformed)",
    "no_image": "the answer can come without any image",
    "refused": "the provider can refuse the prompt under its content policy",
    "oversized": "the generator has a max_output_bytes option and the server can pad media",
    "wrong_type": "the server can send bytes that are not the promised media type",
    "store_cap": "the generator leaves the size cap of its files to the store",
}

_OWN_CAP = (
    "its own max_output_bytes (default 50 MiB) goes with every save and, by the AssetStore "
    "contract, a call's cap wins over the store's (the oversized-output case covers it)"
)


class RecordingSleeper:
    """The use-case's sleeper: records every wait and does not actually wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class Happy:
    """A small request the row's generator must fulfil, and what its file must measure.

    Attributes:
        prompt: ``GenerationRequest.prompt``.
        text: ``GenerationRequest.text``.
        params: ``GenerationRequest.params``.
        expect: Measurements every output file must have (``width``, ``height``,
            ``frame_count``, ``fps``, ``sample_rate``, ``duration_s``, ``mime_type``);
            floats are compared approximately.
        count: Files the request yields.
    """

    prompt: str | None = None
    text: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    expect: Mapping[str, Any] = field(default_factory=dict)
    count: int = 1


class MediaRow:
    """One row: a generator of the suite, how to build it and what it can be made to meet.

    Attributes:
        name: Test id of the row.
        kind: The media kind the generator makes.
        happy: Its happy request.
        cost: ``"free"`` (``cost_usd == 0.0``), ``"priced"`` (a known cost > 0)
            or ``"unknown"`` (``None`` is allowed).
        api_key: The key the row builds its generator with (``None``: none held).
        known_bugs: ``{test-name fragment: reason}``; a matching case is run as a
            strict xfail (a documented bug of the generator, noticed when fixed).
    """

    name: str
    kind: MediaKind
    happy: Happy
    cost: Literal["free", "priced", "unknown"] = "free"
    api_key: str | None = None
    known_bugs: Mapping[str, str] = {}

    def __repr__(self) -> str:
        return f"<media row {self.name}>"

    def attach(self, server: FakeServer) -> None:
        """Point the row at the (already reset) session server before a test."""

    def detach(self) -> None:
        """Forget what the test built."""

    def build(self, **options: Any) -> MediaGenerator:
        """A fresh generator (options: ``api_key``, ``timeout``, ``max_output_bytes``,
        ``unreachable``)."""
        raise NotImplementedError

    def request(self, **params: Any) -> GenerationRequest:
        """The happy request, with ``params`` merged over the happy ones."""
        happy = self.happy
        return GenerationRequest(
            kind=self.kind,
            generator_id=self.generator_id,
            prompt=happy.prompt,
            text=happy.text,
            params={**happy.params, **params},
        )

    @property
    def generator_id(self) -> str:
        """The id the generator registers under (the row name)."""
        return self.name

    def supports(self, feature: str) -> bool:
        """Whether the row can express ``feature`` (see :data:`FEATURES`)."""
        return self.why_not(feature) is None

    def why_not(self, feature: str) -> str | None:
        """Why the row cannot express ``feature``; ``None`` when it can."""
        if feature not in FEATURES:
            raise KeyError(f"unknown feature {feature!r}; known: {sorted(FEATURES)}")
        if feature == "api_key":
            return f"{self.name} holds no API key"
        return f"{self.name} has no wire: nothing between it and a provider can fail"

    def requests_seen(self) -> int | None:
        """Media requests that reached the provider (or the fake) during the test.

        ``None`` when the row cannot observe it (offline generators have no provider).
        """
        return None

    def all_requests(self) -> int | None:
        """Every HTTP request the server received during the test (``None``: no wire)."""
        return None

    def fault(self, fault: Fault) -> None:
        """Make the next media request meet ``fault`` (wire rows only)."""
        raise NotImplementedError(f"{self.name} has no wire")

    def script(self) -> MediaScript:
        """The server's media script (wire rows only)."""
        raise NotImplementedError(f"{self.name} has no wire")

    def stall_mid_body(self, pause: float) -> None:
        """Make the next answer pause ``pause`` seconds after its first bytes (wire rows only)."""
        raise NotImplementedError(f"{self.name} has no wire")

    def malformed_fault(self) -> Fault:
        """A 200 whose body this row's generator cannot parse (wire rows only)."""
        raise NotImplementedError(f"{self.name} has no wire")

    def limitation(self, test_name: str) -> str | None:
        """The known bug a case named ``test_name`` runs into on this row, if any."""
        for fragment, reason in self.known_bugs.items():
            if fragment in test_name:
                return reason
        return None


WireFactory = Callable[..., MediaGenerator]


class WireRow(MediaRow):
    """A generator that talks HTTP to the local fake server."""

    def __init__(
        self,
        name: str,
        kind: MediaKind,
        factory: Callable[[str, str | None, dict[str, Any]], MediaGenerator],
        *,
        endpoint: Callable[[FakeServer], str],
        path: str,
        happy: Happy,
        api_key: str,
        cost: Literal["free", "priced", "unknown"] = "priced",
        malformed: Fault | None = None,
        streamed: bool = False,
        cannot: Mapping[str, str] | None = None,
        known_bugs: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self._factory = factory
        self._endpoint = endpoint
        self.path = path
        self.happy = happy
        self.api_key = api_key
        self.cost = cost
        self._malformed = malformed
        self.streamed = streamed
        self._cannot = dict(cannot or {})
        self.known_bugs = dict(known_bugs or {})
        self._server: FakeServer | None = None

    @property
    def server(self) -> FakeServer:
        """The attached server."""
        if self._server is None:
            raise RuntimeError(f"row {self.name} has no server attached")
        return self._server

    def attach(self, server: FakeServer) -> None:
        self._server = server

    def detach(self) -> None:
        self._server = None

    def build(self, *, unreachable: bool = False, **options: Any) -> MediaGenerator:
        """A fresh generator; ``unreachable=True`` points it at a port nobody listens on."""
        key = options.pop("api_key", self.api_key)
        options.setdefault("timeout", 5.0)
        base_url = self._endpoint(self.server)
        if unreachable:
            base_url = base_url.replace(f":{self.server.port}", f":{closed_port()}", 1)
        return self._factory(base_url, key, options)

    def why_not(self, feature: str) -> str | None:
        if feature not in FEATURES:
            raise KeyError(f"unknown feature {feature!r}; known: {sorted(FEATURES)}")
        if feature == "malformed_body" and self._malformed is None:
            return self._cannot.get(feature, f"{self.name} parses no document")
        if feature == "store_cap":
            return self._cannot.get(feature, _OWN_CAP)
        return self._cannot.get(feature)

    def _media_requests(self) -> list[RecordedRequest]:
        return [r for r in self.server.requests_for(self.path) if r.method == "POST"]

    def requests_seen(self) -> int | None:
        return len(self._media_requests())

    def all_requests(self) -> int | None:
        return self.server.request_count

    def fault(self, fault: Fault) -> None:
        # Scoped to this row's endpoint, so nothing else the client does can consume it.
        self.server.fault(replace(fault, path=self.path))

    def script(self) -> MediaScript:
        return media_script(self.server)

    def stall_mid_body(self, pause: float) -> None:
        if self.streamed:
            self.server.chunk_delay = pause  # after every streamed chunk (reset per test)
        else:
            self.fault(Fault(drip_seconds=pause * 10))  # the body in ten pieces, pause apart

    def malformed_fault(self) -> Fault:
        if self._malformed is None:
            raise NotImplementedError(f"{self.name} parses no document")
        return self._malformed


class LocalRow(MediaRow):
    """A generator with no wire: offline generators and the shipped fake."""

    def __init__(
        self,
        name: str,
        kind: MediaKind,
        factory: Callable[[], MediaGenerator],
        *,
        happy: Happy,
        cost: Literal["free", "priced", "unknown"] = "free",
        known_bugs: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self._factory = factory
        self.happy = happy
        self.cost = cost
        self.api_key = None
        self.known_bugs = dict(known_bugs or {})
        self._built: list[MediaGenerator] = []

    def detach(self) -> None:
        self._built = []

    def why_not(self, feature: str) -> str | None:
        if feature == "store_cap":
            return None  # it commits without a cap of its own: the store's applies
        return super().why_not(feature)

    def build(self, **options: Any) -> MediaGenerator:
        unknown = set(options) - {"api_key", "unreachable"}
        if unknown:
            raise TypeError(f"{self.name} takes no options {sorted(unknown)}")
        generator = self._factory()
        self._built.append(generator)
        return generator

    def requests_seen(self) -> int | None:
        # The fake records the requests it was given; offline generators record nothing.
        recorded = [g for g in self._built if isinstance(g, FakeMediaGenerator)]
        if not recorded:
            return None
        return sum(len(g.calls) for g in recorded)


# --- factories ---------------------------------------------------------------------------


def _openai_images(base_url: str, key: str | None, options: dict[str, Any]) -> MediaGenerator:
    return OpenAIImageGenerator(api_key=key, base_url=base_url, **options)


def _openai_tts(base_url: str, key: str | None, options: dict[str, Any]) -> MediaGenerator:
    return OpenAISpeechGenerator(api_key=key, base_url=base_url, **options)


def _openrouter(base_url: str, key: str | None, options: dict[str, Any]) -> MediaGenerator:
    assert key is not None, "OpenRouter always needs a key"
    return OpenRouterImageGenerator(api_key=key, base_url=base_url, **options)


def _openai_endpoint(server: FakeServer) -> str:
    return server.openai_base_url


def _plugin(plugin: Any) -> Callable[[], MediaGenerator]:
    def create() -> MediaGenerator:
        generator: MediaGenerator = plugin.create(GeneratorContext())
        return generator

    return create


# --- the rows ----------------------------------------------------------------------------

_SPEECH_TEXT = "Hello there."
_NO_IMAGE = "it makes audio: there is no image to leave out"
_NO_TYPED_DOC = (
    "the speech body is raw audio, not a document to parse; a body that is not "
    "audio is the wrong_type case"
)

ROWS: list[MediaRow] = [
    WireRow(
        "openai_images",
        MediaKind.IMAGE,
        _openai_images,
        endpoint=_openai_endpoint,
        path="/v1/images",
        happy=Happy(
            prompt="a blue square",
            params={"size": "256x256"},
            expect={"width": 256, "height": 256, "mime_type": "image/png"},
        ),
        api_key="sk-media-contract-openai-images-0123456789abcdef",
        malformed=Fault(raw_body=b'{"data": ['),
    ),
    WireRow(
        "openai_tts",
        MediaKind.AUDIO,
        _openai_tts,
        endpoint=_openai_endpoint,
        path="/v1/audio/speech",
        happy=Happy(
            text=_SPEECH_TEXT,
            expect={
                "sample_rate": SAMPLE_RATE,
                "duration_s": speech_duration(_SPEECH_TEXT),
                "mime_type": "audio/mpeg",
            },
        ),
        api_key="sk-media-contract-openai-tts-0123456789abcdef",
        streamed=True,
        cannot={"no_image": _NO_IMAGE, "malformed_body": _NO_TYPED_DOC},
    ),
    WireRow(
        "openrouter_image_generator",
        MediaKind.IMAGE,
        _openrouter,
        endpoint=openrouter_base_url,
        path=OPENROUTER_PREFIX + "/chat/completions",
        happy=Happy(
            prompt="a blue square",
            params={"aspect_ratio": "1:1"},
            expect={"width": 1024, "height": 1024, "mime_type": "image/png"},
        ),
        api_key="sk-or-media-contract-0123456789abcdef",
        malformed=Fault(raw_body=b'{"choices": [{"message": '),
    ),
    LocalRow(
        "offline_image_card",
        MediaKind.IMAGE,
        _plugin(image_card.PLUGIN),
        happy=Happy(
            prompt="a blue square",
            params={"width": 128, "height": 96},
            expect={"width": 128, "height": 96, "mime_type": "image/png"},
        ),
    ),
    LocalRow(
        "offline_video",
        MediaKind.VIDEO,
        _plugin(video.PLUGIN),
        happy=Happy(
            prompt="A lighthouse. A storm.",
            params={"duration_s": 0.5, "fps": 8, "width": 64, "height": 48},
            expect={"width": 64, "height": 48, "frame_count": 4, "fps": 8.0},
        ),
    ),
    LocalRow(
        "mock_video_generator",
        MediaKind.VIDEO,
        _plugin(video.PLUGIN_MOCK),
        happy=Happy(
            prompt="A lighthouse.",
            params={"duration_s": 0.5, "fps": 8, "width": 32, "height": 32},
            expect={"width": 32, "height": 32, "frame_count": 4, "fps": 8.0},
        ),
    ),
    LocalRow(
        "offline_tts",
        MediaKind.AUDIO,
        _plugin(speech.PLUGIN),
        happy=Happy(text="Hi.", expect={"sample_rate": 22_050, "mime_type": "audio/wav"}),
    ),
    LocalRow(
        "offline_music",
        MediaKind.AUDIO,
        _plugin(soundscape.MUSIC_PLUGIN),
        happy=Happy(
            prompt="calm",
            params={"duration_s": 0.5},
            expect={"sample_rate": 44_100, "duration_s": 0.5, "mime_type": "audio/wav"},
        ),
    ),
    LocalRow(
        "offline_ambience",
        MediaKind.AUDIO,
        _plugin(soundscape.AMBIENCE_PLUGIN),
        happy=Happy(
            prompt="rain on a roof",
            params={"duration_s": 0.5},
            expect={"sample_rate": 44_100, "duration_s": 0.5, "mime_type": "audio/wav"},
        ),
    ),
    LocalRow(
        "fake_image_generator",
        MediaKind.IMAGE,
        FakeMediaGenerator,
        happy=Happy(
            prompt="a blue square",
            params={"width": 32, "height": 16},
            expect={"width": 32, "height": 16, "mime_type": "image/png"},
        ),
    ),
    LocalRow(
        "fake_tts",
        MediaKind.AUDIO,
        lambda: FakeMediaGenerator("fake_tts", MediaKind.AUDIO),
        happy=Happy(
            text="hello",
            params={"duration_s": 0.5},
            expect={"sample_rate": 16_000, "duration_s": 0.5, "mime_type": "audio/wav"},
        ),
    ),
]


def _check_rows(rows: list[MediaRow]) -> None:
    names = [row.name for row in rows]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate media contract rows: {sorted(duplicates)}")
    for row in rows:
        for feature in FEATURES:
            row.why_not(feature)  # every feature name is known


_check_rows(ROWS)
