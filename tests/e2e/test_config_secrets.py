"""No key from a config file, ``${VAR}`` or ``.env`` reaches an error, its chain or the CLI.

Each case is a config that fails to load or route while a key sits in it (or in
the variable it names). The sweep checks the error's text and repr, every
exception in its chain (causes and contexts), their attributes, the formatted
traceback, and the CLI's stdout/stderr with and without ``--debug``.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inference_core import bootstrap
from inference_core.cli import main
from inference_core.domain.errors import ConfigurationError

SECRET = "sk-live-0123456789abcdefSECRETVALUE"
ENV = {"OPENAI_API_KEY": SECRET, "SERVICE_TOKEN": SECRET}

CASES: dict[str, tuple[str, str]] = {
    "key as a list": ("yaml", f"api_keys:\n  openai: ['{SECRET}']\n"),
    "key as an object": ("yaml", f"api_keys:\n  openai: {{token: '{SECRET}'}}\n"),
    "secret var where a number goes": ("yaml", "retry:\n  max_attempts: ${OPENAI_API_KEY}\n"),
    "token var where a number goes": ("yaml", "timeouts:\n  read: ${SERVICE_TOKEN}\n"),
    "secret var under an unknown key": ("yaml", "bogus:\n  token: ${OPENAI_API_KEY}\n"),
    "beside a bad endpoint entry": (
        "yaml",
        "custom_endpoints:\n  ollama:\n    base_url: ${OPENAI_API_KEY}\n    bad: 1\n",
    ),
    "yaml syntax error on the key's line": ("yaml", f'api_keys:\n  openai: "{SECRET}\n'),
    "yaml syntax error after the key": ("yaml", f"api_keys:\n  openai: {SECRET}\n  x: [\n"),
    "json syntax error after the key": ("json", f'{{"api_keys": {{"openai": "{SECRET}"}}, }}'),
    "default model from a secret var": ("yaml", "default_model: ${OPENAI_API_KEY}\n"),
    "deep nesting holding the key": ("yaml", "a: " + "[" * 60 + f"'{SECRET}'" + "]" * 60 + "\n"),
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack = [exc]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.extend(e for e in (item.__cause__, item.__context__) if e is not None)
        stack.extend(getattr(item, "exceptions", ()))


def _assert_clean(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc))
    assert SECRET not in text
    for item in _chain(exc):
        shown: list[Any] = [str(item), repr(item), item.args, vars(item)]
        assert SECRET not in repr(shown), f"{type(item).__name__} holds the key"


def _write(tmp_path: Path, kind: str, text: str) -> Path:
    path = tmp_path / f"inference_runtime.{kind}"
    path.write_text(text, encoding="utf-8")
    return path


def _fail(path: Path) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        inference = bootstrap(config_path=path, environ=dict(ENV))
        inference.route(None)  # routing the default model is part of using it
    return caught.value


@pytest.mark.parametrize("name", list(CASES))
def test_a_failing_config_never_shows_a_key(name: str, tmp_path: Path) -> None:
    kind, text = CASES[name]
    error = _fail(_write(tmp_path, kind, text))
    assert str(_write(tmp_path, kind, text)) in str(error) or "model" in str(error)
    _assert_clean(error)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("argv", [("chat", "hi"), ("--debug", "chat", "hi"), ("--debug", "doctor")])
def test_the_cli_never_prints_a_key(
    name: str,
    argv: tuple[str, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kind, text = CASES[name]
    path = _write(tmp_path, kind, text)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    code = main(["--config", str(path), *argv])
    out, err = capsys.readouterr()
    assert code != 0
    assert SECRET not in out and SECRET not in err


def test_a_non_utf8_env_file_is_a_clear_error_without_its_bytes(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(f"OPENAI_API_KEY={SECRET}\nX=\xff\xfe\n".encode("latin-1"))
    config = _write(tmp_path, "yaml", "default_model: gpt-4o\n")
    from inference_core.adapters.config import load_runtime

    with pytest.raises(ConfigurationError, match=r"\.env: not UTF-8 text") as caught:
        load_runtime(config, environ={}, start=tmp_path)
    _assert_clean(caught.value)


def test_env_file_values_follow_dotenv_rules(tmp_path: Path) -> None:
    from inference_core.adapters.config import read_env_file

    path = tmp_path / ".env"
    path.write_text(
        'A="x" # comment\nB=\'single\'\nC="line\\nbreak"\nexport D=plain # note\nE=\n',
        encoding="utf-8",
    )
    values = read_env_file(path)
    assert values["A"] == "x"
    assert values["B"] == "single"
    assert values["C"] == "line\nbreak"
    assert values["D"] == "plain"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("retry:\n  max_attempts: " + "9" * 5000 + "\n", "digits"),
        ("retry:\n  max_attempts: " + "9" * 40 + "\n", "integer longer than"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nest"),
    ],
)
def test_hostile_sizes_are_configuration_errors_naming_the_file(
    text: str, named: str, tmp_path: Path
) -> None:
    path = _write(tmp_path, "yaml", text)
    error = _fail(path)
    assert str(path) in str(error) and named in str(error)


def test_json_nested_5000_deep_is_a_configuration_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "json", '{"a": ' + "[" * 5000 + "]" * 5000 + "}")
    error = _fail(path)
    assert str(path) in str(error) and "nested" in str(error)
