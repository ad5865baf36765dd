"""MODELS.md is generated from the catalog and must not go stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from inference_core.domain.catalog import ModelCatalog, ModelSpec, Pricing, builtin_catalog

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_models_md.py"
    spec = importlib.util.spec_from_file_location("gen_models_md", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_models_md_is_up_to_date() -> None:
    expected = _generator().render(builtin_catalog())
    committed = (ROOT / "MODELS.md").read_text(encoding="utf-8")
    assert committed == expected, "MODELS.md is stale: run python scripts/gen_models_md.py"


def test_every_catalog_model_and_provider_is_listed() -> None:
    text = (ROOT / "MODELS.md").read_text(encoding="utf-8")
    catalog = builtin_catalog()
    for provider in catalog.providers():
        assert f"\n## {provider}\n" in text
    for model_id in catalog:
        assert f"| `{model_id}` |" in text


def test_unknown_figures_say_unknown_never_zero() -> None:
    catalog = ModelCatalog(
        [
            ModelSpec(id="priced", provider="p", pricing=Pricing(input=0.5, output=2.0)),
            ModelSpec(id="mystery", provider="p"),
            ModelSpec(id="free", provider="q", pricing=Pricing(input=0.0, output=0.0)),
        ]
    )
    lines = {line.split(" | ")[0]: line for line in _generator().render(catalog).splitlines()}
    assert lines["| `mystery`"].endswith("| unknown | unknown | unknown | unknown | unknown |")
    assert lines["| `priced`"].endswith("| $0.5 | $2 | as input |")
    assert lines["| `free`"].endswith("| $0 | $0 | as input |")
