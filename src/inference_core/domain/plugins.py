"""What a chat adapter plugin declares about its client paths: data that routing reads.

A client path is the name a config uses (``routing.provider_client``) to pick an
adapter. Each installed adapter plugin declares its paths as
:class:`ClientPathInfo` values; :class:`ClientPaths` answers the routing
questions from them (which path serves a provider by default, whether that
provider needs a key, how model ids are written on the wire). Nothing here
knows a vendor: built-in adapters declare themselves exactly as third-party
ones do (see ``inference_core.adapters.plugins``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ClientPathInfo", "ClientPaths"]


class ClientPathInfo(BaseModel):
    """One client path an adapter serves.

    Attributes:
        name: The path's name in config (``openai_sdk``, ``my_gateway``...).
        serves: Providers this path serves when the config names no client for them.
        keyless: Of those, the ones that need no API key unless one is configured.
        model_pattern: Serve ``serves`` only for model ids matching this regular
            expression (a more specific path, e.g. one model family, wins over
            the provider's general one).
        fallback: Serve every provider no other path claims.
        model_ids: How model ids go on the wire: ``as_is``, or
            ``provider_prefixed`` (``provider/model``, as LiteLLM selects providers).
        embedded: The model runs in this process (no endpoint, no key).
        extra: The ``pip install 'inference-core[EXTRA]'`` that brings its dependencies.
        description: One line for ``inference-core plugins`` and docs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    serves: tuple[str, ...] = ()
    keyless: tuple[str, ...] = ()
    model_pattern: str | None = None
    fallback: bool = False
    model_ids: Literal["as_is", "provider_prefixed"] = "as_is"
    embedded: bool = False
    extra: str | None = None
    description: str = ""


class ClientPaths(Mapping[str, ClientPathInfo]):
    """The installed client paths by name, and the routing rules they declare."""

    def __init__(self, paths: Iterable[ClientPathInfo] = ()) -> None:
        self._by_name: dict[str, ClientPathInfo] = {}
        for info in paths:
            self._by_name.setdefault(info.name, info)  # the first declaration wins
        self._patterns = {
            info.name: re.compile(info.model_pattern)
            for info in self._by_name.values()
            if info.model_pattern
        }
        self._fallback = next((i.name for i in self._by_name.values() if i.fallback), None)

    def __getitem__(self, name: str) -> ClientPathInfo:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def default_for(self, provider: str, api_model: str) -> str | None:
        """The path serving ``provider`` (for ``api_model``) when config names none.

        A path with a ``model_pattern`` matching the model wins over the
        provider's general path; then the general one; then the fallback path.
        """
        general: str | None = None
        for info in self._by_name.values():
            if provider not in info.serves:
                continue
            pattern = self._patterns.get(info.name)
            if pattern is None:
                general = general or info.name
            elif pattern.match(api_model):
                return info.name
        return general or self._fallback

    def keyless(self, provider: str) -> bool:
        """True when a path declares ``provider`` as needing no API key."""
        return any(provider in info.keyless for info in self._by_name.values())

    def providers(self) -> frozenset[str]:
        """Every provider some path serves by default."""
        return frozenset(p for info in self._by_name.values() for p in info.serves)
