"""The adapters the seed facades reshape, handed out by the composition root.

``compat`` never imports an adapter (an import-linter contract keeps it so):
what a facade needs beyond the use-cases - the Pillow image helper, the exact
token counter, Ollama's management API, the config file reader - it gets
from here, so which adapter serves it is decided in one place. Everything is
imported on first use: the facades load without Pillow, tiktoken or httpx.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference_core.adapters.config import (
    environment_snapshot,
    find_file_upwards,
    load_runtime,
    read_env_file,
    substitute_env,
)
from inference_core.adapters.config.descriptor_file import load_descriptor
from inference_core.adapters.config.loader import parse_config_text, read_config_file
from inference_core.adapters.media.legacy import (
    BaseAudioGenerator,
    BaseImageGenerator,
    BaseVideoGenerator,
    GeneratorMetadata,
    LegacyGenerator,
    SeedGenerator,
)
from inference_core.domain.images import ImageLimits
from inference_core.domain.usage import UsageEvent
from inference_core.ports.media import AssetStore, JobJournal, MediaProbe
from inference_core.ports.runtime import UsageSink
from inference_core.ports.tokens import TokenCounter

if TYPE_CHECKING:
    from inference_core.adapters.imaging import ImageSource, PillowImaging
    from inference_core.adapters.ollama import OllamaClient, PullProgress
    from inference_core.composition import Inference

__all__ = [
    "BaseAudioGenerator",
    "BaseImageGenerator",
    "BaseVideoGenerator",
    "GeneratorMetadata",
    "ImageSource",
    "LegacyGenerator",
    "OllamaClient",
    "PillowImaging",
    "PullProgress",
    "SeedGenerator",
    "concat_audio",
    "concat_video",
    "environment_snapshot",
    "exact_token_counter",
    "find_file_upwards",
    "image_processor",
    "job_journal",
    "load_descriptor",
    "load_runtime",
    "media_probe",
    "media_store",
    "mix_audio",
    "mux_audio_video",
    "ollama_manager",
    "parse_config_text",
    "read_config_file",
    "read_env_file",
    "scoped_inference",
    "substitute_env",
]


def image_processor(limits: ImageLimits | None = None) -> PillowImaging:
    """The Pillow image helper (needs the ``media`` extra)."""
    from inference_core.adapters.imaging import PillowImaging

    return PillowImaging(limits)


def exact_token_counter() -> TokenCounter:
    """The tiktoken counter (needs the ``tokens`` extra; estimates without it)."""
    from inference_core.adapters.tokens import TiktokenCounter

    return TiktokenCounter()


def ollama_manager(inference: Inference, model: str) -> OllamaClient:
    """A client of Ollama's management API (tags, pull) on the server that serves ``model``.

    ``model`` is an Ollama model id (``ollama/llama3`` or ``llama3``); its
    connection (base URL, headers, key) is resolved by the router exactly as for
    a chat call, so ``base_url=``, config and ``OLLAMA_BASE_URL`` all apply.
    Close it with ``await client.aclose()``.
    """
    from inference_core.adapters.ollama import DEFAULT_BASE_URL, create_client

    router = inference.router
    routed = model if model.startswith("ollama/") else f"ollama/{model}"
    connection = router.connection(router.route(routed))
    if connection.base_url is None:
        connection = connection.model_copy(update={"base_url": DEFAULT_BASE_URL})
    return create_client(connection)


def job_journal(inference: Inference, path: str | Path | None = None) -> JobJournal:
    """The job journal of the queued generators (fal, WaveSpeed).

    ``path``, else ``media.journal_path``, else
    ``$XDG_STATE_HOME/inference-core/jobs.sqlite3`` (``~/.local/state/...``).
    """
    from inference_core.adapters.jobs import SqliteJobJournal, default_journal_path

    chosen = path or inference.config.media.journal_path
    return SqliteJobJournal(chosen if chosen else default_journal_path(inference.env))


def media_store(inference: Inference, directory: str | Path | None = None) -> AssetStore:
    """A filesystem asset store at ``directory`` (default ``media.output_dir``)."""
    from inference_core.adapters.media.setup import build_store

    return build_store(inference.config, directory)


def media_probe(inference: Inference) -> MediaProbe:
    """The probe that opens media files to check them (``inference``'s, else the PyAV one)."""
    if inference.media_probe is not None:
        return inference.media_probe
    from inference_core.adapters.media.probe import AVMediaProbe

    return AVMediaProbe()


class _TeeSink:
    """Sends each usage event to several sinks; one that raises never stops the others."""

    def __init__(self, *sinks: UsageSink) -> None:
        self._sinks = sinks

    def record(self, event: UsageEvent) -> None:
        for sink in self._sinks:
            try:
                sink.record(event)
            except Exception:  # noqa: S112 - a sink must never fail the call it observes
                continue


def scoped_inference(
    inference: Inference,
    *,
    usage_sink: UsageSink | None = None,
    asset_store: AssetStore | None = None,
) -> Inference:
    """A view of ``inference`` for one run, with an extra usage sink and/or another store.

    Config, catalog, router (and its adapters), ledger, redactor, retry policy,
    generator registry and the :meth:`~Inference.run_sync` loop are shared;
    ``usage_sink`` receives this view's events besides the ledger and the
    original's sink (so a run's own usage is exact while others run
    concurrently), and ``asset_store`` replaces where its media goes. Closing
    the view never stops the shared loop.
    """
    sink = inference.usage_sink
    if usage_sink is not None:
        sink = usage_sink if sink is None else _TeeSink(sink, usage_sink)
    return dataclasses.replace(
        inference,
        usage_sink=sink,
        asset_store=asset_store if asset_store is not None else inference.asset_store,
        owns_runner=False,
    )


# PyAV and numpy load on first use: the facades import this module eagerly.


def concat_audio(inputs: Sequence[Path], output: Path, *, fmt: str) -> None:
    """Decode the inputs and encode them as one continuous stream (PyAV)."""
    from inference_core.adapters.media import av_ops

    av_ops.concat_audio(inputs, output, fmt=fmt)


def concat_video(inputs: Sequence[Path], output: Path, **options: Any) -> None:
    """Join clips with cut/crossfade transitions, normalising size and rate (PyAV)."""
    from inference_core.adapters.media import av_ops

    av_ops.concat_video(inputs, output, **options)


def mix_audio(narration: Sequence[Path], output: Path, **options: Any) -> None:
    """Mix narration over ducked music and ambience beds into a WAV (PyAV, numpy)."""
    from inference_core.adapters.media import av_ops

    av_ops.mix_audio(narration, output, **options)


def mux_audio_video(video: Path, audio: Path, output: Path) -> None:
    """Put ``audio`` under ``video`` as AAC in MP4 (PyAV)."""
    from inference_core.adapters.media import av_ops

    av_ops.mux_audio_video(video, audio, output)
