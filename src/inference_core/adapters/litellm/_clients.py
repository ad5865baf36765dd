"""Close the connections LiteLLM opened on the running event loop.

LiteLLM does not let a caller own its connection pool: it builds HTTP/SDK
clients itself and keeps them process-wide (``litellm.in_memory_llm_clients_cache``
and the ``litellm.module_level_aclient`` handler), each over an aiohttp session
bound to the event loop that first used it. When that loop finishes
(``asyncio.run`` per call, one loop per test), nothing closes the session; its
sockets linger until garbage collection and then warn ``ResourceWarning:
unclosed transport``.

So :meth:`LiteLLMChatModel.aclose` closes the aiohttp sessions of those clients
that belong to the running loop. It closes sessions, not LiteLLM's clients:
LiteLLM's transport replaces a closed session with a fresh one on its next
use, so later calls (on this loop or another) keep working. Those pools are
shared by every LiteLLM adapter on the loop, which the composition root closes
together.

This walks attributes LiteLLM and httpx do not document (``cache_dict``,
``_client``, ``_transport``), the way LiteLLM's own exit hook
(``close_litellm_async_clients``) does; if they change, closing finds nothing
and does nothing rather than fail.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

__all__ = ["close_sessions_of_running_loop"]


def _http_clients(root: Any) -> Iterator[Any]:
    """The httpx clients held by a LiteLLM handler or an SDK client (one level deep)."""
    for holder in (root, getattr(root, "client", None), getattr(root, "_client", None)):
        if holder is not None and hasattr(holder, "_transport"):
            yield holder


def _sessions(root: Any) -> Iterator[Any]:
    for http in _http_clients(root):
        transports = [getattr(http, "_transport", None)]
        transports += list((getattr(http, "_mounts", None) or {}).values())
        for transport in transports:
            session = getattr(transport, "client", None)
            if session is not None and hasattr(session, "closed") and hasattr(session, "close"):
                yield session


async def close_sessions_of_running_loop(litellm: ModuleType) -> int:
    """Close the open aiohttp sessions of LiteLLM's clients bound to this loop; return how many."""
    loop = asyncio.get_running_loop()
    roots: list[Any] = []
    cache: Any = getattr(litellm, "in_memory_llm_clients_cache", None)
    entries = getattr(cache, "cache_dict", None)
    if isinstance(entries, dict):
        roots.extend(entries.values())
    # Read without triggering LiteLLM's lazy attribute: if it was never built, it holds nothing.
    module_client = vars(litellm).get("module_level_aclient")
    if module_client is not None:
        roots.append(module_client)
    closed = 0
    seen: set[int] = set()
    for root in roots:
        for session in _sessions(root):
            if id(session) in seen or session.closed or getattr(session, "_loop", None) is not loop:
                continue
            seen.add(id(session))
            # Best effort: a session that fails to close must not fail our aclose().
            with contextlib.suppress(Exception):
                await session.close()
                closed += 1
    return closed
