#!/usr/bin/env bash
# Install llama-cpp-python (the `local` extra's engine) as a portable CPU build.
#
# Why this script exists instead of a plain `pip install`:
# * llama-cpp-python ships only a source distribution on PyPI, and llama.cpp builds with
#   GGML_NATIVE=ON by default: whatever the build machine's CPU advertises is compiled in.
#   On a CPU that advertises AMX (or a VM that advertises it without enabling it) ggml
#   routes matrix products to AMX tiles and the first generation dies with SIGILL.
# * pip caches the wheel it built, keyed by the sdist, not by CMAKE_ARGS: on a machine that
#   once built a native wheel, `pip install` silently reuses it whatever flags are set now.
#
# So: build with an explicit instruction-set baseline (x86-64-v3: AVX2, FMA, F16C, BMI2; no
# AVX-512, no AMX), never from pip's cache, and check what the installed engine reports.
# An already installed engine with exactly that baseline is kept (no 10-minute rebuild).
# Run inside the project's virtualenv, from anywhere.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
check="$root/src/inference_core/adapters/llama_cpp/cpu_features.py"

# One source of truth for the version: the `local` extra in pyproject.toml.
spec="$(python - "$root/pyproject.toml" <<'EOF'
import sys, tomllib
extras = tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]
print(next(r for r in extras["local"] if r.startswith("llama-cpp-python")))
EOF
)"

case "$(uname -m)" in
  x86_64|amd64)
    flags="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON"
    flags="$flags -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF"
    flags="$flags -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" ;;
  *)
    flags="-DGGML_NATIVE=OFF" ;;  # the generic baseline of the architecture
esac
# The multimodal (mtmd/llava) library is not used by inference-core: skip it (build time).
flags="$flags -DLLAVA_BUILD=OFF"

if python -I "$check" --check 2>/dev/null; then
  echo "llama-cpp-python already installed with the portable CPU baseline: kept"
  exit 0
fi
echo "building $spec with: $flags (takes several minutes on 2 cores)"
CMAKE_ARGS="$flags" FORCE_CMAKE=1 pip install --no-cache-dir --force-reinstall --no-deps "$spec"
# Its runtime dependencies (numpy, jinja2, ...) come from the normal, cached install.
pip install "$spec"
python -I "$check" --check
