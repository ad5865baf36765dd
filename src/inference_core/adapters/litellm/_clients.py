"""Release the HTTP clients LiteLLM cached for the running event loop.

LiteLLM does not let a caller own its connection pool in general: it builds
HTTP/SDK clients itself and caches them process-wide in
``litellm.in_memory_llm_clients_cache``, keyed per event loop (the key ends in
``-<loop token>``). When a loop finishes (``asyncio.run`` per call, one loop per
test), nothing closes its clients; their sockets linger until garbage
collection and then warn ``ResourceWarning: unclosed transport``.

So :meth:`LiteLLMChatModel.aclose` closes the clients cached for the running
loop, the way LiteLLM's own exit hook (``close_litellm_async_clients``) closes
all of them. Those pools are shared by every LiteLLM adapter on that loop, which
the composition root closes together. This reads two LiteLLM names that are not
documented API (``in_memory_llm_clients_cache`` and
``caching.evicted_client_closer.running_loop_token``); if either disappears,
closing does nothing rather than fail.
"""

from __future__ import annotations

import contextlib
import inspect
from types import ModuleType
from typing import Any

__all__ = ["close_clients_of_running_loop"]


async def _close(client: Any) -> None:
    for name in ("aclose", "close"):
        method = getattr(client, name, None)
        if callable(method):
            # Best effort: a client that fails to close must not fail our aclose().
            with contextlib.suppress(Exception):
                result = method()
                if inspect.isawaitable(result):
                    await result
            return


async def close_clients_of_running_loop(litellm: ModuleType) -> int:
    """Evict and close LiteLLM's cached clients bound to the running loop; return how many."""
    cache: Any = getattr(litellm, "in_memory_llm_clients_cache", None)
    entries = getattr(cache, "cache_dict", None)
    if not isinstance(entries, dict):
        return 0
    try:
        from litellm.caching.evicted_client_closer import running_loop_token
    except ImportError:
        return 0
    token = running_loop_token()
    if token is None:
        return 0
    suffix = f"-{token}"
    closed = 0
    for key in [k for k in list(entries) if isinstance(k, str) and k.endswith(suffix)]:
        client = entries.get(key)
        with contextlib.suppress(Exception):
            cache.delete_cache(key)
        if client is not None:
            await _close(client)
            closed += 1
    return closed
