"""Adapter package conventions: light imports, declared capabilities, a fresh providers doc."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDKS = {"openai", "anthropic", "httpx", "httpx2", "aiohttp"}


def _load_generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_providers_doc.py"
    spec = importlib.util.spec_from_file_location("gen_providers_doc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("package", ["openai", "anthropic"])
def test_importing_the_adapter_package_loads_no_sdk(package: str) -> None:
    code = (
        "import sys, json\n"
        f"import inference_core.adapters.{package} as m\n"
        "assert m.CAPABILITIES and m.CLIENT_PATHS and callable(m.create_chat_model)\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not set(json.loads(out.stdout)) & SDKS


def test_docs_providers_md_is_generated_from_the_declarations() -> None:
    generator = _load_generator()
    current = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    assert current == generator.render(), (
        "docs/providers.md is stale: run python scripts/gen_providers_doc.py"
    )


def test_the_doc_lists_every_declared_adapter_and_the_fakes() -> None:
    entries = {e.name: e for e in _load_generator().collect()}
    assert {"openai", "anthropic", "fakes"} <= entries.keys()
    assert entries["openai"].client_paths == ("openai_sdk", "gpt5_sdk")
    assert entries["anthropic"].client_paths == ("anthropic_sdk",)
