"""The token counter port."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from inference_core.domain.tokens import TextTokens

__all__ = ["TokenCounter"]


@runtime_checkable
class TokenCounter(Protocol):
    """Counts the tokens of a text the way a model's tokenizer would.

    Every implementation guarantees:

    * It never raises for any ``str``. When it cannot count exactly for
      ``model`` (unknown model, tokenizer not installed or not loadable) it
      returns an estimate with ``exact=False``.
    * It loads a tokenizer at most once per encoding, never per call.
    * ``exact=True`` only when the model's own tokenizer produced the count.
    * Counts are deterministic: the same text and model give the same count.

    The pure :class:`~inference_core.domain.tokens.HeuristicTokenCounter` and
    :class:`~inference_core.adapters.tokens.TiktokenCounter` implement it.
    """

    def count_text(self, text: str, *, model: str | None = None) -> TextTokens:
        """Count ``text``'s tokens for ``model`` (``None``: the counter's default)."""
        ...
