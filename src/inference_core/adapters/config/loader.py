"""Read ``inference_runtime.yaml`` (or ``.yml`` / ``.json``) into a :class:`RuntimeConfig`.

* Found by ``INFERENCE_RUNTIME_CONFIG`` or by searching upward from the working
  directory. No file is fine: defaults apply.
* ``${VAR}`` and ``${VAR:-default}`` are substituted from an environment
  *snapshot* (the process environment, plus ``.env`` values for variables that
  are not already set). ``$${`` writes a literal ``${``. Nothing is ever
  written to ``os.environ``.
* Under ``api_keys`` an unset variable means "no key for that provider"; the
  error comes when that provider is used and names the variable and the key.
* Every error names the file, the key path and the problem: unknown keys get a
  "did you mean", YAML syntax errors their line and column. YAML anchors and
  aliases are rejected and files are capped in size, so a "billion laughs"
  document cannot exhaust memory.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from inference_core.domain.config import RuntimeConfig
from inference_core.domain.errors import ConfigurationError

__all__ = [
    "CONFIG_ENV_VAR",
    "CONFIG_FILE_NAMES",
    "MAX_CONFIG_BYTES",
    "LoadedRuntime",
    "environment_snapshot",
    "find_config_file",
    "find_file_upwards",
    "load_runtime",
    "parse_config_text",
    "read_config_file",
    "read_env_file",
    "substitute_env",
]

CONFIG_ENV_VAR = "INFERENCE_RUNTIME_CONFIG"
CONFIG_FILE_NAMES = ("inference_runtime.yaml", "inference_runtime.yml", "inference_runtime.json")
MAX_CONFIG_BYTES = 1_000_000

_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}", re.DOTALL)


@dataclass(frozen=True)
class LoadedRuntime:
    """A validated config plus the environment snapshot it was resolved against."""

    config: RuntimeConfig
    env: Mapping[str, str] = field(repr=False)
    path: Path | None = None
    env_file: Path | None = None


def find_file_upwards(names: str | tuple[str, ...], start: Path | None = None) -> Path | None:
    """Return the first file named ``names`` in ``start`` or any parent directory."""
    wanted = (names,) if isinstance(names, str) else names
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        for name in wanted:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def find_config_file(env: Mapping[str, str], start: Path | None = None) -> Path | None:
    """Locate the runtime config: ``INFERENCE_RUNTIME_CONFIG`` first, then an upward search.

    Raises:
        ConfigurationError: ``INFERENCE_RUNTIME_CONFIG`` names a file that does not exist.
    """
    named = env.get(CONFIG_ENV_VAR)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"{CONFIG_ENV_VAR}={named}: no such file")
        return path
    return find_file_upwards(CONFIG_FILE_NAMES, start)


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``.env`` file with python-dotenv (quotes, escapes, ``export``, comments).

    Returns the values (variables without a value are left out); it does not
    touch ``os.environ``, and no value appears in any error.

    Raises:
        ConfigurationError: The file cannot be read or is not UTF-8.
    """
    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        message = f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})"
    except OSError as exc:
        message = f"{path}: cannot read: {exc.strerror}"
    else:
        values: dict[str, str] = {}
        for binding in parse_stream(io.StringIO(text)):
            if binding.error:  # dotenv itself would only log and skip the line
                raise ConfigurationError(f"{path}:{binding.original.line}: expected KEY=value")
            if binding.key is not None and binding.value is not None:
                values[binding.key] = binding.value
        return values
    raise ConfigurationError(message)  # outside the handler: no chained cause holding text


#: libyaml's C loader when PyYAML was built with it (about 6x faster), else the Python one.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _refuse_aliases(root: yaml.Node) -> None:
    """Raise if any node of the composed document is reached twice (an ``*alias``).

    Composing resolves an alias to the very node its anchor names, so a second
    visit of one node object is an alias. Checking the composed graph (small,
    however many times aliases would expand) before constructing anything keeps
    "billion laughs" documents harmless, and works with the C loader too.
    """
    seen: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            mark = node.start_mark
            raise yaml.MarkedYAMLError(
                "while composing the document",
                None,
                "YAML anchors and aliases (&name / *name) are not allowed in the runtime config "
                "(this node is anchored here and used again)",
                mark,
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _load_yaml(text: str) -> Any:
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _refuse_aliases(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem and, when it has one, its context with that context's position.

    Never ``str(exc)``: that quotes the offending line, which may hold a key.
    """
    text = exc.problem or exc.context or "syntax error"
    mark, context_mark = exc.problem_mark, exc.context_mark
    if exc.problem and exc.context and context_mark is not None:
        at = ""
        if mark is None or (context_mark.line, context_mark.column) != (mark.line, mark.column):
            at = f" at line {context_mark.line + 1}, column {context_mark.column + 1}"
        text += f" ({exc.context}{at})"
    return text


def parse_config_text(text: str, *, source: str, is_json: bool = False) -> Any:
    """Parse YAML or JSON text, naming ``source`` and the line on syntax errors."""
    if len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise ConfigurationError(
            f"{source}: larger than {MAX_CONFIG_BYTES} bytes; refusing to parse"
        )
    try:
        data = json.loads(text) if is_json else _load_yaml(text)
    except json.JSONDecodeError as exc:  # .doc holds the whole text
        message = f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
    except yaml.MarkedYAMLError as exc:  # str(exc) quotes the offending line
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        message = f"{where}: invalid YAML: {_yaml_problem(exc)}"
    except yaml.YAMLError as exc:
        message = f"{source}: invalid YAML: {type(exc).__name__}"
    except RecursionError:
        message = f"{source}: nested too deeply to parse"
    except ValueError as exc:  # e.g. Python's limit on the digits of an integer
        message = f"{source}: {exc}"
    else:
        _check_shape(data, source)
        return data
    # Raised outside the handler, so no chained cause carries the file's text (or a key in it).
    raise ConfigurationError(message)


#: Deepest nesting accepted in a config file (real ones stay under 10).
MAX_CONFIG_DEPTH = 32
#: Longest integer accepted, in digits.
MAX_INTEGER_DIGITS = 18


def _check_shape(data: Any, source: str) -> None:
    """Refuse nesting and integers no config needs, before anything recurses into them."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_CONFIG_DEPTH:
            raise ConfigurationError(
                f"{source}: {_key_path(path[:MAX_CONFIG_DEPTH])}: nested deeper than "
                f"{MAX_CONFIG_DEPTH} levels"
            )
        if isinstance(node, dict):
            stack.extend((v, (*path, str(k))) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
        elif (
            isinstance(node, int)
            and not isinstance(node, bool)
            and abs(node) >= 10**MAX_INTEGER_DIGITS
        ):
            raise ConfigurationError(
                f"{source}: {_key_path(path)}: integer longer than {MAX_INTEGER_DIGITS} digits"
            )


def _key_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def substitute_env(
    value: Any,
    env: Mapping[str, str],
    *,
    source: str,
    path: tuple[str | int, ...] = (),
    unset_ok: bool = False,
) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of ``value``.

    Args:
        value: Parsed config (dicts, lists, scalars).
        env: Environment snapshot.
        source: File name for error messages.
        path: Key path of ``value`` (for error messages).
        unset_ok: Return ``None`` for a string that references an unset variable
            (used under ``api_keys``) instead of raising.

    Raises:
        ConfigurationError: A variable is unset and has no default.
    """
    if isinstance(value, dict):
        return {
            k: substitute_env(v, env, source=source, path=(*path, str(k)), unset_ok=unset_ok)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            substitute_env(v, env, source=source, path=(*path, i), unset_ok=unset_ok)
            for i, v in enumerate(value)
        ]
    if not isinstance(value, str) or "$" not in value:
        return value

    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name in env and env[name] != "":
            return env[name]
        if default is not None:
            return default
        missing.append(name)
        return ""

    result = _VAR.sub(replace, value)
    if missing:
        if unset_ok:
            return None
        raise ConfigurationError(
            f"{source}: {_key_path(path)}: environment variable {missing[0]} is not set "
            f"(write ${{{missing[0]}:-default}} to give a default)"
        )
    return result


def _api_key_entries(raw: Any, env: Mapping[str, str], source: str) -> Any:
    if not isinstance(raw, dict):
        return raw  # validation reports the wrong type
    entries: dict[str, Any] = {}
    for provider, value in raw.items():
        if not isinstance(value, str):
            entries[provider] = value
            continue
        match = _VAR.fullmatch(value.strip())
        env_var = match.group(1) if match and match.group(0) != "$${" else None
        resolved = substitute_env(
            value, env, source=source, path=("api_keys", provider), unset_ok=True
        )
        entries[provider] = {"value": resolved, "env_var": env_var}
    return entries


def _allowed_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Field names accepted at ``loc`` (best effort, for "did you mean")."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            return []
        info = current.model_fields.get(part)
        if info is None:
            return list(current.model_fields)
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [
            a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if candidates:
            current = candidates[0]
            continue
        # dict[str, Model]: skip the user-chosen key
        value_types = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        current = value_types[0] if value_types else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [name for name in current.model_fields if name != "source"]
    return []


def _describe_validation(exc: ValidationError, source: str) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        where = _key_path(loc)
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(RuntimeConfig, loc[:-1])
            guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = (
                f"; did you mean {guess[0]!r}?"
                if guess
                else (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
            )
            lines.append(f"{source}: {where}: unknown key{hint}")
        else:
            # The value itself is never shown: it may have come from a key or a ${SECRET}.
            lines.append(f"{source}: {where}: {error['msg']} (got {_kind(error.get('input'))})")
    return "\n".join(lines)


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), f"a {type(value).__name__}")


def config_from_data(data: Any, env: Mapping[str, str], *, source: str) -> RuntimeConfig:
    """Substitute variables in parsed data and validate it as a :class:`RuntimeConfig`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{source}: the top level must be a mapping, got {type(data).__name__}"
        )
    # A section left with only comments parses as null: treat it as absent.
    data = {key: value for key, value in data.items() if value is not None}
    api_keys = data.get("api_keys")
    rest = {k: v for k, v in data.items() if k != "api_keys"}
    substituted = substitute_env(rest, env, source=source)
    if api_keys is not None:
        substituted["api_keys"] = _api_key_entries(api_keys, env, source)
    substituted["source"] = source
    try:
        config = RuntimeConfig.model_validate(substituted)
    except ValidationError as exc:  # its str() quotes input values
        message = _describe_validation(exc, source)
    else:
        _check_client_paths(config, source)
        return config
    raise ConfigurationError(message)  # no chained cause: see parse_config_text


def _check_client_paths(config: RuntimeConfig, source: str) -> None:
    from inference_core.adapters.plugins import installed_plugins

    installed_plugins().check_client_paths(config.routing.provider_client, source)


def environment_snapshot(
    environ: Mapping[str, str] | None = None,
    *,
    start: Path | None = None,
    read_dotenv: bool = True,
) -> tuple[dict[str, str], Path | None]:
    """A copy of the environment with the nearest ``.env`` filling only unset variables.

    Returns the merged mapping and the ``.env`` file used (if any). The process
    environment is read, never written.
    """
    env: dict[str, str] = dict(os.environ if environ is None else environ)
    env_file = find_file_upwards(".env", start) if read_dotenv else None
    if env_file is not None:
        for key, value in read_env_file(env_file).items():
            env.setdefault(key, value)
    return env, env_file


def read_config_file(path: Path) -> str:
    """A config file's text, refused past :data:`MAX_CONFIG_BYTES` or when not UTF-8.

    Raises:
        ConfigurationError: Naming the file; no chained cause carries its bytes.
    """
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigurationError(
                f"{path}: larger than {MAX_CONFIG_BYTES} bytes; refusing to parse"
            )
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:  # its .object holds the file's bytes
        raise ConfigurationError(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None


def load_runtime(
    config_path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    start: Path | None = None,
    read_dotenv: bool = True,
) -> LoadedRuntime:
    """Find, read and validate the runtime config against an environment snapshot.

    Args:
        config_path: Explicit file; otherwise ``INFERENCE_RUNTIME_CONFIG`` or an upward search.
        environ: Base environment (defaults to a copy of ``os.environ``).
        start: Directory to search upward from (defaults to the working directory).
        read_dotenv: Merge the nearest ``.env`` for variables not already set.

    Raises:
        ConfigurationError: The file is missing, unreadable, malformed or invalid.
    """
    env, env_file = environment_snapshot(environ, start=start, read_dotenv=read_dotenv)

    if config_path is not None:
        path: Path | None = Path(config_path).expanduser()
        assert path is not None
        if not path.is_file():
            raise ConfigurationError(f"{path}: no such config file")
    else:
        path = find_config_file(env, start)
    if path is None:
        return LoadedRuntime(RuntimeConfig(), env, None, env_file)

    source = str(path)
    text = read_config_file(path)
    data = parse_config_text(text, source=source, is_json=path.suffix == ".json")
    return LoadedRuntime(config_from_data(data, env, source=source), env, path, env_file)
