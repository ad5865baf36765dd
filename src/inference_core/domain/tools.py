"""Tools a model may call: definitions, the caller's choice, streamed pieces, the loop's bounds.

* :class:`Tool` is one definition: a name, a description and the JSON Schema of
  its arguments. Build it from a pydantic model (:meth:`Tool.from_model`), from
  a typed Python function (:meth:`Tool.from_function`, which also keeps the
  function so the tool loop can run it), or from an OpenAI-shaped dict
  (:meth:`Tool.from_openai`). :func:`coerce_tools` accepts any of these.
* :class:`ToolChoice` is the caller's ``tool_choice``: ``auto``, ``none``,
  ``required`` or one named tool (:meth:`ToolChoice.parse` takes the strings,
  a tool name, or OpenAI's ``{"type": "function", "function": {"name": ...}}``).
* :class:`ToolCallDelta` is one streamed piece of a call; :class:`ToolCallAssembler`
  puts the pieces back together (adapters use it to close a stream with the
  complete calls, the stream use-case to report what a cut stream delivered).
* :class:`ToolLoop` bounds the optional loop that runs the caller's tools.

A call the model makes is a :class:`~inference_core.domain.messages.ToolCall`
(its ``arguments`` are the raw JSON text); its result goes back as
``Message.tool_result(call.id, ...)``, linked by that id.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, get_type_hints

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from inference_core.domain.errors import InvalidToolError
from inference_core.domain.messages import ToolCall

__all__ = [
    "TOOL_NAME_PATTERN",
    "FunctionArguments",
    "Tool",
    "ToolCallAssembler",
    "ToolCallDelta",
    "ToolChoice",
    "ToolChoiceInput",
    "ToolInput",
    "ToolLoop",
    "coerce_tools",
    "split_arguments",
    "tool_result_text",
]

#: What every provider accepts as a tool name.
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_NAME = re.compile(TOOL_NAME_PATTERN)
_FROZEN = ConfigDict(frozen=True, extra="forbid")
_EMPTY_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}
#: Keywords whose value is one sub-schema / a list of them / a name -> schema mapping.
_SUBSCHEMA = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")


def _strip_titles(schema: Any) -> Any:
    """A copy of a JSON Schema without pydantic's ``title`` annotations (tokens, no meaning).

    Only the ``title`` keyword is removed: a property that is *named* ``title``
    stays (it is a key of ``properties``, not a keyword).
    """
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _SUBSCHEMA:
            out[key] = _strip_titles(value)
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [_strip_titles(v) for v in value]
        elif key in _SUBSCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: _strip_titles(v) for name, v in value.items()}
        else:
            out[key] = value
    return out


_ARGS_HEADER = re.compile(r"^(Args|Arguments|Parameters):$")
_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:$")
_ARG_LINE = re.compile(r"^\s+\*{0,2}([A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(prose, {argument: description}) of a Google-style docstring."""
    prose: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None  # None: prose; "args"; "other" (Returns:, Raises:...)
    current: str | None = None
    indent_of_names: int | None = None
    for line in doc.splitlines():
        stripped = line.strip()
        if line[:1].strip() and _SECTION.match(stripped):
            section = "args" if _ARGS_HEADER.match(stripped) else "other"
            current, indent_of_names = None, None
            continue
        if section is None:
            prose.append(line)
            continue
        if section != "args" or not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        match = _ARG_LINE.match(line)
        if match and (indent_of_names is None or indent <= indent_of_names):
            indent_of_names = indent
            current = match.group(1)
            args[current] = match.group(2).strip()
        elif current is not None:
            args[current] = f"{args[current]} {stripped}".strip()
    return "\n".join(prose).strip(), args


class FunctionArguments(BaseModel):
    """Base of the arguments model :meth:`Tool.from_function` builds (passed as keywords)."""

    model_config = ConfigDict(extra="forbid")


class Tool(BaseModel):
    """One tool the model may call.

    Attributes:
        name: ``[A-Za-z0-9_-]{1,64}``, unique within a request.
        description: What the tool does (the model decides from it when to call).
        parameters: JSON Schema of the arguments object (``type: object``).
        strict: Ask providers that support it (OpenAI) to enforce the schema.
        arguments_model: The pydantic model the arguments validate into, when
            the tool was built from a model or a function (else the schema is used).
        function: The Python callable the tool loop runs (sync or async), when
            the tool has one; it is called with the validated arguments as keywords.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: dict(_EMPTY_OBJECT))
    strict: bool = False
    arguments_model: type[BaseModel] | None = Field(default=None, exclude=True, repr=False)
    function: Callable[..., Any] | None = Field(default=None, exclude=True, repr=False)

    @field_validator("name")
    @classmethod
    def _acceptable_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"tool name {value!r} must match {TOOL_NAME_PATTERN} (letters, digits, _ and -)"
            )
        return value

    @field_validator("parameters")
    @classmethod
    def _object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type") != "object":
            raise ValueError(
                "tool parameters must be a JSON Schema of type 'object', "
                f"got type {value.get('type')!r}"
            )
        return value

    @classmethod
    def from_model(
        cls,
        model: type[BaseModel],
        *,
        name: str | None = None,
        description: str | None = None,
        function: Callable[..., Any] | None = None,
        strict: bool = False,
    ) -> Tool:
        """A tool whose arguments are ``model`` (name: the class name; description: its doc).

        Raises:
            InvalidToolError: The name is not acceptable or the schema is not an object.
        """
        doc = description if description is not None else inspect.getdoc(model) or ""
        if doc == inspect.getdoc(BaseModel):
            doc = ""  # an undocumented model inherits BaseModel's docstring
        schema = _strip_titles(model.model_json_schema())
        schema.pop("description", None)  # the docstring: it is the tool's description
        try:
            return cls(
                name=name or model.__name__,
                description=doc.strip(),
                parameters=schema,
                strict=strict,
                arguments_model=model,
                function=function,
            )
        except ValidationError as exc:
            raise InvalidToolError(_first_error(exc, name or model.__name__)) from None

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool = False,
    ) -> Tool:
        """A tool from a typed function: its parameters become the arguments schema.

        The description is the docstring's prose; a Google-style ``Args:``
        section describes each argument. Parameters without an annotation take
        any JSON value; parameters with a default are optional.

        Raises:
            InvalidToolError: ``*args``/``**kwargs`` or positional-only parameters
                (a call passes arguments by name), or no usable name (a lambda).
        """
        label = name or getattr(function, "__name__", None) or ""
        try:
            signature = inspect.signature(function)
            hints = get_type_hints(function, include_extras=True)
        except (TypeError, ValueError, NameError) as exc:
            raise InvalidToolError(f"tool {label!r}: cannot read its signature: {exc}") from None
        summary, documented = _parse_docstring(inspect.getdoc(function) or "")
        fields: dict[str, Any] = {}
        for pname, param in signature.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
                raise InvalidToolError(
                    f"tool {label!r}: parameter {pname!r} must be passable by name "
                    "(no *args, **kwargs or positional-only parameters)"
                )
            default = ... if param.default is param.empty else param.default
            fields[pname] = (
                hints.get(pname, Any),
                Field(default, description=documented.get(pname) or None),
            )
        model_name = f"{label or 'tool'}_arguments".replace("-", "_")
        try:
            arguments = create_model(model_name, __base__=FunctionArguments, **fields)
        except (TypeError, ValueError) as exc:
            raise InvalidToolError(f"tool {label!r}: {exc}") from None
        schema = _strip_titles(arguments.model_json_schema())
        try:
            return cls(
                name=label,
                description=(description if description is not None else summary).strip(),
                parameters=schema,
                strict=strict,
                arguments_model=arguments,
                function=function,
            )
        except ValidationError as exc:
            raise InvalidToolError(_first_error(exc, label)) from None

    @classmethod
    def from_openai(cls, raw: Mapping[str, Any]) -> Tool:
        """A tool from OpenAI's ``{"type": "function", "function": {name, parameters...}}``.

        The bare inner ``{name, description, parameters}`` object is accepted too.

        Raises:
            InvalidToolError: The dict is not of that shape.
        """
        inner = raw.get("function") if raw.get("type") == "function" else raw
        if not isinstance(inner, Mapping) or not isinstance(inner.get("name"), str):
            raise InvalidToolError(
                "a tool dict must be {'type': 'function', 'function': {'name': ..., "
                "'parameters': {...}}}"
            )
        parameters = inner.get("parameters")
        try:
            return cls(
                name=inner["name"],
                description=str(inner.get("description") or ""),
                parameters=dict(parameters) if isinstance(parameters, Mapping) else _EMPTY_OBJECT,
                strict=bool(inner.get("strict", False)),
            )
        except ValidationError as exc:
            raise InvalidToolError(_first_error(exc, str(inner["name"]))) from None

    def call_arguments(self, value: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """How :attr:`function` is called with validated arguments ``value``: ``(args, kwargs)``.

        A function's own arguments (:meth:`from_function`) and plain parsed
        objects (schema-only tools) go as keywords; an instance of a model given
        to :meth:`from_model` goes as the one positional argument.
        """
        if isinstance(value, FunctionArguments):
            return (), {name: getattr(value, name) for name in type(value).model_fields}
        if isinstance(value, BaseModel):
            return (value,), {}
        if isinstance(value, Mapping):
            return (), dict(value)
        return (value,), {}

    def to_openai(self) -> dict[str, Any]:
        """This tool in OpenAI's chat-completions ``tools`` shape."""
        function: dict[str, Any] = {"name": self.name, "parameters": self.parameters}
        if self.description:
            function["description"] = self.description
        if self.strict:
            function["strict"] = True
        return {"type": "function", "function": function}


def _first_error(exc: ValidationError, name: str) -> str:
    first = exc.errors(include_url=False)[0]
    return f"tool {name!r}: {first['msg'].removeprefix('Value error, ')}"


#: What a caller may pass as one tool.
ToolInput = Tool | type[BaseModel] | Callable[..., Any] | Mapping[str, Any]


def coerce_tools(tools: Iterable[ToolInput] | None) -> tuple[Tool, ...]:
    """Tools from :class:`Tool` objects, pydantic model classes, functions or OpenAI dicts.

    Raises:
        InvalidToolError: An item is none of these, or two tools share a name.
    """
    if tools is None:
        return ()
    if isinstance(tools, str | bytes | Mapping) or not isinstance(tools, Iterable):
        raise InvalidToolError(f"tools must be a list of tools, got {type(tools).__name__}")
    out: list[Tool] = []
    for index, item in enumerate(tools):
        if isinstance(item, Tool):
            out.append(item)
        elif isinstance(item, type) and issubclass(item, BaseModel):
            out.append(Tool.from_model(item))
        elif isinstance(item, Mapping):
            out.append(Tool.from_openai(item))
        elif callable(item):
            out.append(Tool.from_function(item))
        else:
            raise InvalidToolError(
                f"tools[{index}]: expected a Tool, a pydantic model class, a function or an "
                f"OpenAI tool dict, got {type(item).__name__}"
            )
    names = [t.name for t in out]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidToolError(f"tool names must be unique, repeated: {', '.join(repeated)}")
    return tuple(out)


ToolChoiceMode = Literal["auto", "none", "required", "tool"]


class ToolChoice(BaseModel):
    """Whether (and which) tool the model must call.

    ``auto``: the model decides; ``none``: no tool call; ``required``: at least
    one call, of any tool; ``tool``: a call of the tool named ``name``.
    """

    model_config = _FROZEN
    mode: ToolChoiceMode = "auto"
    name: str | None = None

    @model_validator(mode="after")
    def _name_with_tool(self) -> ToolChoice:
        if (self.mode == "tool") != (self.name is not None):
            raise ValueError("tool_choice names a tool exactly when its mode is 'tool'")
        return self

    @classmethod
    def tool(cls, name: str) -> ToolChoice:
        """Force a call of the tool ``name``."""
        return cls(mode="tool", name=name)

    @property
    def forced(self) -> bool:
        """True when the model must call a tool (``required`` or a named tool)."""
        return self.mode in ("required", "tool")

    @classmethod
    def parse(cls, value: ToolChoiceInput) -> ToolChoice:
        """``"auto"``, ``"none"``, ``"required"``, a tool's name, a ToolChoice or OpenAI's dict.

        Raises:
            InvalidToolError: Any other value.
        """
        if isinstance(value, ToolChoice):
            return value
        if isinstance(value, str):
            if value in ("auto", "none", "required"):
                return cls(mode=value)  # type: ignore[arg-type]  # checked just above
            if _NAME.match(value):
                return cls.tool(value)
        if isinstance(value, Mapping):
            function = value.get("function")
            if value.get("type") == "function" and isinstance(function, Mapping):
                name = function.get("name")
                if isinstance(name, str):
                    return cls.tool(name)
        raise InvalidToolError(
            "tool_choice must be 'auto', 'none', 'required', a tool's name, "
            f"ToolChoice.tool(name) or {{'type': 'function', 'function': {{'name': ...}}}}; "
            f"got {value!r:.60}"
        )


#: What a caller may pass as ``tool_choice``.
ToolChoiceInput = ToolChoice | str | Mapping[str, Any]


class ToolCallDelta(BaseModel):
    """One streamed piece of a tool call.

    Pieces of the same call share ``index``; the first usually brings ``id``
    and ``name``, later ones more ``arguments`` text. Concatenating the
    ``arguments`` of every piece of a call gives its full arguments.
    Adapters that receive calls whole send one piece per call.
    """

    model_config = _FROZEN
    index: int = Field(ge=0)
    id: str | None = None
    name: str | None = None
    arguments: str = ""


class _Partial:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []


class ToolCallAssembler:
    """Reassembles :class:`ToolCallDelta` pieces into :class:`ToolCall` values, in index order.

    Example:
        >>> calls = ToolCallAssembler()
        >>> calls.add(ToolCallDelta(index=0, id="c1", name="f", arguments='{"a"'))
        >>> calls.add(ToolCallDelta(index=0, arguments=": 1}"))
        >>> calls.complete()[0].arguments
        '{"a": 1}'
    """

    def __init__(self) -> None:
        self._calls: dict[int, _Partial] = {}

    def __bool__(self) -> bool:
        return bool(self._calls)

    def add(self, delta: ToolCallDelta) -> None:
        """Fold one piece in (an id or name seen again is kept from its first piece)."""
        call = self._calls.setdefault(delta.index, _Partial())
        if delta.id and call.id is None:
            call.id = delta.id
        if delta.name and call.name is None:
            call.name = delta.name
        if delta.arguments:
            call.arguments.append(delta.arguments)

    def extend(self, deltas: Iterable[ToolCallDelta]) -> None:
        """Fold several pieces in."""
        for delta in deltas:
            self.add(delta)

    def partial(self) -> tuple[ToolCall, ...]:
        """Every call as far as it arrived (arguments may be cut; missing ids and names empty)."""
        return tuple(
            ToolCall(id=c.id or "", name=c.name or "", arguments="".join(c.arguments))
            for _, c in sorted(self._calls.items())
        )

    def complete(self) -> tuple[ToolCall, ...]:
        """The finished calls; empty arguments become ``{}``.

        Raises:
            ValueError: A call never got its id or its name (a malformed stream).
        """
        out = []
        for index, call in sorted(self._calls.items()):
            if not call.id or not call.name:
                missing = "id" if not call.id else "name"
                raise ValueError(f"streamed tool call {index} never got its {missing}")
            out.append(
                ToolCall(id=call.id, name=call.name, arguments="".join(call.arguments) or "{}")
            )
        return tuple(out)


def split_arguments(call: ToolCall, index: int, pieces: int = 3) -> tuple[ToolCallDelta, ...]:
    """A whole call as ``pieces`` deltas (for fakes and adapters that replay calls)."""
    text = call.arguments
    size = max(1, -(-len(text) // max(pieces, 1)))
    chunks = [text[i : i + size] for i in range(0, len(text), size)] or [""]
    first = ToolCallDelta(index=index, id=call.id, name=call.name, arguments=chunks[0])
    return (first, *(ToolCallDelta(index=index, arguments=c) for c in chunks[1:]))


class ToolLoop(BaseModel):
    """Bounds of the tool loop that runs the caller's tool functions (a ChatText option).

    Attributes:
        max_rounds: Tool rounds allowed: each is one answer asking for tools and
            the execution of its calls. An answer still asking for tools after
            the last round raises :class:`~inference_core.domain.errors.ToolLoopExceeded`.
        timeout: Seconds each tool call may run (``None``: no limit).
        on_error: ``raise`` (default): a tool that raises or times out ends the
            call with :class:`~inference_core.domain.errors.ToolExecutionError` /
            :class:`~inference_core.domain.errors.ToolTimeout`; ``feed_back``: the
            error becomes that call's tool-result message and the model is asked again.
        concurrent: Run the calls of one answer concurrently (sync functions in
            worker threads); else one after another, in order.
        reset_tool_choice: A forced ``tool_choice`` applies to the first round
            only, later requests use ``auto`` (forcing every round never ends).
    """

    model_config = _FROZEN
    max_rounds: int = Field(default=4, ge=1, le=100)
    timeout: float | None = Field(default=30.0, gt=0)
    on_error: Literal["raise", "feed_back"] = "raise"
    concurrent: bool = True
    reset_tool_choice: bool = True


def tool_result_text(value: Any) -> str:
    """A tool function's return value as tool-result text (JSON unless it is a string)."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
