"""``python -m bench.import_check``: what ``import inference_core`` costs, and that it loads no SDK.

* Import time added over a bare interpreter, from ``python -X importtime`` (median of
  several fresh interpreters), with the slowest modules it pulled in.
* A correctness check, not a timing one: after ``import inference_core`` none of
  ``openai``, ``anthropic``, ``litellm``, ``httpx`` (nor the SDKs' ``httpx2``) or ``PIL``
  may be in ``sys.modules``. Exit status 1 if one is.
* Informational: the same list after touching every public name (lazy exports).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FORBIDDEN",
    "ImportTimes",
    "forbidden_in",
    "loaded_modules",
    "main",
    "parse_importtime",
]

#: Top-level packages ``import inference_core`` must not load.
FORBIDDEN = ("openai", "anthropic", "litellm", "httpx", "httpx2", "PIL")

_PUBLIC_NAMES_PROBE = """\
import json, sys
import inference_core
for name in getattr(inference_core, "__all__", ()):
    try:
        getattr(inference_core, name)
    except Exception as exc:
        print(f"# {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
print(json.dumps(sorted(sys.modules)))
"""


@dataclass(frozen=True)
class ImportTimes:
    """Parsed ``-X importtime`` output.

    Attributes:
        total_us: Sum of the cumulative times of the top-level imports.
        cumulative_us: Cumulative time per module (first occurrence).
    """

    total_us: int
    cumulative_us: dict[str, int]


def parse_importtime(stderr: str) -> ImportTimes:
    """Parse ``python -X importtime`` stderr (lines ``import time: self | cumulative | name``)."""
    entries: list[tuple[int, str, int]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        try:
            cumulative = int(parts[1].strip())
        except ValueError:
            continue  # the header line
        name_field = parts[2].rstrip()
        depth = len(name_field) - len(name_field.lstrip(" "))
        entries.append((depth, name_field.strip(), cumulative))
    if not entries:
        return ImportTimes(0, {})
    top = min(depth for depth, _, _ in entries)
    cumulative_by_name: dict[str, int] = {}
    for _, name, value in entries:
        cumulative_by_name.setdefault(name, value)
    total = sum(value for depth, _, value in entries if depth == top)
    return ImportTimes(total, cumulative_by_name)


def forbidden_in(modules: Sequence[str]) -> list[str]:
    """The loaded modules whose top-level package is in :data:`FORBIDDEN`, sorted."""
    return sorted(m for m in modules if m.split(".", 1)[0] in FORBIDDEN)


def _python(args: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _importtime(code: str, timeout: float) -> ImportTimes:
    proc = _python(["-X", "importtime", "-c", code], timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"python -c {code!r} failed: {proc.stderr.strip()[-500:]}")
    return parse_importtime(proc.stderr)


def loaded_modules(code: str, timeout: float = 60.0) -> list[str]:
    """Run ``code`` (which must print ``json.dumps(sorted(sys.modules))`` last) in a fresh child."""
    proc = _python(["-c", code], timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"probe failed: {proc.stderr.strip()[-500:]}")
    result: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report; exit 1 when ``import inference_core`` loads a forbidden module."""
    parser = argparse.ArgumentParser(prog="python -m bench.import_check", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per measurement")
    parser.add_argument("--top", type=int, default=8, help="slowest modules to list")
    parser.add_argument("--timeout", type=float, default=60.0, help="per child, seconds")
    args = parser.parse_args(argv)
    runs = max(1, args.runs)

    bare = [_importtime("pass", args.timeout) for _ in range(runs)]
    ours = [_importtime("import inference_core", args.timeout) for _ in range(runs)]
    bare_median = statistics.median(t.total_us for t in bare)
    added_ms = (statistics.median(t.total_us for t in ours) - bare_median) / 1000
    own = ours[-1].cumulative_us.get("inference_core", 0) / 1000
    print(
        f"import inference_core: +{added_ms:.1f} ms over a bare interpreter "
        f"(median of {runs}; the package's own cumulative time {own:.1f} ms)"
    )
    slow = sorted(
        (
            (name, us)
            for name, us in ours[-1].cumulative_us.items()
            if name != "inference_core" and name not in bare[-1].cumulative_us
        ),
        key=lambda item: -item[1],
    )[: args.top]
    if slow:
        print(
            "  slowest modules it adds (cumulative): "
            + ", ".join(f"{n} {us / 1000:.1f} ms" for n, us in slow)
        )

    modules = loaded_modules(
        "import json, sys, inference_core; print(json.dumps(sorted(sys.modules)))", args.timeout
    )
    bad = forbidden_in(modules)
    if bad:
        print(f"FAIL: import inference_core loaded forbidden modules: {', '.join(bad)}")
    else:
        names = ", ".join(FORBIDDEN)
        print(f"OK: import inference_core loads none of {names} ({len(modules)} modules in total)")

    try:
        public = forbidden_in(loaded_modules(_PUBLIC_NAMES_PROBE, args.timeout))
    except RuntimeError as exc:
        print(f"note: touching every public name failed: {exc}")
    else:
        top_level = sorted({m.split(".", 1)[0] for m in public})
        if top_level:
            print(
                "warning: touching every public name of inference_core loads "
                + ", ".join(top_level)
                + " (lazy exports should not pull in SDKs)"
            )
        else:
            print("OK: touching every public name loads no SDK either")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
