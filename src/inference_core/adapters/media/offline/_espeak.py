"""libespeak-ng through ctypes: text in, 16-bit mono samples out.

The library and its voice data come from the ``espeakng-loader`` wheel; no
``espeak-ng`` program is run. libespeak-ng keeps global state and is not
thread-safe, so every synthesis holds one process-wide lock.

Determinism: espeak-ng keeps pitch-flutter state in function-level statics
that no API call resets, so two syntheses of the same text in one process
differ slightly. To make the same request give the same samples, each
synthesis loads a private copy of the library (``dlopen`` of a copy in a
temporary directory, so no other user of the library in the process is
affected), initialises it, synthesises, terminates and unloads it again
(about 10 ms). When the copy cannot be loaded (a ``noexec`` temp directory,
a platform without ``dlclose``) the library is loaded once, in place, and
output is merely near-identical between calls.

Synthesis uses ``AUDIO_OUTPUT_SYNCHRONOUS``: ``espeak_Synth`` returns when
the whole text has been spoken into the callback, so no espeak-ng thread is
left running when the library is unloaded.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from inference_core.domain.errors import MediaGenerationError

__all__ = ["EspeakEngine", "Synthesis", "VoiceNotFound"]

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS: Final = 2
_INITIALIZE_DONT_EXIT: Final = 0x8000
_POS_CHARACTER: Final = 1
_CHARS_UTF8: Final = 1
_ENDPAUSE: Final = 0x1000
_PARAM_RATE: Final = 1
_PARAM_PITCH: Final = 3
_EE_OK: Final = 0
_EE_NOT_FOUND: Final = 2

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_LOCK = threading.Lock()


class VoiceNotFound(LookupError):
    """espeak-ng has no voice of that name."""


@dataclass(frozen=True)
class Synthesis:
    """Speech as 16-bit little-endian mono PCM."""

    pcm: bytes
    sample_rate: int

    @property
    def samples(self) -> int:
        return len(self.pcm) // 2

    @property
    def duration_s(self) -> float:
        return self.samples / self.sample_rate


def _locate() -> tuple[str, str]:
    """``(library path, data path)`` from ``espeakng_loader``.

    Raises:
        MediaGenerationError: The package is missing or incomplete.
    """
    try:
        # No type stubs: imported by name, its two functions used as Any.
        espeakng_loader: Any = importlib.import_module("espeakng_loader")
    except ImportError as exc:
        raise MediaGenerationError(
            "offline speech needs espeak-ng: the 'espeakng-loader' package is not installed "
            "(pip install 'inference-core[media]')"
        ) from exc
    try:
        library = str(espeakng_loader.get_library_path())
        data = str(espeakng_loader.get_data_path())
    except Exception as exc:  # the loader raises RuntimeError for missing data
        raise MediaGenerationError(f"espeakng-loader is installed but incomplete: {exc}") from exc
    if not Path(library).is_file():
        raise MediaGenerationError(
            f"espeakng-loader is installed but its library is missing: {library!r}"
        )
    return library, data


def _declare(lib: ctypes.CDLL) -> None:
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = ctypes.c_int
    lib.espeak_Terminate.argtypes = []
    lib.espeak_Terminate.restype = ctypes.c_int


def _dlclose() -> Callable[[int], Any] | None:
    if sys.platform.startswith("win"):
        return None
    import _ctypes

    return getattr(_ctypes, "dlclose", None)


class EspeakEngine:
    """Synthesises speech with libespeak-ng (see the module docstring).

    Raises (from :meth:`synthesize`):
        MediaGenerationError: The library or its data cannot be found or loaded.
    """

    def __init__(self) -> None:
        self._private_dir: Path | None = None
        self._private_failed = False
        self._shared: ctypes.CDLL | None = None

    def _private_copy(self, library: str) -> Path | None:
        if self._private_failed:
            return None
        if self._private_dir is None:
            try:
                directory = Path(tempfile.mkdtemp(prefix="inference-core-espeak-"))
                shutil.copyfile(library, directory / "libespeak-ng-private.so")
            except OSError:
                self._private_failed = True
                return None
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            self._private_dir = directory
        return self._private_dir / "libespeak-ng-private.so"

    @contextmanager
    def _library(self, library: str) -> Iterator[tuple[ctypes.CDLL, bool]]:
        """The library to use, and whether it is a fresh private copy (unloaded after)."""
        dlclose = _dlclose()
        copy = self._private_copy(library) if dlclose is not None else None
        if copy is not None and dlclose is not None:
            try:
                lib = ctypes.CDLL(str(copy))
            except OSError:
                self._private_failed = True
            else:
                try:
                    _declare(lib)
                    yield lib, True
                finally:
                    dlclose(lib._handle)
                return
        if self._shared is None:
            try:
                shared = ctypes.CDLL(library)
            except OSError as exc:
                raise MediaGenerationError(
                    f"cannot load libespeak-ng ({library!r}): {exc}"
                ) from exc
            _declare(shared)
            self._shared = shared
        yield self._shared, False

    def synthesize(
        self,
        text: str,
        *,
        voice: str,
        rate: int,
        pitch: int,
        cancel: threading.Event | None = None,
    ) -> Synthesis:
        """Speak ``text`` with ``voice`` at ``rate`` words per minute and ``pitch`` (0-99).

        Raises:
            VoiceNotFound: espeak-ng has no voice named ``voice``.
            MediaGenerationError: The library cannot be loaded or initialised,
                synthesis failed, or it was cancelled.
        """
        library, data = _locate()
        chunks: list[bytes] = []

        def collect(wav: Any, count: int, _events: Any) -> int:
            if cancel is not None and cancel.is_set():
                return 1  # abort synthesis
            if wav and count > 0:
                chunks.append(ctypes.string_at(wav, count * 2))
            return 0

        callback = _SynthCallback(collect)
        encoded = text.encode("utf-8") + b"\0"
        with _LOCK, self._library(library) as (lib, fresh):
            sample_rate = int(
                lib.espeak_Initialize(
                    _AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), _INITIALIZE_DONT_EXIT
                )
            )
            if sample_rate <= 0:
                raise MediaGenerationError(
                    f"libespeak-ng failed to initialise with the voice data at {data!r}"
                )
            try:
                lib.espeak_SetSynthCallback(callback)
                found = int(lib.espeak_SetVoiceByName(voice.encode("utf-8")))
                if found == _EE_NOT_FOUND:
                    raise VoiceNotFound(voice)
                if found != _EE_OK:
                    raise MediaGenerationError(f"espeak-ng could not select voice {voice!r}")
                lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
                lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
                status = int(
                    lib.espeak_Synth(
                        encoded,
                        len(encoded),
                        0,
                        _POS_CHARACTER,
                        0,
                        _CHARS_UTF8 | _ENDPAUSE,
                        None,
                        None,
                    )
                )
                lib.espeak_Synchronize()
            finally:
                if fresh:
                    lib.espeak_Terminate()
        if cancel is not None and cancel.is_set():
            raise MediaGenerationError("speech synthesis was cancelled")
        if status != _EE_OK:
            raise MediaGenerationError(f"espeak-ng synthesis failed (status {status})")
        return Synthesis(pcm=b"".join(chunks), sample_rate=sample_rate)
