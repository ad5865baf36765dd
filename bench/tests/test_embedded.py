"""The embedded model bench: its pure table logic, and that the server is stopped on failure."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench import embedded
from bench.embedded import (
    LIBRARY,
    RAW,
    SERVER,
    VARIANTS,
    EmbeddedReport,
    LoadSettings,
    Sample,
    agreement,
    order,
    render,
    stream_sample,
    summarize,
)


def _call(variant: str, total_s: float, tokens: int = 100, prompt_no: int = 1) -> Sample:
    return Sample(variant, "call", tokens=tokens, total_s=total_s, finish="length",
                  prompt_no=prompt_no, digest="same")  # fmt: skip


def _stream(variant: str, ttft_s: float, total_s: float, tokens: int = 101) -> Sample:
    return Sample(variant, "stream", tokens=tokens, total_s=total_s, ttft_s=ttft_s,
                  finish="length", prompt_no=2, digest="same")  # fmt: skip


def test_tokens_per_second_is_whole_call_or_decoding_after_the_first_token() -> None:
    assert _call(RAW, 2.0).tokens_per_s == 50.0
    # 101 tokens: the first at 0.5 s, the other 100 over the 2 s after it.
    assert _stream(RAW, 0.5, 2.5).tokens_per_s == 50.0
    assert _call(RAW, 2.0).cpu_ms_per_token is None
    cpu = Sample(RAW, "call", tokens=100, total_s=2.0, cpu_s=1.5)
    assert cpu.cpu_ms_per_token == 15.0
    row = summarize([cpu])[1]
    assert (row.variant, row.cpu_ms_per_token) == (RAW, 15.0)


def test_rows_are_medians_with_ratios_to_raw_llama_cpp() -> None:
    samples = [
        _call(RAW, 2.0), _call(RAW, 2.0), _call(RAW, 4.0),  # median 50 tok/s
        _call(LIBRARY, 2.5), _call(LIBRARY, 2.5), _call(LIBRARY, 1.0),  # median 40 tok/s
        _stream(RAW, 0.2, 2.2), _stream(LIBRARY, 0.3, 2.3), _stream(SERVER, 0.1, 4.1),
    ]  # fmt: skip
    rows = {(r.variant, r.mode): r for r in summarize(samples)}
    assert [(r.variant, r.mode) for r in summarize(samples)] == [
        (v, m) for m in ("call", "stream") for v in VARIANTS
    ]
    library, raw = rows[LIBRARY, "call"], rows[RAW, "call"]
    assert (raw.tokens_per_s, raw.ratio, raw.samples) == (50.0, 1.0, 3)
    assert (library.tokens_per_s, library.ratio) == (40.0, 0.8)
    assert library.ttft_ms is None and library.finish == "length"
    stream = rows[LIBRARY, "stream"]
    assert stream.ttft_ms == pytest.approx(300.0)
    assert stream.ttft_ratio == pytest.approx(1.5)
    assert stream.ratio == pytest.approx(1.0)
    assert rows[SERVER, "stream"].ratio == pytest.approx(0.5)
    assert rows[SERVER, "call"].samples == 0 and rows[SERVER, "call"].ratio is None


def test_without_raw_samples_there_is_no_ratio_and_errors_reach_their_rows() -> None:
    rows = summarize([_call(LIBRARY, 2.0)], {RAW: "RuntimeError: no model"})
    by_key = {(r.variant, r.mode): r for r in rows}
    assert by_key[LIBRARY, "call"].ratio is None
    assert by_key[RAW, "call"].error == "RuntimeError: no model"
    text = render(EmbeddedReport(rows=rows, settings=LoadSettings(max_tokens=128, rounds=1)))
    assert "| raw llama_cpp | call | error: RuntimeError: no model |" in text
    assert "max_tokens 128, 1 round(s)" in text


def test_render_shows_the_table_notes_and_a_skipped_run() -> None:
    rows = summarize([_call(RAW, 2.0), _call(LIBRARY, 2.0)])
    report = EmbeddedReport(
        rows=rows,
        settings=LoadSettings(model_path="/m/gemma.gguf", n_threads=1, max_tokens=100, rounds=1),
        startup_s={LIBRARY: 2.04, RAW: 0.8},
        agreement=(1, 1),
    )
    text = render(report)
    assert "| library | call | 100 | - | 50.0 | 1.00 | - | - | 2000 | - | length | 1 |" in text
    assert "model gemma.gguf" in text and "n_threads 1" in text
    assert "Identical answers in every variant: 1 of 1 prompts." in text
    assert "Start-up (not in the table): library 2.0 s, raw llama_cpp 0.8 s (" in text
    assert render(EmbeddedReport(error="needs x")) == "embedded model benchmark skipped: needs x"
    section = embedded.markdown_section(report)
    assert section.startswith("\n## Embedded model") and text in section


def test_stream_samples_count_tokens_from_the_finish_reason_or_the_chunks() -> None:
    cut = stream_sample(RAW, 128, ["a", "b"], began=1.0, first=1.25, total=3.0, finish="length")
    assert (cut.tokens, cut.ttft_s, cut.mode) == (128, 0.25, "stream")
    stopped = stream_sample(SERVER, 128, ["a", "b"], began=1.0, first=None, total=3.0,
                            finish="stop")  # fmt: skip
    assert (stopped.tokens, stopped.ttft_s) == (2, None)
    assert cut.digest == stopped.digest  # the same text, however it was cut into chunks
    assert stream_sample(RAW, 8, ["ab"], 0.0, 0.1, 1.0, "length").digest == cut.digest


def test_agreement_counts_prompts_answered_identically_by_every_variant() -> None:
    same = [_call(v, 1.0, prompt_no=1) for v in VARIANTS]
    differs = [Sample(v, "call", 1, 1.0, prompt_no=2, digest=v) for v in VARIANTS]
    alone = [_call(RAW, 1.0, prompt_no=3)]
    assert agreement([*same, *differs, *alone]) == (1, 2)


def test_six_rounds_put_every_variant_in_every_position_equally() -> None:
    positions = Counter((name, i) for r in range(6) for i, name in enumerate(order(r)))
    assert set(positions.values()) == {2}
    assert len({order(r) for r in range(6)}) == 6


def test_run_reports_a_missing_runtime_instead_of_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "available", lambda: "needs the 'local' extra")
    report = embedded.run(quick=True)
    assert report.error == "needs the 'local' extra" and report.rows == ()


def test_a_server_that_never_answers_is_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def popen(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        # Instead of llama.cpp's server: a process that never listens and exits on EOF.
        proc = real_popen([sys.executable, "-c", "import sys; sys.stdin.read()"], **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(embedded, "_SERVER_START_TIMEOUT", 0.3)
    server = embedded._Server(LoadSettings(model_path="/nowhere.gguf"), tmp_path / "server.log")
    with pytest.raises(RuntimeError, match="did not answer"):
        server.wait_ready()
    assert len(started) == 1 and started[0].poll() is not None


def test_a_subset_run_measures_the_embedded_model_only_when_it_names_it() -> None:
    from bench.cli import _selected, _wants_embedded

    assert _wants_embedded(None) and _wants_embedded("raw, embedded")
    assert not _wants_embedded("raw,ours-openai")
    assert [s.key for s in _selected("raw,embedded")] == ["raw"]
