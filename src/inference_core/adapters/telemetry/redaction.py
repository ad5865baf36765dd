"""Secret redaction for log events: a structlog processor that never lets a configured key out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import SecretStr

__all__ = ["MASK", "SecretRedactor"]

MASK = "[REDACTED]"

_PLAIN = frozenset({int, float, bool, type(None)})

#: Shorter configured values are not treated as secrets: masking them would
#: mangle ordinary words, and no real API key is that short.
MIN_SECRET_LENGTH = 8

# Defensive patterns for key-shaped text even when the key was never configured:
# bearer tokens and the "sk-..." keys of OpenAI, Anthropic, OpenRouter and others.
_KEY_SHAPES = (r"(?<=[Bb]earer )[A-Za-z0-9._~+/=-]{8,}", r"\bsk-[A-Za-z0-9_-]{16,}")


class SecretRedactor:
    """Masks secrets in event dicts (a structlog processor) and in any value (:meth:`redact`).

    It replaces every occurrence of a configured secret value, and anything
    shaped like a bearer token or an ``sk-`` key, inside strings, nested
    dicts/lists/tuples and exception messages. The library's own events go
    through it before they reach structlog. Applications may add it to their
    structlog chain too; placing it after the renderer also covers rendered
    tracebacks (it accepts an already rendered ``str``/``bytes`` event).

    Args:
        secrets: Secret values (plain or ``SecretStr``); ``None`` entries and
            values shorter than 8 characters are ignored.
    """

    def __init__(self, secrets: Iterable[str | SecretStr | None] = ()) -> None:
        values = {
            s.get_secret_value() if isinstance(s, SecretStr) else s
            for s in secrets
            if s is not None
        }
        kept = sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)
        self._secrets = tuple(kept)
        self._count = len(kept)
        alternatives = [re.escape(v) for v in kept] + list(_KEY_SHAPES)
        self._pattern = re.compile("|".join(alternatives))

    def __repr__(self) -> str:
        # Never the values themselves.
        return f"SecretRedactor({self._count} configured secrets)"

    def including(self, *secrets: str | SecretStr | None) -> SecretRedactor:
        """A redactor that masks these secrets as well as this one's."""
        return SecretRedactor((*self._secrets, *secrets))

    def redact_text(self, text: str) -> str:
        """``text`` with every secret masked."""
        return self._pattern.sub(MASK, text)

    def redact(self, value: Any) -> Any:
        """``value`` with every secret masked (containers are copied, never mutated)."""
        kind = type(value)
        if kind is str:
            return self._pattern.sub(MASK, value)
        if kind in _PLAIN:
            return value  # the bulk of event fields: numbers, flags, None
        if kind is dict:
            return {k: self.redact(v) for k, v in value.items()}
        return self._redact_other(value)

    def _redact_other(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._pattern.sub(MASK, value)
        if isinstance(value, Mapping):
            return {k: self.redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.redact(v) for v in value)
        if isinstance(value, bytes):
            text = value.decode("utf-8", "replace")
            masked = self._pattern.sub(MASK, text)
            return value if masked == text else masked.encode()
        if isinstance(value, BaseException):
            text = str(value)
            masked = self._pattern.sub(MASK, text)
            return value if masked == text else f"{type(value).__name__}: {masked}"
        return value

    def __call__(self, logger: Any, method_name: str, event_dict: Any) -> Any:
        """The structlog processor entry point."""
        return self.redact(event_dict)
