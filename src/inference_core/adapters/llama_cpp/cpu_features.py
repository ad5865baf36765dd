"""What the installed llama.cpp engine was compiled to use, and whether we accept it.

llama.cpp reports the CPU features compiled into its CPU backend through
``llama_print_system_info()`` (``CPU : SSE3 = 1 | AVX2 = 1 | ... | AMX_INT8 = 1 |``).
We install it with an explicit x86-64-v3 baseline (``scripts/install_llama_cpp.sh``)
and refuse what we decided against:

* AMX: ggml sends matrix products to AMX tiles whenever the build has them, and on
  CPUs or VMs that advertise AMX without enabling it the first generation dies with
  SIGILL (seen on our machines). A native build on such a CPU compiles it in.
* AVX-512 and AVX-VNNI: not on every CPU of the machines we run on, so a wheel built
  with them (a native build, reused from pip's cache) can fault elsewhere.

This module imports nothing of the package and only the standard library at import
time, so the install script runs it by path before ``inference-core`` is installed::

    python src/inference_core/adapters/llama_cpp/cpu_features.py --check
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Mapping

__all__ = [
    "REQUIRED_X86_FEATURES",
    "enabled_features",
    "engine_features",
    "parse_system_info",
    "rejected_features",
]

#: Features the portable x86-64 build must have (llama.cpp is very slow without them).
REQUIRED_X86_FEATURES = frozenset({"AVX", "AVX2", "FMA", "F16C"})
_REJECTED_PREFIXES = ("AMX", "AVX512", "AVX_VNNI")
_X86 = ("x86_64", "amd64", "i686", "i386")


def parse_system_info(info: str) -> dict[str, str]:
    """The ``NAME = value`` pairs of ``llama_print_system_info()``'s text, all backends merged."""
    features: dict[str, str] = {}
    for section in info.split("|"):
        if "=" not in section:
            continue
        name, _, value = section.rpartition("=")
        name = name.split(":")[-1].strip()  # "CPU : SSE3" -> "SSE3"
        if name:
            features[name] = value.strip()
    return features


def engine_features() -> dict[str, str]:
    """The features the installed llama-cpp-python engine reports (imports ``llama_cpp``)."""
    import llama_cpp

    raw = llama_cpp.llama_print_system_info()
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return parse_system_info(text)


def enabled_features(features: Mapping[str, str]) -> list[str]:
    """The names of the features that are on, in llama.cpp's order."""
    return [name for name, value in features.items() if value not in ("0", "")]


def rejected_features(features: Mapping[str, str], machine: str | None = None) -> list[str]:
    """Why this engine build is not the one we install (empty when it is).

    Args:
        features: From :func:`engine_features`.
        machine: ``platform.machine()`` of the host (default: this one).
    """
    machine = (machine or platform.machine()).lower()
    enabled = set(enabled_features(features))
    problems = [
        f"{name} is compiled in (we build without it: see this module's docstring)"
        for name in sorted(enabled)
        if name.startswith(_REJECTED_PREFIXES)
    ]
    if machine in _X86:
        problems += [
            f"{name} is missing (the portable baseline needs it)"
            for name in sorted(REQUIRED_X86_FEATURES - enabled)
        ]
    return problems


def main(argv: list[str]) -> int:
    """``--check``: exit 1 (naming why) unless the installed engine is the accepted build."""
    try:
        features = engine_features()
    except ImportError:
        print("llama-cpp-python is not installed", file=sys.stderr)
        return 1
    problems = rejected_features(features)
    print(f"llama.cpp engine features: {' '.join(enabled_features(features))}", file=sys.stderr)
    for problem in problems:
        print(f"rejected: {problem}", file=sys.stderr)
    return 1 if problems and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
