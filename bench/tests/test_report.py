"""Table assembly: ratios, n/a and error rows, RSS over a bare interpreter, bench_input rows."""

from __future__ import annotations

from typing import Any

import pytest

from bench.report import (
    MachineInfo,
    build_rows,
    format_cell,
    input_rows,
    loaded_note,
    render_markdown,
    render_text,
)
from bench.suites import SUITES, Suite, suite_by_key

_SDK = Suite("sdk", "the SDK", "baseline", "x:Y", ("sdk",), ("call", "stream", "sync"), ("sdk",))
_AIO = Suite("aio", "SDK on aiohttp", "baseline", "x:Y", ("sdk",), ("call",), ("sdk",))
_LITELLM = Suite(
    "litellm", "LiteLLM", "baseline", "x:Y", ("litellm",), ("call", "stream"), ("litellm",)
)
_OURS = Suite(
    "ours",
    "openai path",
    "ours",
    "x:Y",
    ("inference_core",),
    ("call", "adapter", "stream", "compat", "compat_sync"),
    ("aio", "sdk"),
    (("call", "ChatText"), ("compat", "LLMClient.acall")),
)
_RAW = Suite("raw", "floor", "baseline", "x:Y", (), ("call",), ("sdk",))


def _ok(p50: float, **extra: float) -> dict[str, Any]:
    return {"status": "ok", "p50_us": p50, "p99_us": p50 * 2, **extra}


def _results() -> dict[str, dict[str, Any]]:
    return {
        "raw": {"import_ms": 0.0, "rss_kib": 10_000, "rows": {"call": _ok(100.0, calls_s=20_000)}},
        "sdk": {
            "import_ms": 600.0,
            "rss_kib": 10_000 + 50 * 1024,
            "rows": {
                "call": _ok(1000.0, calls_s=500),
                "stream": _ok(4000.0, ttfc_p50_us=1500.0),
                "sync": _ok(900.0),
            },
        },
        "aio": {"import_ms": 650.0, "rss_kib": 10_000, "rows": {"call": _ok(550.0)}},
        "litellm": {
            "import_ms": 3700.0,
            "rss_kib": 10_000 + 200 * 1024,
            "rows": {"call": _ok(4000.0, calls_s=250), "stream": _ok(16000.0)},
        },
        "ours": {
            "import_ms": 700.0,
            "rss_kib": 10_000 + 55 * 1024,
            "rows": {
                "call": _ok(1100.0, calls_s=450),
                "adapter": _ok(1050.0),
                "stream": {"status": "error", "note": "RuntimeError: boom"},
                "compat": {"status": "na", "note": "not built yet: inference_core.LLMClient"},
                "compat_sync": _ok(1800.0),
            },
        },
    }


def _rows() -> dict[str, Any]:
    rows = build_rows(
        _results(),
        bare_rss_kib=10_000,
        import_samples={"sdk": [500.0, 700.0]},
        suites=(_RAW, _SDK, _AIO, _LITELLM, _OURS),
    )
    return {r.key: r for r in rows}


def test_ratios_divide_by_the_same_kind_of_raw_sdk_and_litellm_call() -> None:
    rows = _rows()
    # the first reference that measured the kind: the SDK on aiohttp for calls...
    assert rows["ours.call"].x_sdk == pytest.approx(2.0)
    assert rows["ours.call"].x_litellm == pytest.approx(1100 / 4000)
    assert rows["ours.adapter"].x_sdk == pytest.approx(1050 / 550)  # adapter-only vs a call
    # ...and the default SDK where the aiohttp suite has no such kind
    assert rows["ours.compat_sync"].x_sdk == pytest.approx(2.0)  # LLMClient.call vs sync SDK
    assert rows["ours.compat_sync"].x_litellm is None  # LiteLLM has no sync row here
    assert rows["sdk.stream"].x_litellm == pytest.approx(0.25)
    assert rows["raw.call"].x_sdk == pytest.approx(0.1)


def test_import_and_rss_are_medians_over_a_bare_interpreter() -> None:
    rows = _rows()
    assert rows["sdk.call"].import_ms == 600.0  # median of 500, 700 and the run's own 600
    assert rows["sdk.call"].rss_mb == pytest.approx(50.0)
    assert rows["ours.stream"].rss_mb == pytest.approx(55.0)
    assert rows["raw.call"].import_ms is None and rows["raw.call"].rss_mb is None


def test_not_built_and_error_rows_show_why_and_no_numbers() -> None:
    rows = _rows()
    na = rows["ours.compat"]
    assert na.status == "na"
    assert na.note == "n/a (not built yet: inference_core.LLMClient)"
    assert na.p50_us is None and na.x_sdk is None
    error = rows["ours.stream"]
    assert error.note == "ERROR: RuntimeError: boom"
    assert error.p50_us is None


def test_labels_use_use_case_names() -> None:
    rows = _rows()
    assert rows["ours.call"].label == "ChatText · openai path"
    assert rows["ours.adapter"].label == "openai path · ChatModel.complete only"
    assert rows["sdk.stream"].label == "the SDK · stream 20 chunks"


def test_text_and_markdown_show_every_row_once() -> None:
    rows = list(_rows().values())
    text = render_text(rows)
    info = MachineInfo("cpu", 2, 2, "3.11", "linux", "today", {"openai": "3"}, (0.1, 0.1, 0.1))
    markdown = render_markdown(rows, info, elapsed_s=60, import_check="OK: fine")
    for row in rows:
        assert text.count(row.label) == 1
        assert markdown.count(f"| {row.label} |") == 1
    assert "[inference-core]" in text and "[raw baselines]" in text
    assert "1,100" in text and "2.00x" in text
    assert "OK: fine" in markdown and "CPU: cpu; 2 cores" in markdown


def test_input_rows_map_bench_input_dicts() -> None:
    result = {
        "input": {
            "status": "ok",
            "rows": [
                {
                    "name": "count_tokens_domain",
                    "messages/s": 123456.7,
                    "MB/s": 12.5,
                    "iterations": 100,
                    "seconds": 0.5,
                },
                {"row": "custom", "p50_us": 42.0, "note": "hello"},
            ],
        }
    }
    first, second = input_rows(result)
    assert first.label == "count_tokens_domain"
    assert first.note == "mean 5,000 us/op; 123,457 messages/s; 12.5 MB/s"
    assert first.p50_us is None
    assert (second.label, second.p50_us, second.note) == ("custom", 42.0, "hello")


def test_missing_bench_input_is_one_na_row() -> None:
    (row,) = input_rows({"input": {"status": "na", "note": "not built yet: no file"}})
    assert row.status == "na" and "not built yet" in row.note


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("p50_us", 1234.4, "1,234"),
        ("p50_us", 12.34, "12.3"),
        ("x_sdk", 1.234, "1.23x"),
        ("rss_mb", 59.04, "59.0"),
        ("calls_s", None, "-"),
        ("note", None, ""),
    ],
)
def test_format_cell(column: str, value: float | None, shown: str) -> None:
    assert format_cell(column, value) == shown


def test_loaded_note_only_when_load_exceeds_half_the_cores() -> None:
    quiet = MachineInfo(
        "c", 2, 2, "3.11", "l", "d", load_before=(0.5, 0, 0), load_after=(0.9, 0, 0)
    )
    busy = MachineInfo("c", 2, 2, "3.11", "l", "d", load_before=(0.5, 0, 0), load_after=(1.6, 0, 0))
    assert loaded_note(quiet) is None
    note = loaded_note(busy)
    assert note is not None and "1.60" in note and "2 cores" in note


def test_registry_keys_are_unique_and_refs_exist() -> None:
    keys = [s.key for s in SUITES]
    assert len(keys) == len(set(keys))
    for suite in SUITES:
        for ref in suite.sdk_ref:
            assert suite_by_key(ref).group == "baseline"
    with pytest.raises(KeyError, match="no suite"):
        suite_by_key("nope")
