"""The package's three views of its public names agree: the lazy table, __all__, the static view."""

from __future__ import annotations

import ast
from importlib import import_module
from pathlib import Path

import inference_core

SOURCE = Path(inference_core.__file__).read_text(encoding="utf-8")


def _static_view() -> set[str]:
    """Names imported under ``if TYPE_CHECKING:`` (what type checkers and IDEs see)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(SOURCE)):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    names.update(alias.asname or alias.name for alias in stmt.names)
    return names


def test_all_lists_exactly_the_lazy_exports() -> None:
    exports = set(inference_core._EXPORTS)
    assert set(inference_core.__all__) == exports | {"__version__"}
    assert len(inference_core.__all__) == len(set(inference_core.__all__))


def test_the_static_view_names_every_lazy_export() -> None:
    assert _static_view() == set(inference_core._EXPORTS)


def test_every_export_is_the_object_its_module_defines() -> None:
    for name, module in inference_core._EXPORTS.items():
        assert getattr(inference_core, name) is getattr(import_module(module), name), name
