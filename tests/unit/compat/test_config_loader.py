"""Seed ConfigLoader: ${VAR} substitution, upward search, .env values (os.environ untouched)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inference_core.compat.config_loader import ConfigLoader
from inference_core.domain.errors import ConfigurationError

SEED_YAML = """\
default_model: "gpt-3.5-turbo"
api_keys:
  openai: "${OPENAI_API_KEY}"
  anthropic: "${ANTHROPIC_API_KEY}"
custom_endpoints:
  ollama:
    base_url: "${OLLAMA_BASE_URL:-http://localhost:11434}"
model_configs:
  gpt-4:
    temperature: 0.7
    max_tokens: 4096
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_config_file_loads_with_substitution(tmp_path: Path) -> None:
    config = write(tmp_path / "config" / "inference_config.yaml", SEED_YAML)
    data = ConfigLoader.load(config, environ={"OPENAI_API_KEY": "sk-test"})
    assert data == {
        "default_model": "gpt-3.5-turbo",
        # An unset key variable means "no key", as in the runtime config.
        "api_keys": {"openai": "sk-test", "anthropic": None},
        "custom_endpoints": {"ollama": {"base_url": "http://localhost:11434"}},
        "model_configs": {"gpt-4": {"temperature": 0.7, "max_tokens": 4096}},
    }


def test_without_substitution_references_stay(tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", SEED_YAML)
    data = ConfigLoader.load(str(config), substitute_env=False, environ={})
    assert data["api_keys"]["openai"] == "${OPENAI_API_KEY}"


def test_json_files_load_too(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", json.dumps({"default_model": "${M:-gpt-4o}", "n": [1]}))
    assert ConfigLoader.load(config, environ={}) == {"default_model": "gpt-4o", "n": [1]}
    assert ConfigLoader.load(config, environ={"M": "claude"})["default_model"] == "claude"


def test_empty_file_is_an_empty_mapping(tmp_path: Path) -> None:
    assert ConfigLoader.load(write(tmp_path / "c.yaml", ""), environ={}) == {}


def test_unset_variable_outside_api_keys_names_file_and_key(tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", "routing:\n  provider_base_url_env:\n    x: ${NOPE}\n")
    with pytest.raises(ConfigurationError) as caught:
        ConfigLoader.load(config, environ={})
    message = str(caught.value)
    assert str(config) in message
    assert "routing.provider_base_url_env.x" in message
    assert "NOPE" in message


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.yaml", "a: [1, 2\n", ":2:1: invalid YAML"),
        ("bad.json", '{"a": }', ":1:7: invalid JSON"),
        ("list.yaml", "- 1\n- 2\n", "top level must be a mapping"),
        ("alias.yaml", "a: &x 1\nb: *x\n", "aliases"),
    ],
)
def test_malformed_files_name_the_problem(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    config = write(tmp_path / name, text)
    with pytest.raises(ConfigurationError, match=expected) as caught:
        ConfigLoader.load(config, environ={})
    assert str(config) in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such config file"):
        ConfigLoader.load(tmp_path / "absent.yaml")


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    config = write(tmp_path / "big.yaml", "a: " + "x" * 1_000_001 + "\n")
    with pytest.raises(ConfigurationError, match="refusing to parse"):
        ConfigLoader.load(config, environ={})


def test_find_file_upwards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = write(tmp_path / "inference_runtime.yaml", "{}\n")
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert ConfigLoader.find_file_upwards("inference_runtime.yaml", deep) == target.resolve()
    assert ConfigLoader.find_file_upwards(["nope.yml", "inference_runtime.yaml"], str(deep)) == (
        target.resolve()
    )
    assert ConfigLoader.find_file_upwards("does-not-exist-anywhere.cfg", deep) is None
    monkeypatch.chdir(deep)
    assert ConfigLoader.find_file_upwards("inference_runtime.yaml") == target.resolve()


def test_load_env_file_returns_values_and_leaves_environ_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IC_TEST_ONLY_IN_FILE", raising=False)
    env_file = write(
        tmp_path / ".env",
        "# comment\nIC_TEST_ONLY_IN_FILE=from-file\nexport QUOTED='a b'\nHASH=x # note\n",
    )
    before = dict(os.environ)
    values = ConfigLoader.load_env_file(env_file)
    assert values == {"IC_TEST_ONLY_IN_FILE": "from-file", "QUOTED": "a b", "HASH": "x"}
    assert dict(os.environ) == before

    deep = tmp_path / "sub"
    deep.mkdir()
    monkeypatch.chdir(deep)
    assert ConfigLoader.load_env_file() == values


def test_load_env_file_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    if ConfigLoader.find_file_upwards(".env") is None:
        assert ConfigLoader.load_env_file() == {}
    with pytest.raises(ConfigurationError, match=r"no such \.env file"):
        ConfigLoader.load_env_file(tmp_path / "missing.env")


def test_malformed_env_file_names_the_line(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", "GOOD=1\nthis is not an assignment\n")
    with pytest.raises(ConfigurationError, match=r"\.env:2: expected KEY=value"):
        ConfigLoader.load_env_file(env_file)


def test_environment_prefers_process_values_over_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / ".env", "IC_TEST_BOTH=file\nIC_TEST_FILE_ONLY=file\n")
    monkeypatch.setenv("IC_TEST_BOTH", "process")
    monkeypatch.delenv("IC_TEST_FILE_ONLY", raising=False)
    env = ConfigLoader.environment(start=tmp_path)
    assert env["IC_TEST_BOTH"] == "process"
    assert env["IC_TEST_FILE_ONLY"] == "file"
    assert "IC_TEST_FILE_ONLY" not in os.environ
    assert "IC_TEST_FILE_ONLY" not in ConfigLoader.environment(read_dotenv=False, start=tmp_path)


def test_load_substitutes_from_process_and_dotenv_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / ".env", "IC_TEST_MODEL=from-dotenv\n")
    config = write(tmp_path / "c.yaml", "default_model: ${IC_TEST_MODEL}\nother: ${IC_TEST_P}\n")
    monkeypatch.delenv("IC_TEST_MODEL", raising=False)
    monkeypatch.setenv("IC_TEST_P", "from-process")
    monkeypatch.chdir(tmp_path)
    assert ConfigLoader.load(config) == {
        "default_model": "from-dotenv",
        "other": "from-process",
    }
    with pytest.raises(ConfigurationError, match="IC_TEST_MODEL"):
        ConfigLoader.load(config, read_dotenv=False)


def test_load_runtime_config_validates(tmp_path: Path) -> None:
    config = write(tmp_path / "inference_runtime.yaml", SEED_YAML)
    runtime = ConfigLoader.load_runtime_config(config, environ={"OPENAI_API_KEY": "sk-x"})
    assert runtime.default_model == "gpt-3.5-turbo"
    assert runtime.model_configs["gpt-4"].max_tokens == 4096
    assert runtime.api_keys["anthropic"].value is None
    assert runtime.api_keys["anthropic"].env_var == "ANTHROPIC_API_KEY"
    bad = write(tmp_path / "bad.yaml", "default_modle: x\n")
    with pytest.raises(ConfigurationError, match="did you mean 'default_model'"):
        ConfigLoader.load_runtime_config(bad, environ={})


_names = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True)
# "}" ends a reference and the loader's ${VAR:-default} does not span lines.
_values = st.text(st.characters(blacklist_characters="$}\n\x00", codec="utf-8"), max_size=20)


@given(env=st.dictionaries(_names, _values.filter(bool), max_size=5), default=_values)
def test_every_reference_is_replaced(env: dict[str, str], default: str) -> None:
    names = sorted(env)
    data = {"refs": [f"${{{n}}}" for n in names], "fallback": f"${{IC_UNSET_X:-{default}}}"}
    text = json.dumps(data)
    with tempfile.TemporaryDirectory() as directory:
        config = write(Path(directory) / "c.json", text)
        loaded = ConfigLoader.load(config, environ=env)
    assert loaded["refs"] == [env[n] for n in names]
    assert loaded["fallback"] == default
