"""Turn child results into ONE table (text for the terminal, Markdown for docs/benchmarks.md)."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.suites import REF_KIND, SUITES, Kind, Suite

__all__ = [
    "COLUMNS",
    "MachineInfo",
    "TableRow",
    "build_rows",
    "format_cell",
    "input_rows",
    "loaded_note",
    "machine_info",
    "render_markdown",
    "render_text",
]

_PACKAGES = (
    "inference-core",
    "openai",
    "anthropic",
    "litellm",
    "httpx",
    "httpx2",
    "aiohttp",
    "httpx-aiohttp",
    "pydantic",
    "structlog",
    "tenacity",
)


@dataclass(frozen=True)
class TableRow:
    """One line of the table. Times in microseconds; ``None`` prints as ``-``.

    ``p50_us``/``p99_us`` of a stream row are for the whole stream; ``ttfc_p50_us`` is
    the time to its first text chunk. ``x_sdk``/``x_litellm`` divide this row's p50 by the
    p50 of the same kind of call made with the raw SDK / with LiteLLM (below 1 = faster).
    """

    label: str
    group: str
    status: str = "ok"
    note: str = ""
    import_ms: float | None = None
    rss_mb: float | None = None
    p50_us: float | None = None
    p99_us: float | None = None
    ttfc_p50_us: float | None = None
    calls_s: float | None = None
    x_sdk: float | None = None
    x_litellm: float | None = None
    key: str = ""
    first_call_ms: float | None = None


COLUMNS: tuple[tuple[str, str], ...] = (
    ("label", "row"),
    ("import_ms", "import ms"),
    ("rss_mb", "RSS MB"),
    ("p50_us", "p50 us"),
    ("p99_us", "p99 us"),
    ("ttfc_p50_us", "1st chunk p50 us"),
    ("calls_s", "calls/s (100 in flight)"),
    ("x_sdk", "x raw SDK"),
    ("x_litellm", "x LiteLLM"),
    ("note", "note"),
)


_INPUT_COLUMNS = (
    "import_ms",
    "rss_mb",
    "p50_us",
    "p99_us",
    "ttfc_p50_us",
    "calls_s",
    "x_sdk",
    "x_litellm",
)


def format_cell(column: str, value: Any) -> str:
    """Format one cell: thousands separators for big numbers, ``-`` for unknown."""
    if value is None or value == "":
        return "-" if column != "note" else ""
    if isinstance(value, str):
        return value
    number = float(value)
    if column in ("x_sdk", "x_litellm"):
        return f"{number:.2f}x"
    if column == "rss_mb":
        return f"{number:.1f}"
    if abs(number) >= 100:
        return f"{number:,.0f}"
    return f"{number:.1f}"


def _median(values: Iterable[float]) -> float | None:
    data = list(values)
    return statistics.median(data) if data else None


def _ref_kind(kind: Kind) -> Kind:
    return REF_KIND.get(kind, kind)


def _ratio(value: float | None, reference: Mapping[str, Any] | None) -> float | None:
    if value is None or reference is None or reference.get("status") != "ok":
        return None
    base = reference.get("p50_us")
    return value / base if base else None


def input_rows(result: Mapping[str, Any]) -> list[TableRow]:
    """Rows from ``bench/bench_input.py``'s ``run()`` (a list of dicts).

    ``name`` (or ``row``/``label``) names the row; ``import_ms``, ``rss_mb``, ``p50_us``,
    ``p99_us``, ``ttfc_p50_us``, ``calls_s``, ``x_sdk``, ``x_litellm`` fill their columns;
    ``iterations`` + ``seconds`` become a mean time per operation in the note; any other
    key is shown in the note as ``<value> <key>`` (e.g. ``12,345 messages/s``).
    """
    payload = result.get("input") or {}
    if payload.get("status") != "ok":
        note = str(payload.get("note") or "no result")
        return [TableRow("bench_input.py rows", "input", "na", note, key="input")]
    rows: list[TableRow] = []
    for raw in payload.get("rows", []):
        data = dict(raw)
        label = str(data.pop("name", None) or data.pop("row", None) or data.pop("label", "?"))
        numbers: dict[str, float] = {}
        for column in _INPUT_COLUMNS:
            value = data.pop(column, None)
            if isinstance(value, int | float):
                numbers[column] = float(value)
        notes = [str(data.pop("note", "") or "")]
        iterations, seconds = data.pop("iterations", None), data.pop("seconds", None)
        if isinstance(iterations, int | float) and isinstance(seconds, int | float) and iterations:
            notes.append(f"mean {format_cell('p50_us', seconds / iterations * 1e6)} us/op")
        for key, value in data.items():
            shown = format_cell("p50_us", value) if isinstance(value, int | float) else value
            notes.append(f"{shown} {key}")
        note = "; ".join(n for n in notes if n)
        rows.append(TableRow(label, "input", "ok", note, key=f"input.{label}", **numbers))
    return rows


def build_rows(
    results: Mapping[str, Mapping[str, Any]],
    *,
    bare_rss_kib: float | None,
    import_samples: Mapping[str, Sequence[float]] | None = None,
    rss_samples: Mapping[str, Sequence[float]] | None = None,
    suites: Sequence[Suite] = SUITES,
) -> list[TableRow]:
    """Assemble the table from child results keyed by suite key.

    Args:
        results: ``{suite key: child result}`` (see :mod:`bench.child`).
        bare_rss_kib: RSS of a child that imported nothing (subtracted from each suite's).
        import_samples: Extra import-time samples (ms) per suite; the median is shown.
        rss_samples: Extra RSS samples (KiB) per suite; the median is shown.
        suites: Suite order and metadata.
    """
    rows_by_key: dict[str, Mapping[str, Any]] = {}
    for suite in suites:
        for kind, row in (results.get(suite.key, {}).get("rows") or {}).items():
            rows_by_key[f"{suite.key}.{kind}"] = row

    table: list[TableRow] = []
    for suite in suites:
        result = results.get(suite.key)
        if result is None:
            continue
        if suite.group == "input":
            table.extend(input_rows(result))
            continue
        imports = list((import_samples or {}).get(suite.key, ()))
        if result.get("import_ms") is not None:
            imports.append(float(result["import_ms"]))
        rss = list((rss_samples or {}).get(suite.key, ()))
        if result.get("rss_kib"):
            rss.append(float(result["rss_kib"]))
        import_ms = _median(imports) if suite.imports else None
        rss_kib = _median(rss)
        rss_mb = (
            (rss_kib - bare_rss_kib) / 1024
            if suite.imports and rss_kib is not None and bare_rss_kib is not None
            else None
        )
        for kind in suite.kinds:
            row = rows_by_key.get(f"{suite.key}.{kind}", {"status": "error", "note": "no result"})
            status = str(row.get("status", "error"))
            note = str(row.get("note", "") or "")
            if status == "na":
                note = f"n/a ({note})"
            elif status == "error":
                note = f"ERROR: {note}"
            elif kind == "call" and suite.group == "ours" and result.get("first_call_ms"):
                note = f"import + first call {float(result['first_call_ms']):,.0f} ms"
            ref = _ref_kind(kind)
            p50 = row.get("p50_us") if status == "ok" else None
            sdk = next(
                (rows_by_key[k] for r in suite.sdk_ref if (k := f"{r}.{ref}") in rows_by_key),
                None,
            )
            table.append(
                TableRow(
                    label=suite.row_label(kind),
                    group=suite.group,
                    status=status,
                    note=note,
                    import_ms=import_ms,
                    rss_mb=rss_mb,
                    p50_us=p50,
                    p99_us=row.get("p99_us") if status == "ok" else None,
                    ttfc_p50_us=row.get("ttfc_p50_us") if status == "ok" else None,
                    calls_s=row.get("calls_s") if status == "ok" else None,
                    x_sdk=_ratio(p50, sdk),
                    x_litellm=_ratio(p50, rows_by_key.get(f"litellm.{ref}")),
                    key=f"{suite.key}.{kind}",
                    first_call_ms=result.get("first_call_ms") if kind == "call" else None,
                )
            )
    return table


@dataclass(frozen=True)
class MachineInfo:
    """Where and when the numbers were taken."""

    cpu: str
    cores: int
    usable_cores: int
    python: str
    platform: str
    date: str
    packages: dict[str, str] = field(default_factory=dict)
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None
    mode: str = "full"

    def lines(self) -> list[str]:
        """Human-readable lines (used by the terminal and the Markdown report)."""
        out = [
            f"date: {self.date}",
            f"mode: {self.mode}",
            f"CPU: {self.cpu}; {self.cores} cores ({self.usable_cores} usable by this process)",
            f"Python: {self.python} on {self.platform}",
            "packages: " + ", ".join(f"{k} {v}" for k, v in self.packages.items()),
        ]
        if self.load_before is not None:
            after = "" if self.load_after is None else f", after {_load(self.load_after)}"
            out.append(f"load average (1/5/15 min): before {_load(self.load_before)}{after}")
        return out


def _load(values: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info(
    *, mode: str, load_before: tuple[float, float, float] | None = None
) -> MachineInfo:
    """Collect CPU, cores, Python, package versions and the date."""
    packages: dict[str, str] = {}
    for name in _PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = "not installed"
    cores = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = cores
    return MachineInfo(
        cpu=_cpu_model(),
        cores=cores,
        usable_cores=usable,
        python=platform.python_version(),
        platform=platform.platform(terse=True),
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        packages=packages,
        load_before=load_before,
        mode=mode,
    )


def loaded_note(info: MachineInfo) -> str | None:
    """A warning when the machine was busy (1-min load above half the cores), else ``None``."""
    loads = [x[0] for x in (info.load_before, info.load_after) if x is not None]
    if not loads or max(loads) <= info.usable_cores / 2:
        return None
    return (
        f"NOTE: the machine was loaded (1-min load average up to {max(loads):.2f} on "
        f"{info.usable_cores} cores): treat these numbers as indicative; compare ratios, "
        "and re-run on a quiet machine for the closing notes."
    )


def _cells(row: TableRow) -> list[str]:
    return [format_cell(name, getattr(row, name)) for name, _ in COLUMNS]


_GROUP_TITLES = {
    "baseline": "raw baselines",
    "ours": "inference-core",
    "input": "inference-core: messages and tokens (bench/bench_input.py)",
}


def render_text(rows: Sequence[TableRow]) -> str:
    """The table as aligned plain text, one section per group."""
    header = [title for _, title in COLUMNS]
    body = [_cells(r) for r in rows]
    widths = [max(len(c) for c in column) for column in zip(header, *body, strict=True)]
    widths[-1] = 0  # the note column is last and not padded

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        parts[-1] = cells[-1]
        return "  ".join(parts).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths[:-1]) + "  ----"]
    group = None
    for row, cells in zip(rows, body, strict=True):
        if row.group != group:
            group = row.group
            out.append(f"[{_GROUP_TITLES.get(group, group)}]")
        out.append(line(cells))
    return "\n".join(out)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown_table(rows: Sequence[TableRow]) -> str:
    """The table as a GitHub Markdown table."""
    header = [title for _, title in COLUMNS]
    out = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 2) + ["---"]) + "|",
    ]
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            out.append(f"| **{_GROUP_TITLES.get(group, group)}** |" + " |" * (len(header) - 1))
        out.append("| " + " | ".join(_md_escape(c) for c in _cells(row)) + " |")
    return "\n".join(out)


_ISSUE_TABLE = """\
| client | import | RSS after import | seq p50 / call | calls/s (100 in flight) \
| 20-chunk stream total / first chunk | sync p50 |
|---|---:|---:|---:|---:|---:|---:|
| raw asyncio HTTP/1.1 (the floor) | - | - | 120 us | 19,000 | 370 / 170 us | - |
| aiohttp | 190 ms | 34 MB | 220 us | 8,600 | 550 / 290 us | - |
| httpx | 90 ms | 24 MB | 620 us | 600 | 1,170 / 630 us | 380 us |
| openai SDK (default httpx) | 640 ms | 59 MB | 1,250 us | 435 | 3,950 / 1,560 us | 1,080 us |
| openai SDK on its aiohttp client | | | 1,010 us | 980 | 3,270 / 1,350 us | - |
| anthropic SDK (default) | 1,440 ms | 87 MB | 1,000 us | 460 | - | 830 us |
| anthropic SDK on aiohttp | | | 750 us | 1,320 | - | - |
| LiteLLM `acompletion` | 3,700 ms | 200 MB | 3,800 us | 270 | 18,100 / 6,660 us | 4,050 us |"""


def render_markdown(
    rows: Sequence[TableRow], info: MachineInfo, *, elapsed_s: float, import_check: str = ""
) -> str:
    """The whole ``docs/benchmarks.md`` document."""
    note = loaded_note(info)
    machine = "\n".join(f"- {line}" for line in info.lines())
    warning = f"\n> {note}\n" if note else ""
    quick = (
        "\n> Quick mode: a handful of iterations per row. These numbers only show that every "
        "path runs; they are not measurements.\n"
        if info.mode == "quick"
        else ""
    )
    check = f"\n## Import check\n\n```\n{import_check.strip()}\n```\n" if import_check else ""
    return f"""\
# Benchmarks

What an inference call costs on top of the raw SDKs, measured against a local fake
server so the numbers show client overhead only (issue #7). Generated by
`python -m bench` (full mode, about {elapsed_s / 60:.0f} min here); do not edit by hand.

## How to run

```
python -m bench            # full run, writes this file
python -m bench --quick    # CI smoke: every row, few iterations, asserts nothing about time
python -m bench --only raw,openai-sdk,ours-openai   # a subset (suite keys)
python -m bench.import_check   # import cost of `import inference_core`, fails on SDK imports
```

## Method

- **Server**: `bench/server.py`, a separate process on raw asyncio protocols (no framework)
  answering from pre-rendered bytes: OpenAI `/v1/chat/completions` (JSON, or SSE with a
  role event, 20 text deltas, a usage chunk and `[DONE]`) and Anthropic `/v1/messages`
  (JSON, or its SSE events with 20 `text_delta`s). HTTP/1.1 keep-alive, `Content-Length`
  answers, chunked streams with one write per event. The floor row shows how much the
  server can serve; every other row is far below it, so the server is not the bottleneck.
- **Clients**: each suite runs in its own fresh interpreter. Every call checks the text it
  got back; SDK retries are off. Our rows call the real `bootstrap(...)` with a runtime
  config (`bench/runtime.py`) whose `routing.provider_base_url_env` / `custom_endpoints`
  send the openai, anthropic and litellm client paths to the bench server, with fake keys
  passed through `bootstrap(environ=...)`.
- **import ms / RSS MB**: `time.perf_counter()` around the suite's imports as the first
  thing a fresh child does (for our rows: `inference_core`, its bootstrap and adapter and
  the vendor SDK the adapter loads), median of several children in full mode; RSS is
  `VmRSS` after those imports minus `VmRSS` of a child that imported nothing.
- **p50 / p99**: sequential calls after a warm-up (hundreds in full mode). Stream rows:
  time to the end of the stream; **1st chunk** is time to the first text delta.
- **calls/s**: a fixed number of calls with 100 in flight, after a burst that fills the pool.
- **x raw SDK**: this row's p50 divided by the p50 of the same kind of call made with the
  raw SDK. For our openai and anthropic paths that is the SDK on its aiohttp transport,
  which is what our adapters use by default (the default-transport SDK for sync calls);
  for our litellm path, LiteLLM itself; for the transport baselines, the openai SDK.
  **x LiteLLM**: divided by LiteLLM's p50 for the same kind. Below 1 is faster.
  "ChatModel.complete (adapter only)" calls our adapter through the port directly, so
  the gap between it and ChatText is what the use-case adds (routing, the retry owner,
  the `inference.call` event, usage and cost).
- Nothing is asserted about time; a row whose code does not exist yet prints
  `n/a (not built yet: ...)`, a row that fails prints `ERROR: ...`.

## Machine

{machine}
{warning}{quick}
## Results

{render_markdown_table(rows)}

## Reference: the numbers in issue #7 (same kind of machine, not this run)

{_ISSUE_TABLE}
{check}"""
