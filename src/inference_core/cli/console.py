"""Output of the ``inference-core`` command: human tables (rich when installed) or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["Console", "price", "show"]


class Console:
    """Writes human or JSON output; rich tables when rich is available and wanted."""

    def __init__(self, output: str, *, stdout: Any = None, stderr: Any = None) -> None:
        self.json = output == "json"
        self.out = stdout or sys.stdout
        self.err = stderr or sys.stderr

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Print rows as a table (or as a JSON list of objects with ``--output json``)."""
        if self.json:
            self.emit([dict(zip(columns, row, strict=True)) for row in rows])
            return
        try:
            from rich.console import Console as RichConsole
            from rich.table import Table
        except ImportError:  # plain text fallback without the `cli` extra
            widths = [
                max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(columns)
            ]
            self.line(title)
            self.line("  ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True)))
            for row in rows:
                self.line("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
            return
        table = Table(title=title)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(str(v) for v in row))
        RichConsole(file=self.out, width=160).print(table)

    def pairs(self, title: str, items: Sequence[tuple[str, Any]]) -> None:
        """Print key/value pairs (or one JSON object)."""
        if self.json:
            self.emit(dict(items))
            return
        self.table(title, ["field", "value"], [(k, show(v)) for k, v in items])

    def emit(self, value: Any) -> None:
        """Write one JSON document."""
        self.out.write(json.dumps(value, indent=2, default=str) + "\n")

    def line(self, text: str = "") -> None:
        """Write a line to stdout."""
        self.out.write(text + "\n")

    def note(self, text: str) -> None:
        """Write a line to stderr (progress, usage, hints)."""
        self.err.write(text + "\n")


def show(value: Any) -> str:
    """A value as a table cell: ``-`` for none, yes/no, comma-joined lists."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "-"
    return str(value)


def price(value: float | None) -> str:
    """A price as a table cell; an unknown price says so (never 0)."""
    return "unknown" if value is None else f"{value:g}"
