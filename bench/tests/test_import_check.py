"""``bench.import_check``: importtime parsing, the forbidden-module rule, and the real check."""

from __future__ import annotations

import subprocess
import sys

from bench.cli import REPO_ROOT
from bench.import_check import forbidden_in, parse_importtime

# Children print before their parent, indented two more spaces per level.
_SAMPLE = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 |   _io
import time:        50 |         50 |   marshal
import time:       300 |        450 | encodings
import time:        20 |         20 |     re._casefix
import time:       200 |        220 |   inference_core.domain
some unrelated line
import time:      1000 |       1220 | inference_core
"""


def test_parse_importtime_sums_the_top_level_entries() -> None:
    times = parse_importtime(_SAMPLE)
    assert times.total_us == 450 + 1220
    assert times.cumulative_us["inference_core"] == 1220
    assert times.cumulative_us["re._casefix"] == 20


def test_parse_importtime_of_nothing() -> None:
    assert parse_importtime("no imports here").total_us == 0


def test_forbidden_matches_top_level_packages_only() -> None:
    modules = ["openai", "openai.types", "httpx2._api", "PIL.Image", "httpx_aiohttp", "json"]
    assert forbidden_in(modules) == ["PIL.Image", "httpx2._api", "openai", "openai.types"]


def test_import_inference_core_loads_no_sdk() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.import_check", "--runs", "1", "--top", "3"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "import inference_core: +" in proc.stdout
    assert "OK: import inference_core loads none of openai" in proc.stdout
