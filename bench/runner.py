"""Child-process entry: measure ONE suite in a fresh interpreter and write its result as JSON.

``python -m bench.runner --imports a,b --out FILE [--suite KEY --host H --port P
--config PATH --quick] [--imports-only]``

The very first thing it does is import ``--imports`` under ``time.perf_counter`` and read
``VmRSS``: nothing but ``sys`` and ``time`` (both loaded at interpreter start) is imported
before, so the figures are the cost of those modules over a bare interpreter (the parent
subtracts the RSS of a child run with no imports). Only then does it load the harness.
"""

from __future__ import annotations

import sys
import time

__all__ = ["main"]


def _argument(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1] if name in argv else ""


def _vm_rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> int:
    """Run the child; always writes a result file, returns 0 unless the arguments are bad."""
    argv = sys.argv[1:]
    names = [n for n in _argument(argv, "--imports").split(",") if n]
    import_error = ""
    start = time.perf_counter()
    for name in names:
        try:
            __import__(name)
        except ImportError as exc:  # reported, not raised: the row becomes n/a
            import_error = f"{type(exc).__name__}: {exc}"
            break
    import_s = time.perf_counter() - start
    rss_kib = _vm_rss_kib()

    from bench.child import run_child  # the harness loads only after the measurement

    return run_child(argv, import_s=import_s, rss_kib=rss_kib, import_error=import_error)


if __name__ == "__main__":
    raise SystemExit(main())
