"""The ``inference-core`` command (placeholder until the CLI lands: prints help)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_HELP = """usage: inference-core [--help] COMMAND

inference-core: one typed, observable inference layer for agent pipelines.

Commands arrive with the CLI release (chat, models, route, doctor, demo).
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    sys.stdout.write(_HELP)
    return 0 if not args or args[0] in ("-h", "--help") else 2
