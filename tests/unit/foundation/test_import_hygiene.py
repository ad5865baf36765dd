"""Importing inference_core defines names and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys

import inference_core

HEAVY = (
    "openai",
    "anthropic",
    "litellm",
    "httpx",
    "aiohttp",
    "PIL",
    "llama_cpp",
    "tiktoken",
    "structlog",
)


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_bare_import_loads_no_vendor_sdk_or_pydantic() -> None:
    loaded = _modules_after("import inference_core")
    assert not {m.split(".")[0] for m in loaded} & {*HEAVY, "pydantic", "yaml"}


def test_bootstrap_import_loads_no_vendor_sdk() -> None:
    loaded = _modules_after("from inference_core import bootstrap")
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)


def test_every_public_name_resolves() -> None:
    for name in inference_core.__all__:
        assert getattr(inference_core, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        inference_core.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")
