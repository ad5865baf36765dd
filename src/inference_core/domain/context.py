"""Fitting a conversation into a model's context: trimming to a token budget, and compression.

:func:`trim_messages` keeps what a model cannot do without and drops the
oldest of the rest:

* every ``system``/``developer`` message, and the current turn (the last user
  message and everything after it) are always kept; if they alone exceed the
  budget, :class:`~inference_core.domain.errors.ContextWindowExceeded` is raised;
* an assistant message with tool calls and the tool results that answer it
  form one unit, kept or dropped together;
* older units are kept newest first while they fit; the first one that does
  not fit is dropped with everything older (no gaps in the history);
* with an image policy, images are degraded (oldest first) before any text
  is dropped: ``low_detail`` sets OpenAI's ``detail: low`` (85 tokens each),
  ``downscale`` applies a caller-supplied function (e.g. Pillow's, in
  :mod:`inference_core.adapters.imaging`), ``drop`` removes images outside
  the current turn.

Everything dropped or degraded is reported in :attr:`TrimResult.dropped` so
the caller can log it. Trimming a result again changes nothing.

:func:`compress_messages` removes redundancy without losing text: blank parts
and empty messages go, repeated images are kept once, adjacent text is merged.
Trim first, then compress: compression never adds tokens, while dropping an
image's first occurrence after de-duplication would lose it.

:class:`ContextFit` is the chat use-cases' ``fit_context`` option and
:func:`fit_messages` applies it: trim (images first, by its policy), then
compress when asked. :func:`tools_tokens` estimates what tool definitions
add to a prompt.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from inference_core.domain.catalog import ModelSpec
from inference_core.domain.errors import ContextWindowExceeded, InvalidInputError
from inference_core.domain.messages import (
    ContentPart,
    ImagePart,
    Message,
    Role,
    TextPart,
    split_data_url,
)
from inference_core.domain.tokens import (
    REPLY_PRIMING_TOKENS,
    TOOL_CALL_TOKENS,
    TextCounter,
    estimate_text,
    message_total,
)
from inference_core.domain.tools import Tool

__all__ = [
    "ContextFit",
    "DropKind",
    "Dropped",
    "ImageDownscaler",
    "ImagePolicy",
    "TrimResult",
    "compress_messages",
    "fit_messages",
    "input_budget",
    "tools_tokens",
    "trim_messages",
]

ImagePolicy = Literal["keep", "low_detail", "downscale", "drop"]
#: Returns a smaller version of an image part (or the same part when it cannot shrink it).
ImageDownscaler = Callable[[ImagePart], ImagePart]

_SYSTEM_ROLES = frozenset({"system", "developer"})
_FROZEN = ConfigDict(frozen=True, extra="forbid")


DropKind = Literal["message", "image", "image_low_detail", "image_downscaled"]


class Dropped(BaseModel):
    """One thing trimming removed or degraded.

    Attributes:
        kind: ``message`` (the whole message), ``image`` (removed),
            ``image_low_detail`` or ``image_downscaled`` (kept, cheaper).
        index: Position of the message in the input list.
        role: Role of that message.
        part: Position of the image in the message's content, for image actions.
        tokens: Tokens saved.
    """

    model_config = _FROZEN
    kind: DropKind
    index: int
    role: Role
    part: int | None = None
    tokens: int


class TrimResult(BaseModel):
    """The trimmed conversation and what it cost to fit.

    Attributes:
        messages: The kept messages, in their original order.
        dropped: Everything removed or degraded, by message position.
        tokens: Token count of ``messages`` (reply priming included).
        tokens_before: Token count of the input.
        budget: The budget that was applied.
    """

    model_config = _FROZEN
    messages: tuple[Message, ...]
    dropped: tuple[Dropped, ...] = ()
    tokens: int
    tokens_before: int
    budget: int

    @property
    def changed(self) -> bool:
        """True when anything was dropped or degraded."""
        return bool(self.dropped)


def input_budget(
    context_window: int | ModelSpec,
    max_output_tokens: int | None = None,
    *,
    margin: int = 0,
) -> int:
    """Tokens left for the prompt: the context window minus the requested output and a margin.

    Args:
        context_window: The window in tokens, or a model spec that declares one.
        max_output_tokens: Output tokens the request reserves; with a spec and
            ``None``, the spec's ``max_output_tokens`` (0 when it has none).
        margin: Extra tokens kept free (estimates are not exact).

    Raises:
        InvalidInputError: The window is unknown, or nothing is left for the prompt.
    """
    if isinstance(context_window, ModelSpec):
        spec = context_window
        if spec.context_window is None:
            raise InvalidInputError(
                f"model {spec.id!r} declares no context window: pass a token budget instead"
            )
        window = spec.context_window
        if max_output_tokens is None:
            max_output_tokens = spec.max_output_tokens or 0
    else:
        window = context_window
    budget = window - (max_output_tokens or 0) - margin
    if budget <= 0:
        raise InvalidInputError(
            f"no room for a prompt: context window {window} - output {max_output_tokens or 0}"
            f" - margin {margin} = {budget}"
        )
    return budget


def _units(messages: Sequence[Message]) -> list[list[int]]:
    """Group non-system message positions so a tool call stays with its results."""
    units: list[list[int]] = []
    i, n = 0, len(messages)
    while i < n:
        message = messages[i]
        if message.role in _SYSTEM_ROLES:
            i += 1
            continue
        unit = [i]
        i += 1
        if message.role == "assistant" and message.tool_calls:
            while i < n and messages[i].role == "tool":
                unit.append(i)
                i += 1
        units.append(unit)
    return units


def _with_content(message: Message, parts: Sequence[ContentPart]) -> Message:
    return message.model_copy(update={"content": tuple(parts)})


def trim_messages(
    messages: Sequence[Message],
    budget: int,
    *,
    count_text: TextCounter = estimate_text,
    images: ImagePolicy = "keep",
    downscale: ImageDownscaler | None = None,
) -> TrimResult:
    """Fit ``messages`` into ``budget`` prompt tokens (see the module docs for the rules).

    Args:
        messages: The conversation, oldest first.
        budget: Prompt tokens available (see :func:`input_budget`).
        count_text: Text token counter; the same one must be used to check the result.
        images: What to do with images before dropping text.
        downscale: The shrinking function, required with ``images="downscale"``.

    Raises:
        ContextWindowExceeded: The system messages and the current turn alone
            exceed the budget (after degrading images, when a policy allows).
        InvalidInputError: ``images="downscale"`` without a ``downscale`` function.
    """
    if images == "downscale" and downscale is None:
        raise InvalidInputError("images='downscale' needs a downscale function")
    current = list(messages)
    costs = [message_total(m, count_text) for m in current]
    total = sum(costs) + REPLY_PRIMING_TOKENS
    before = total
    if total <= budget:
        return TrimResult(
            messages=tuple(current), tokens=total, tokens_before=before, budget=budget
        )

    units = _units(current)
    last_user = max((i for i, m in enumerate(current) if m.role == "user"), default=None)
    first_kept = 0 if not units else len(units) - 1
    if last_user is not None:
        first_kept = next(u for u, unit in enumerate(units) if last_user in unit)
    optional = units[:first_kept]
    mandatory = {i for i, m in enumerate(current) if m.role in _SYSTEM_ROLES}
    mandatory.update(i for unit in units[first_kept:] for i in unit)

    actions: list[Dropped] = []
    if images != "keep":
        scope = (
            [i for unit in optional for i in unit]
            if images == "drop"
            else [i for unit in units for i in unit]
        )
        total = _degrade_images(
            current, costs, total, budget, scope, images, downscale, count_text, actions
        )
        if total <= budget:
            return TrimResult(
                messages=tuple(current),
                dropped=tuple(actions),
                tokens=total,
                tokens_before=before,
                budget=budget,
            )

    needed = sum(costs[i] for i in mandatory) + REPLY_PRIMING_TOKENS
    if needed > budget:
        raise ContextWindowExceeded(
            f"the system messages and the current turn need {needed} tokens, "
            f"more than the budget of {budget}"
        )
    keep = set(mandatory)
    room = budget - needed
    for unit in reversed(optional):
        cost = sum(costs[i] for i in unit)
        if cost > room:
            break  # stop here: keeping an older unit would leave a gap in the history
        keep.update(unit)
        room -= cost
    dropped = [a for a in actions if a.index in keep]
    dropped.extend(
        Dropped(kind="message", index=i, role=current[i].role, tokens=costs[i])
        for i in range(len(current))
        if i not in keep
    )
    dropped.sort(key=lambda d: (d.index, d.part if d.part is not None else -1))
    return TrimResult(
        messages=tuple(current[i] for i in sorted(keep)),
        dropped=tuple(dropped),
        tokens=budget - room,
        tokens_before=before,
        budget=budget,
    )


def _degrade_images(
    current: list[Message],
    costs: list[int],
    total: int,
    budget: int,
    scope: Iterable[int],
    policy: ImagePolicy,
    downscale: ImageDownscaler | None,
    count_text: TextCounter,
    actions: list[Dropped],
) -> int:
    """Degrade images oldest first until the total fits; update ``current``/``costs`` in place."""
    for index in scope:
        message = current[index]
        if isinstance(message.content, str) or not message.images:
            continue
        parts: list[ContentPart | None] = list(message.content)
        for position, part in enumerate(message.content):
            if not isinstance(part, ImagePart):
                continue
            replacement: ImagePart | None
            kind: DropKind
            if policy == "drop":
                replacement, kind = None, "image"
            elif policy == "low_detail":
                if part.detail == "low":
                    continue
                replacement, kind = part.model_copy(update={"detail": "low"}), "image_low_detail"
            else:
                assert downscale is not None
                replacement, kind = downscale(part), "image_downscaled"
                if replacement == part:
                    continue
            trial = parts.copy()
            trial[position] = replacement
            candidate = _with_content(message, [p for p in trial if p is not None])
            cost = message_total(candidate, count_text)
            saved = costs[index] - cost
            if saved <= 0:
                continue  # e.g. a downscale that does not change the tile count
            parts = trial
            current[index] = message = candidate
            costs[index] = cost
            total -= saved
            actions.append(
                Dropped(kind=kind, index=index, role=message.role, part=position, tokens=saved)
            )
            if total <= budget:
                return total
    return total


# --- compression ------------------------------------------------------------------------


def _image_key(part: ImagePart) -> tuple[str, str]:
    # Key on the base64 text rather than decoded bytes: the same image as bytes or as a
    # data URL gives the same key, and no image is decoded.
    url = part.url or ""
    if part.data is not None:
        return "inline", base64.b64encode(part.data).decode("ascii")
    try:
        split = split_data_url(url)
    except ValueError:
        split = None  # malformed: keyed by the whole URL, checked where it is sent
    return ("inline", split[1]) if split is not None else ("url", url)


def _mergeable(message: Message) -> bool:
    return message.role != "tool" and not message.tool_calls and message.tool_call_id is None


def _is_empty(message: Message) -> bool:
    return message.content in ("", ()) and _mergeable(message)


def _join_parts(parts: Iterable[ContentPart], separator: str) -> str | tuple[ContentPart, ...]:
    """Merge neighbouring text parts; a lone text part collapses to a plain string."""
    out: list[ContentPart] = []
    for part in parts:
        if isinstance(part, TextPart) and out and isinstance(out[-1], TextPart):
            out[-1] = TextPart(text=out[-1].text + separator + part.text)
        else:
            out.append(part)
    if not out:
        return ""
    if len(out) == 1 and isinstance(out[0], TextPart):
        return out[0].text
    return tuple(out)


def compress_messages(
    messages: Sequence[Message],
    *,
    separator: str = "\n\n",
    part_separator: str = "\n",
    dedupe_images: bool = True,
) -> tuple[Message, ...]:
    """Remove redundancy from a conversation without losing any text.

    * blank text (empty or whitespace only) is removed; a plain message left
      empty is removed (tool calls and tool results are always kept);
    * an image seen earlier in the conversation (same bytes or same URL) is
      removed, the first occurrence kept;
    * neighbouring text parts of one message are joined with ``part_separator``
      (the separator :attr:`Message.text` uses), and a lone text part becomes a
      plain string;
    * adjacent messages with the same role and name, neither carrying tool
      calls or answering one, are merged, their text joined with ``separator``.

    The result is stable: compressing it again changes nothing.
    """
    seen: set[tuple[str, str]] = set()
    cleaned: list[Message] = []
    for message in messages:
        content: str | tuple[ContentPart, ...]
        if isinstance(message.content, str):
            content = message.content if message.content.strip() else ""
        else:
            kept: list[ContentPart] = []
            for part in message.content:
                if isinstance(part, TextPart) and not part.text.strip():
                    continue
                if isinstance(part, ImagePart) and dedupe_images:
                    key = _image_key(part)
                    if key in seen:
                        continue
                    seen.add(key)
                kept.append(part)
            content = _join_parts(kept, part_separator)
        if content != message.content:
            message = message.model_copy(update={"content": content})
        if not _is_empty(message):
            cleaned.append(message)

    merged: list[Message] = []
    for message in cleaned:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.role == message.role
            and previous.name == message.name
            and _mergeable(previous)
            and _mergeable(message)
        ):
            merged[-1] = previous.model_copy(
                update={"content": _merge_content(previous.content, message.content, separator)}
            )
        else:
            merged.append(message)
    return tuple(merged)


def _merge_content(
    left: str | tuple[ContentPart, ...], right: str | tuple[ContentPart, ...], separator: str
) -> str | tuple[ContentPart, ...]:
    if isinstance(left, str) and isinstance(right, str):
        return left + separator + right
    left_parts = (TextPart(text=left),) if isinstance(left, str) else left
    right_parts = (TextPart(text=right),) if isinstance(right, str) else right
    if left_parts and right_parts and isinstance(left_parts[-1], TextPart):
        first = right_parts[0]
        if isinstance(first, TextPart):
            joined = TextPart(text=left_parts[-1].text + separator + first.text)
            return (*left_parts[:-1], joined, *right_parts[1:])
    return (*left_parts, *right_parts)


# --- fitting a call ------------------------------------------------------------------


class ContextFit(BaseModel):
    """How a chat call fits its conversation into the model's window (the ``fit_context`` option).

    ``fit_context=True`` means ``ContextFit()``; ``fit_context=N`` means
    ``ContextFit(budget=N)``.

    Attributes:
        budget: Prompt tokens to fit into; ``None``: the model's context window
            minus the requested output tokens and ``margin`` (the model must
            declare a window).
        images: What to do with images before any text is dropped (see
            :func:`trim_messages`); ``keep`` never touches them.
        downscale: The shrinking function for ``images="downscale"`` (e.g. the
            imaging adapter's).
        compress: After trimming, remove redundancy too (:func:`compress_messages`:
            blank parts, repeated images, adjacent same-role messages merged).
        margin: Tokens kept free, since counts are estimates unless a
            tokenizer is wired.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    budget: int | None = Field(default=None, gt=0)
    images: ImagePolicy = "keep"
    downscale: ImageDownscaler | None = Field(default=None, exclude=True, repr=False)
    compress: bool = False
    margin: int = Field(default=0, ge=0)


def fit_messages(
    messages: Sequence[Message],
    budget: int,
    fit: ContextFit,
    *,
    count_text: TextCounter = estimate_text,
) -> TrimResult:
    """Apply ``fit``: trim ``messages`` into ``budget`` (then compress when asked).

    Raises:
        ContextWindowExceeded: The system messages and the current turn alone
            do not fit (see :func:`trim_messages`).
        InvalidInputError: ``images="downscale"`` without a ``downscale`` function.
    """
    trimmed = trim_messages(
        messages, budget, count_text=count_text, images=fit.images, downscale=fit.downscale
    )
    if not fit.compress:
        return trimmed
    compressed = compress_messages(trimmed.messages)
    if compressed == trimmed.messages:
        return trimmed
    tokens = sum(message_total(m, count_text) for m in compressed) + REPLY_PRIMING_TOKENS
    return trimmed.model_copy(update={"messages": compressed, "tokens": tokens})


def tools_tokens(tools: Sequence[Tool], count_text: TextCounter = estimate_text) -> int:
    """Estimated prompt tokens of tool definitions (their JSON, plus framing per tool)."""
    total = 0
    for tool in tools:
        text = json.dumps(tool.to_openai(), ensure_ascii=False, separators=(",", ":"))
        total += count_text(text).tokens + TOOL_CALL_TOKENS
    return total
