"""The goal table: ratios of rows measured in the same run, met or not, or n/a."""

from __future__ import annotations

from bench.goals import evaluate, render_goals_markdown
from bench.report import TableRow


def row(key: str, **fields: float) -> TableRow:
    return TableRow(label=key, group="ours", key=key, **fields)  # type: ignore[arg-type]


def test_ratios_verdicts_and_missing_rows() -> None:
    rows = [
        row("ours-openai-http.call", calls_s=4000.0, p50_us=300.0, first_call_ms=350.0),
        row("ours-openai-http.adapter", calls_s=4100.0, p50_us=280.0),
        row("openai-sdk.call", calls_s=500.0, p50_us=1500.0),
        row("openai-sdk-aiohttp.call", calls_s=3000.0),
        row("raw.call", p50_us=100.0),
    ]
    goals = {g.name: g for g in evaluate(rows, embedded_ratio=0.97)}
    assert goals["OpenAI wire: ChatText calls/s vs raw default SDK"].value == 8.0
    assert goals["OpenAI wire: ChatText calls/s vs raw default SDK"].met is True
    assert goals["OpenAI wire: ChatText calls/s vs SDK on aiohttp"].met is False  # 1.33x
    assert goals["OpenAI wire: ChatText p50 vs raw-asyncio floor"].met is True  # 3x
    assert goals["OpenAI wire: ChatText vs adapter alone, p50"].value == 20.0
    assert goals["OpenAI wire: import + bootstrap + first call"].met is True
    assert goals["OpenAI wire: ChatText calls/s vs LiteLLM"].met is None  # no LiteLLM row
    assert goals["Embedded model tokens/s vs raw llama_cpp"].met is True
    table = render_goals_markdown(list(goals.values()))
    assert "| OpenAI wire: ChatText calls/s vs raw default SDK | 8.00x | >= 4x | met |" in table
    assert "n/a" in table and "NOT met" in table
