"""The installed llama.cpp engine is the build we decided on (see ``cpu_features``).

Runs on every machine, so a native or AMX build shows up here as a failure with
the reason, not as an ``Illegal instruction`` on the one CPU that faults.
"""

from __future__ import annotations

import pytest

from inference_core.adapters.llama_cpp.cpu_features import (
    engine_features,
    parse_system_info,
    rejected_features,
)

SAMPLE_NATIVE_AMX = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "AVX512 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
SAMPLE_PORTABLE = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)


def test_a_native_amx_build_is_rejected_with_reasons() -> None:
    problems = rejected_features(parse_system_info(SAMPLE_NATIVE_AMX), machine="x86_64")
    assert any(p.startswith("AMX_INT8 is compiled in") for p in problems)
    assert any(p.startswith("AVX512 is compiled in") for p in problems)


def test_the_portable_baseline_is_accepted_and_a_bare_build_is_not() -> None:
    assert rejected_features(parse_system_info(SAMPLE_PORTABLE), machine="x86_64") == []
    bare = parse_system_info("CPU : SSE3 = 1 | SSSE3 = 1 | ")
    assert "AVX2 is missing (the portable baseline needs it)" in rejected_features(
        bare, machine="x86_64"
    )
    assert rejected_features(bare, machine="aarch64") == []


@pytest.mark.local_model
def test_the_installed_engine_uses_only_the_paths_we_chose() -> None:
    pytest.importorskip("llama_cpp", reason="needs the 'local' extra")
    features = engine_features()
    assert features, "llama_print_system_info() reported no features"
    assert rejected_features(features) == [], (
        f"installed llama.cpp build: {features}; reinstall with scripts/install_llama_cpp.sh"
    )
