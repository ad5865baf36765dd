"""The performance goals of issue #17, computed from one run's rows (met or not, with numbers).

Each goal is a ratio of two rows measured in the same run; nothing here asserts
anything (the table is written whatever the numbers are). A goal whose rows are
missing (a subset run, an error) says so instead of a number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bench.report import TableRow

__all__ = ["Goal", "evaluate", "render_goals_markdown", "render_goals_text"]


@dataclass(frozen=True)
class Goal:
    """One goal: what is compared, the measured value, the target, and whether it is met."""

    name: str
    value: float | None
    target: str
    met: bool | None
    detail: str


Rows = Mapping[str, TableRow]


def _get(rows: Rows, key: str, field: str) -> float | None:
    row = rows.get(key)
    if row is None or row.status != "ok":
        return None
    value = getattr(row, field)
    return float(value) if value is not None else None


def _ratio(
    rows: Rows,
    name: str,
    ours: str,
    reference: str,
    field: str,
    check: Callable[[float], bool],
    target: str,
    unit: str,
) -> Goal:
    a, b = _get(rows, ours, field), _get(rows, reference, field)
    if a is None or b is None or b == 0:
        return Goal(name, None, target, None, f"not measured ({ours} / {reference})")
    value = a / b
    return Goal(name, value, target, check(value), f"{a:,.0f} / {b:,.0f} {unit}")


def _difference(rows: Rows, name: str, ours: str, reference: str, limit: float) -> Goal:
    a, b = _get(rows, ours, "p50_us"), _get(rows, reference, "p50_us")
    target = f"<= +{limit:.0f} us"
    if a is None or b is None:
        return Goal(name, None, target, None, f"not measured ({ours} - {reference})")
    value = a - b
    return Goal(name, value, target, value <= limit, f"{a:,.0f} - {b:,.0f} us")


def _at_most(rows: Rows, name: str, key: str, field: str, limit: float, unit: str) -> Goal:
    value = _get(rows, key, field)
    target = f"<= {limit:,.0f} {unit}"
    if value is None:
        return Goal(name, None, target, None, f"not measured ({key})")
    return Goal(name, value, target, value <= limit, f"{value:,.0f} {unit}")


def _at_least(value: float) -> Callable[[float], bool]:
    return lambda ratio: ratio >= value


def _at_most_ratio(value: float) -> Callable[[float], bool]:
    return lambda ratio: ratio <= value


def _wire_goals(rows: Rows, wire: str, sdk: str, sdk_aiohttp: str, label: str) -> list[Goal]:
    per_s = "calls/s"
    return [
        _ratio(rows, f"{label}: ChatText calls/s vs raw default SDK", f"{wire}.call",
               f"{sdk}.call", "calls_s", _at_least(4.0), ">= 4x", per_s),
        _ratio(rows, f"{label}: ChatText calls/s vs SDK on aiohttp", f"{wire}.call",
               f"{sdk_aiohttp}.call", "calls_s", _at_least(1.5), ">= 1.5x", per_s),
        _ratio(rows, f"{label}: ChatText calls/s vs LiteLLM", f"{wire}.call",
               "litellm.call", "calls_s", _at_least(15.0), ">= 15x", per_s),
        _ratio(rows, f"{label}: ChatText p50 vs raw-asyncio floor", f"{wire}.call",
               "raw.call", "p50_us", _at_most_ratio(5.0), "<= 5x", "us"),
        _ratio(rows, f"{label}: StreamChat 20 chunks vs aiohttp reading it", f"{wire}.stream",
               "aiohttp.stream", "p50_us", _at_most_ratio(2.0), "<= 2x", "us"),
        _ratio(rows, f"{label}: ChatText vs adapter alone, calls/s", f"{wire}.call",
               f"{wire}.adapter", "calls_s", _at_least(0.95), ">= 0.95x", per_s),
        _difference(rows, f"{label}: ChatText vs adapter alone, p50", f"{wire}.call",
                    f"{wire}.adapter", 50.0),
        _ratio(rows, f"{label}: LLMClient.call (sync) p50 vs raw sync SDK",
               f"{wire}.compat_sync", f"{sdk}.sync", "p50_us", _at_most_ratio(1.0),
               "<= 1.0x", "us"),
        _at_most(rows, f"{label}: import + bootstrap + first call", f"{wire}.call",
                 "first_call_ms", 400.0, "ms"),
    ]  # fmt: skip


def evaluate(table: Sequence[TableRow], *, embedded_ratio: float | None = None) -> list[Goal]:
    """Every goal that this run's rows can answer."""
    rows = {row.key: row for row in table if row.key}
    goals = _wire_goals(rows, "ours-openai-http", "openai-sdk", "openai-sdk-aiohttp", "OpenAI wire")
    goals += _wire_goals(
        rows, "ours-anthropic-http", "anthropic-sdk", "anthropic-sdk-aiohttp", "Anthropic wire"
    )
    goals.append(
        _ratio(rows, "SDK path: LLMClient.call (sync) p50 vs raw sync SDK",
               "ours-openai.compat_sync", "openai-sdk.sync", "p50_us", _at_most_ratio(1.0),
               "<= 1.0x", "us")
    )  # fmt: skip
    if embedded_ratio is not None:
        goals.append(
            Goal("Embedded model tokens/s vs raw llama_cpp", embedded_ratio, ">= 0.95x",
                 embedded_ratio >= 0.95, "see the embedded model section")
        )  # fmt: skip
    return goals


def _verdict(goal: Goal) -> str:
    return "n/a" if goal.met is None else ("met" if goal.met else "NOT met")


def _value(goal: Goal) -> str:
    if goal.value is None:
        return "-"
    if goal.target.startswith("<= +"):
        return f"{goal.value:+,.0f} us"
    if goal.target.endswith("ms"):
        return f"{goal.value:,.0f} ms"
    return f"{goal.value:.2f}x"


def render_goals_markdown(goals: Sequence[Goal]) -> str:
    """The ``## Goals`` section of docs/benchmarks.md."""
    lines = [
        "## Goals (issue #17), from the rows above",
        "",
        "| goal | measured | target | verdict | from |",
        "|---|---:|---:|---|---|",
    ]
    lines += [
        f"| {g.name} | {_value(g)} | {g.target} | {_verdict(g)} | {g.detail} |" for g in goals
    ]
    return "\n".join(lines) + "\n"


def render_goals_text(goals: Sequence[Goal]) -> str:
    """The same, for the terminal."""
    width = max((len(g.name) for g in goals), default=0)
    return "\n".join(
        f"{g.name:<{width}}  {_value(g):>10}  {g.target:>10}  {_verdict(g):<8}  {g.detail}"
        for g in goals
    )
