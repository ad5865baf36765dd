"""A :class:`~inference_core.ports.tokens.TokenCounter` backed by tiktoken.

tiktoken knows the encodings of OpenAI models (``o200k_base`` for GPT-4o,
GPT-4.1, GPT-5 and the o-series; ``cl100k_base`` for GPT-4 and GPT-3.5). For
any other model, when tiktoken is not installed, or when an encoding cannot be
loaded (tiktoken downloads each vocabulary once and caches it; set
``TIKTOKEN_CACHE_DIR`` to use a pre-fetched copy offline), the counter returns
the domain estimate marked ``exact=False`` instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from inference_core.domain.tokens import HeuristicTokenCounter, TextTokens
from inference_core.ports.tokens import TokenCounter

if TYPE_CHECKING:
    import tiktoken

__all__ = ["TiktokenCounter", "tiktoken_available"]

_PROVIDER_PREFIXES = ("openai/", "azure/", "openrouter/openai/")


def tiktoken_available() -> bool:
    """True when the ``tiktoken`` package is importable."""
    return find_spec("tiktoken") is not None


def _default_loader(name: str) -> tiktoken.Encoding:
    import tiktoken

    return tiktoken.get_encoding(name)


def _default_encoding_for(model: str) -> str | None:
    from tiktoken.model import encoding_name_for_model

    try:
        return encoding_name_for_model(model)
    except KeyError:
        return None


class TiktokenCounter:
    """Counts tokens exactly with tiktoken where the model's encoding is known.

    Args:
        default_model: Model used when :meth:`count_text` gets none.
        encodings: Extra model -> encoding-name entries (e.g. a gateway's alias
            of an OpenAI model); they win over tiktoken's own table.
        load_encoding: Returns the encoding for a name; default
            ``tiktoken.get_encoding``. Inject one to use a local vocabulary.
        fallback: Counter used when no exact count is possible.

    Loaded encodings (and failures to load) are remembered per instance, so a
    missing vocabulary is tried once, not on every call.
    """

    def __init__(
        self,
        *,
        default_model: str | None = None,
        encodings: Mapping[str, str] | None = None,
        load_encoding: Callable[[str], tiktoken.Encoding] | None = None,
        fallback: TokenCounter | None = None,
    ) -> None:
        self._default_model = default_model
        self._overrides = dict(encodings or {})
        self._has_tiktoken = tiktoken_available()
        self._available = load_encoding is not None or self._has_tiktoken
        self._load = load_encoding or _default_loader
        self._fallback = fallback or HeuristicTokenCounter()
        self._encodings: dict[str, Any] = {}  # encoding name -> Encoding, or None if unloadable
        self._names: dict[str, str | None] = {}  # model -> encoding name

    def __repr__(self) -> str:
        return f"TiktokenCounter(default_model={self._default_model!r})"

    def encoding_name(self, model: str | None) -> str | None:
        """The tiktoken encoding name for ``model``, or ``None`` when unknown."""
        model = model or self._default_model
        if not model or not self._available:
            return None
        if model in self._names:
            return self._names[model]
        bare = model
        for prefix in _PROVIDER_PREFIXES:
            if bare.startswith(prefix):
                bare = bare[len(prefix) :]
                break
        name = self._overrides.get(model) or self._overrides.get(bare)
        if name is None and self._has_tiktoken:
            name = _default_encoding_for(bare)
        self._names[model] = name
        return name

    def _encoding(self, name: str) -> Any:
        if name not in self._encodings:
            try:
                self._encodings[name] = self._load(name)
            except Exception:  # any load failure (offline, bad cache...) means: estimate
                self._encodings[name] = None
        return self._encodings[name]

    def count_text(self, text: str, *, model: str | None = None) -> TextTokens:
        """Count ``text`` with ``model``'s encoding, or estimate when that is not possible."""
        name = self.encoding_name(model)
        encoding = self._encoding(name) if name is not None else None
        if encoding is None:
            return self._fallback.count_text(text, model=model or self._default_model)
        return TextTokens(len(encoding.encode_ordinary(text)), True)

    def exact_for(self, model: str | None = None) -> bool:
        """True when counts for ``model`` come from its real tokenizer (loads it if needed)."""
        name = self.encoding_name(model)
        return name is not None and self._encoding(name) is not None
