#!/usr/bin/env bash
# The project's full check: lint, types, architecture, tests, benchmark smoke.
# Run from the repository root inside the project's virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== ruff"; ruff check src tests bench scripts; ruff format --check src tests bench scripts
echo "== mypy --strict"; mypy; mypy --strict bench
echo "== import-linter"; lint-imports
echo "== import hygiene"; python -m bench.import_check
echo "== pytest"; python -m pytest
echo "== benchmark smoke (--quick; timings are not asserted)"; python -m bench --quick
