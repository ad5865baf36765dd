"""Prompt templates rendered with explicit variables.

Templates use :class:`string.Template` syntax (``$name`` or ``${name}``; ``$$``
is a literal dollar), so JSON examples and code with braces need no escaping.
Rendering is strict: a missing variable, a ``None`` value or a variable the
template does not use raises :class:`~inference_core.domain.errors.TemplateError`
naming it; nothing silently renders as an empty string.

::

    prompt = PromptTemplate("Summarise $title in $words words.")
    prompt.render(title="Dune", words=50)

    chat = ChatPromptTemplate.of(("system", "You write $genre."), ("user", "Outline: $idea"))
    messages = chat.render(genre="noir", idea="a heist")
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inference_core.domain.errors import TemplateError
from inference_core.domain.messages import Message, Role

__all__ = ["ChatPromptTemplate", "PromptTemplate"]

_ROLES: frozenset[str] = frozenset({"system", "developer", "user", "assistant"})


def _label(name: str | None) -> str:
    return f"template {name!r}" if name else "template"


def _merge_values(
    values: Mapping[str, Any] | None, kwargs: Mapping[str, Any], label: str
) -> dict[str, Any]:
    merged = dict(values or {})
    both = sorted(merged.keys() & kwargs.keys())
    if both:
        raise TemplateError(f"{label}: variable(s) given twice: {', '.join(both)}")
    merged.update(kwargs)
    return merged


def _check_values(values: Mapping[str, Any], names: tuple[str, ...], label: str) -> None:
    missing = [n for n in names if n not in values]
    if missing:
        raise TemplateError(f"{label}: missing variable(s): {', '.join(missing)}")
    for n in names:
        value = values[n]
        if value is None:
            raise TemplateError(f"{label}: variable {n!r} is None")
        if isinstance(value, bytes | bytearray):
            raise TemplateError(f"{label}: variable {n!r} is bytes; decode it to text first")


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """One text template with ``$name`` placeholders.

    Attributes:
        template: The template text.
        name: A label used in error messages.

    Raises:
        TemplateError: The template has an invalid placeholder (the message says where).
    """

    template: str
    name: str | None = None
    _compiled: string.Template = field(init=False, repr=False, compare=False)
    _variables: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = string.Template(self.template)
        if not compiled.is_valid():
            try:
                compiled.substitute({n: "" for n in compiled.get_identifiers()})
            except ValueError as exc:  # names the line and column of the bad placeholder
                raise TemplateError(f"{_label(self.name)}: {exc}") from exc
        names = tuple(dict.fromkeys(compiled.get_identifiers()))
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_variables", names)

    @property
    def variables(self) -> tuple[str, ...]:
        """The placeholder names, in order of first appearance."""
        return self._variables

    def render(
        self,
        values: Mapping[str, Any] | None = None,
        /,
        *,
        allow_unused: bool = False,
        **kwargs: Any,
    ) -> str:
        """Substitute every placeholder; values are converted with ``str()``.

        Args:
            values: Variables as a mapping (merged with ``kwargs``).
            allow_unused: Accept variables the template does not use.
            **kwargs: Variables as keywords.

        Raises:
            TemplateError: A variable is missing, ``None``, bytes, given twice,
                or (unless ``allow_unused``) not used by the template.
        """
        label = _label(self.name)
        merged = _merge_values(values, kwargs, label)
        _check_values(merged, self._variables, label)
        if not allow_unused:
            unused = sorted(merged.keys() - set(self._variables))
            if unused:
                raise TemplateError(f"{label}: unknown variable(s): {', '.join(unused)}")
        return self._compiled.substitute({n: str(merged[n]) for n in self._variables})


@dataclass(frozen=True, slots=True)
class ChatPromptTemplate:
    """A sequence of (role, template) pairs rendered into chat messages."""

    messages: tuple[tuple[Role, PromptTemplate], ...]
    name: str | None = None

    def __post_init__(self) -> None:
        for index, (role, template) in enumerate(self.messages):
            if role not in _ROLES:
                raise TemplateError(
                    f"{_label(self.name)}: messages[{index}] role must be one of "
                    f"{sorted(_ROLES)}, got {role!r}"
                )
            if not isinstance(template, PromptTemplate):
                raise TemplateError(
                    f"{_label(self.name)}: messages[{index}] needs a PromptTemplate, "
                    f"got {type(template).__name__}"
                )

    @classmethod
    def of(cls, *pairs: tuple[Role, str], name: str | None = None) -> ChatPromptTemplate:
        """Build from ``(role, template text)`` pairs."""
        return cls(
            tuple(
                (role, PromptTemplate(text, name=f"{name or 'chat'}[{i}]"))
                for i, (role, text) in enumerate(pairs)
            ),
            name=name,
        )

    @property
    def variables(self) -> tuple[str, ...]:
        """Every placeholder name across the messages, in order of first appearance."""
        return tuple(dict.fromkeys(v for _, t in self.messages for v in t.variables))

    def render(
        self,
        values: Mapping[str, Any] | None = None,
        /,
        *,
        allow_unused: bool = False,
        **kwargs: Any,
    ) -> tuple[Message, ...]:
        """Render every message (same rules as :meth:`PromptTemplate.render`).

        Raises:
            TemplateError: A variable is missing, ``None``, given twice, or unused
                by every message (unless ``allow_unused``).
        """
        label = _label(self.name)
        merged = _merge_values(values, kwargs, label)
        if not allow_unused:
            unused = sorted(merged.keys() - set(self.variables))
            if unused:
                raise TemplateError(f"{label}: unknown variable(s): {', '.join(unused)}")
        return tuple(
            Message(role=role, content=template.render(merged, allow_unused=True))
            for role, template in self.messages
        )
