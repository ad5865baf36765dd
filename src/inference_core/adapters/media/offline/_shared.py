"""What the offline generators share: worker threads, progress from them, input images.

Nothing here imports Pillow, PyAV or espeak-ng at module level, so a
generator module (and its ``PLUGIN``) stays cheap to import.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from inference_core.adapters.media._common import load_image
from inference_core.domain.errors import InvalidGeneratorInput, MediaGenerationError
from inference_core.domain.media import GenerationRequest, MediaInput
from inference_core.ports.media import ProgressCallback

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "HEX_COLOUR_PATTERN",
    "Cancelled",
    "decode_images",
    "prompt_or_text",
    "run_cancellable",
    "split_slides",
    "threadsafe_progress",
    "unlink_quietly",
]

#: ``#RGB`` or ``#RRGGBB`` (the ``#`` optional): what a colour parameter accepts.
HEX_COLOUR_PATTERN = r"^#?([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$"

_T = TypeVar("_T")
_MAX_SLIDES = 8


class Cancelled(Exception):
    """Raised inside a worker thread when the awaiting task was cancelled."""


def threadsafe_progress(
    on_progress: ProgressCallback | None,
) -> Callable[[float | None, str], None]:
    """A progress function worker threads may call too: it always reports on the loop's thread.

    Must be called on the event loop (it captures the running loop).
    """
    if on_progress is None:
        return lambda _fraction, _text: None
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    callback = on_progress

    def report(fraction: float | None, text: str) -> None:
        if threading.get_ident() == loop_thread:
            callback(fraction, text)
            return
        # A closed loop (RuntimeError) means nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback, fraction, text)

    return report


async def run_cancellable(work: Callable[[threading.Event], _T]) -> _T:
    """Run ``work(cancel)`` in a thread; cancelling the awaiting task sets ``cancel``.

    ``work`` should check the event between steps and raise :class:`Cancelled`
    (cleaning up its own files): the thread cannot be stopped from outside,
    and nobody awaits it after the cancellation.
    """
    cancel = threading.Event()
    try:
        return await asyncio.to_thread(work, cancel)
    except asyncio.CancelledError:
        cancel.set()
        raise


def unlink_quietly(path: Path) -> None:
    """Remove ``path`` if it exists, ignoring errors (cleanup after a failure)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def prompt_or_text(generator_id: str, request: GenerationRequest, *, what: str) -> str:
    """The request's prompt (else its text), stripped.

    Raises:
        InvalidGeneratorInput: Neither holds any non-blank text.
    """
    value = (request.prompt or request.text or "").strip()
    if not value:
        raise InvalidGeneratorInput(generator_id, [f"{what} needs a non-empty prompt"])
    return value


async def decode_images(generator_id: str, inputs: Sequence[MediaInput]) -> list[Image.Image]:
    """Read and fully decode input images (size and pixel guards of ``PillowImaging``).

    Raises:
        InvalidGeneratorInput: An input is a URL (nothing is fetched offline),
            cannot be read, or is not a decodable image.
    """
    try:
        from inference_core.adapters.imaging.pillow import PillowImaging
        from inference_core.domain.errors import InvalidImageError
    except ImportError as exc:  # pragma: no cover - only without the media extra
        raise MediaGenerationError(
            f"{generator_id} needs Pillow: pip install 'inference-core[media]' ({exc})"
        ) from exc
    imaging = PillowImaging()
    images: list[Image.Image] = []
    for index, item in enumerate(inputs):
        if item.url is not None:
            raise InvalidGeneratorInput(
                generator_id,
                [f"inputs[{index}]: offline generators fetch nothing; pass a file or bytes"],
            )
        loaded = await load_image(generator_id, index, item)
        try:
            image = await asyncio.to_thread(imaging.decode, loaded.data, what=f"inputs[{index}]")
        except InvalidImageError as exc:
            raise InvalidGeneratorInput(generator_id, [str(exc)]) from None
        images.append(image)
    return images


def split_slides(text: str) -> list[str]:
    """``text`` split into sentences, one slide each (at most 8: the rest join the last)."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]
    if not sentences:
        return [text.strip()]
    if len(sentences) > _MAX_SLIDES:
        sentences = [*sentences[: _MAX_SLIDES - 1], " ".join(sentences[_MAX_SLIDES - 1 :])]
    return sentences
