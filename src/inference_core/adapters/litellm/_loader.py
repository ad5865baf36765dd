"""Import LiteLLM on first use, with its bundled cost map and no network at import.

The honest situation (LiteLLM 1.110): ``import litellm`` fetches the model cost
map from GitHub (a blocking GET, then a background retry thread on failure)
unless ``LITELLM_LOCAL_MODEL_COST_MAP=True`` or ``LITELLM_OFFLINE_MODE=true``
is already in the process environment; both are read once, inside the import.
There is no argument, attribute or hook that can be set before the import, and
this project never mutates ``os.environ``.

The one other switch LiteLLM consults at that moment is whether the process is
its own CLI (``sys.argv[0]`` named ``lite`` or ``litellm-proxy``), which makes
it use the bundled map. So, the least bad option: while (and only while) we
import LiteLLM ourselves, ``sys.argv[0]`` reads ``lite``; it is restored right
after, under a lock. If LiteLLM ever drops that check, the import falls back
to its default fetch (tests catch it: they forbid non-loopback connections).

If your application imported LiteLLM before inference-core's first call, that
module is used as is (your cost-map choice and settings are kept). When we
import it, we also set ``litellm.suppress_debug_info`` so LiteLLM does not print
help banners to stdout on errors. LiteLLM registers no callbacks by default and
we add none.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

__all__ = ["load_litellm"]

# Held while importing: a second thread must not save our temporary argv[0] as the "original".
_IMPORT_LOCK = threading.Lock()
_CLI_NAME = "lite"


@contextlib.contextmanager
def _argv0(name: str) -> Iterator[None]:
    argv = getattr(sys, "argv", None)
    if argv is None:  # embedded interpreters may have no argv at all
        sys.argv = [name]
        try:
            yield
        finally:
            del sys.argv
        return
    had_first = bool(argv)
    original = argv[0] if had_first else None
    if had_first:
        argv[0] = name
    else:
        argv.append(name)
    try:
        yield
    finally:
        if had_first:
            argv[0] = original
        elif argv and argv[0] == name:
            argv.pop(0)


def load_litellm() -> ModuleType:
    """Return the ``litellm`` module, importing it offline on first use.

    Blocking (the import takes seconds); async callers run it in a thread.

    Raises:
        ModuleNotFoundError: LiteLLM is not installed (``pip install 'inference-core[litellm]'``).
    """
    module = sys.modules.get("litellm")
    if module is not None:
        return module
    with _IMPORT_LOCK:
        module = sys.modules.get("litellm")
        if module is not None:
            return module
        with _argv0(_CLI_NAME):
            imported: Any = importlib.import_module("litellm")
        # Its default prints help banners to stdout on errors; a library must not.
        imported.suppress_debug_info = True
        loaded: ModuleType = imported
        return loaded
