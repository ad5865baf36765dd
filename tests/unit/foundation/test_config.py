"""Runtime config loading: discovery, substitution, .env precedence and every error case."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inference_core import FakeChatModel, bootstrap
from inference_core.adapters.config import load_runtime, read_env_file, substitute_env
from inference_core.domain.catalog import JSONOutput
from inference_core.domain.errors import ConfigurationError, MissingAPIKeyError
from inference_core.domain.routing import ClientPath


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_defaults(tmp_path: Path) -> None:
    loaded = load_runtime(environ={}, start=tmp_path)
    assert loaded.path is None
    assert loaded.config.retry.max_attempts == 3


def test_found_by_searching_upward(tmp_path: Path) -> None:
    cfg = write(tmp_path / "inference_runtime.yaml", "default_model: gpt-4o\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    loaded = load_runtime(environ={}, start=nested)
    assert loaded.path == cfg
    assert loaded.config.default_model == "gpt-4o"
    assert loaded.config.source == str(cfg)


def test_yml_and_json_variants(tmp_path: Path) -> None:
    write(tmp_path / "y" / "inference_runtime.yml", "default_model: a\n")
    write(tmp_path / "j" / "inference_runtime.json", '{"default_model": "b"}')
    assert load_runtime(environ={}, start=tmp_path / "y").config.default_model == "a"
    assert load_runtime(environ={}, start=tmp_path / "j").config.default_model == "b"


def test_env_var_names_the_file(tmp_path: Path) -> None:
    cfg = write(tmp_path / "elsewhere.yaml", "default_model: claude-3-haiku-20240307\n")
    env = {"INFERENCE_RUNTIME_CONFIG": str(cfg)}
    assert (
        load_runtime(environ=env, start=tmp_path).config.default_model == "claude-3-haiku-20240307"
    )


def test_env_var_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"INFERENCE_RUNTIME_CONFIG=.*no such file"):
        load_runtime(
            environ={"INFERENCE_RUNTIME_CONFIG": str(tmp_path / "nope.yaml")}, start=tmp_path
        )


def test_every_seed_key_and_the_additions_load(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "inference_runtime.yaml",
        """
default_model: "gpt-3.5-turbo"
api_keys:
  openai: "${OPENAI_API_KEY}"
  anthropic: "${ANTHROPIC_API_KEY}"
custom_endpoints:
  ollama:
    base_url: "http://localhost:11434"
model_configs:
  gpt-4:
    temperature: 0.7
    max_tokens: 4096
routing:
  default_provider: openai
  model_provider:
    gpt-4o: cfgateway
  provider_client:
    cfgateway: openai_sdk
  provider_key_env:
    cfgateway: CF_AIG_TOKEN
  provider_base_url_env:
    cfgateway: CF_AIG_BASE_URL
  provider_default_headers:
    cfgateway:
      cf-aig-metadata: '{"run": "${RUN_ID:-local}"}'
fallbacks:
  gpt-4o: [claude-3-5-sonnet-20241022]
retry:
  max_attempts: 4
  deadline: 30
timeouts:
  read: 30
generators:
  image:
    default: openrouter_image_generator
models:
  llamacpp-gemma:
    provider: llamacpp
    capabilities:
      json_output: json_object_with_schema
      stream_usage: false
    context_window: 8192
""",
    )
    loaded = load_runtime(cfg, environ={"OPENAI_API_KEY": "sk-test-1"})
    c = loaded.config
    assert c.api_keys["openai"].value is not None
    assert c.api_keys["openai"].value.get_secret_value() == "sk-test-1"
    assert c.api_keys["anthropic"].value is None
    assert c.api_keys["anthropic"].env_var == "ANTHROPIC_API_KEY"
    assert c.routing_table().provider_base_url == {"ollama": "http://localhost:11434"}
    assert c.routing.provider_client["cfgateway"] == ClientPath.OPENAI_SDK
    assert c.routing.provider_default_headers["cfgateway"] == {
        "cf-aig-metadata": '{"run": "local"}'
    }
    assert c.model_configs["gpt-4"].max_tokens == 4096
    assert c.fallbacks == {"gpt-4o": ("claude-3-5-sonnet-20241022",)}
    assert (c.retry.max_attempts, c.retry.deadline, c.timeouts.read) == (4, 30, 30)
    spec = c.models["llamacpp-gemma"]
    assert spec.id == "llamacpp-gemma"
    assert spec.capabilities.json_output is JSONOutput.JSON_OBJECT_WITH_SCHEMA
    assert spec.capabilities.stream_usage is False


def test_custom_models_merge_into_the_catalog_and_route(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "inference_runtime.yaml",
        """
models:
  house-llm:
    provider: house
    capabilities: {json_output: none}
routing:
  provider_client: {house: openai_sdk}
  provider_key_env: {house: null}
  provider_base_url: {house: "http://127.0.0.1:9999/v1"}
""",
    )
    inference = bootstrap(config_path=cfg, environ={}, chat_model=FakeChatModel())
    assert "house-llm" in inference.catalog
    r = inference.route("house-llm")
    assert (r.provider, r.client, r.base_url, r.key_env) == (
        "house",
        ClientPath.OPENAI_SDK,
        "http://127.0.0.1:9999/v1",
        None,
    )


def _error_for(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    cfg = write(tmp_path / "inference_runtime.yaml", text)
    with pytest.raises(ConfigurationError) as info:
        load_runtime(cfg, environ=env or {})
    message = str(info.value)
    assert str(cfg) in message, message  # every error names the file
    return message


def test_unknown_key_gets_did_you_mean(tmp_path: Path) -> None:
    message = _error_for(tmp_path, "defualt_model: gpt-4o\n")
    assert "defualt_model: unknown key; did you mean 'default_model'?" in message


def test_unknown_nested_key_names_its_path(tmp_path: Path) -> None:
    message = _error_for(tmp_path, "routing:\n  model_providers: {a: b}\n")
    assert "routing.model_providers: unknown key; did you mean 'model_provider'?" in message
    message = _error_for(tmp_path, "retry:\n  max_attempt: 3\n")
    assert "retry.max_attempt: unknown key; did you mean 'max_attempts'?" in message


def test_wrong_type_names_the_key(tmp_path: Path) -> None:
    message = _error_for(tmp_path, "retry:\n  max_attempts: lots\n")
    assert "retry.max_attempts" in message and "integer" in message
    message = _error_for(tmp_path, "routing:\n  provider_client: {openai: carrier_pigeon}\n")
    assert "routing.provider_client.openai" in message


def test_unset_variable_without_default(tmp_path: Path) -> None:
    message = _error_for(
        tmp_path, "routing:\n  provider_default_headers:\n    gw: {x-team: '${TEAM_ID}'}\n"
    )
    assert "routing.provider_default_headers.gw.x-team" in message
    assert "TEAM_ID is not set" in message


def test_malformed_yaml_reports_line_and_column(tmp_path: Path) -> None:
    message = _error_for(tmp_path, "default_model: gpt-4o\nrouting: [unclosed\n")
    assert "inference_runtime.yaml:3:" in message or "inference_runtime.yaml:2:" in message
    assert "invalid YAML" in message


def test_malformed_json_reports_line(tmp_path: Path) -> None:
    cfg = write(tmp_path / "inference_runtime.json", '{"default_model": }')
    with pytest.raises(ConfigurationError, match=r"inference_runtime\.json:1:\d+: invalid JSON"):
        load_runtime(cfg, environ={})


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "top level must be a mapping" in _error_for(tmp_path, "- a\n- b\n")


def test_yaml_aliases_are_rejected(tmp_path: Path) -> None:
    laughs = 'a: &a ["lol","lol"]\nb: &b [*a,*a]\nc: [*b,*b]\n'
    message = _error_for(tmp_path, laughs)
    assert "aliases" in message


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    message = _error_for(tmp_path, "# " + "x" * 1_100_000 + "\n")
    assert "larger than" in message


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such config file"):
        load_runtime(tmp_path / "absent.yaml", environ={})


def test_unset_api_key_fails_only_when_the_provider_is_used(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "inference_runtime.yaml",
        'api_keys:\n  anthropic: "${MY_CLAUDE_KEY}"\ndefault_model: gpt-4o\n',
    )
    inference = bootstrap(
        config_path=cfg,
        environ={"OPENAI_API_KEY": "sk-openai"},
        chat_model_factory=lambda connection: FakeChatModel(),
    )
    inference.router.resolve("gpt-4o")  # openai has a key: fine
    with pytest.raises(MissingAPIKeyError) as info:
        inference.router.resolve("claude-3-haiku-20240307")
    message = str(info.value)
    assert "MY_CLAUDE_KEY" in message
    assert f"api_keys.anthropic in {cfg}" in message
    assert info.value.provider == "anthropic"


def test_missing_key_without_config_names_the_default_env_var(tmp_path: Path) -> None:
    inference = bootstrap(
        environ={},
        config_path=write(tmp_path / "c.yaml", "{}\n"),
        chat_model_factory=lambda c: FakeChatModel(),
    )
    with pytest.raises(MissingAPIKeyError, match="set OPENAI_API_KEY"):
        inference.router.resolve("gpt-4o")


def test_dotenv_fills_missing_variables_without_overriding(tmp_path: Path) -> None:
    write(tmp_path / ".env", "# comment\nexport A=from_dotenv\nB='quoted value'\nC=from_dotenv\n")
    write(
        tmp_path / "inference_runtime.yaml",
        "routing:\n  provider_default_headers:\n    p: {a: '${A}', b: '${B}', c: '${C}'}\n",
    )
    loaded = load_runtime(environ={"C": "from_process"}, start=tmp_path)
    assert loaded.config.routing.provider_default_headers["p"] == {
        "a": "from_dotenv",
        "b": "quoted value",
        "c": "from_process",
    }
    assert loaded.env_file == tmp_path / ".env"


def test_dotenv_syntax_error_names_the_line(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", "GOOD=1\nthis is not an assignment\n")
    with pytest.raises(ConfigurationError, match=r"\.env:2: expected KEY=value"):
        read_env_file(env_file)


def test_loading_never_changes_os_environ(tmp_path: Path) -> None:
    write(tmp_path / ".env", "INFERENCE_CORE_TEST_DOTENV_ONLY=1\n")
    cfg = write(
        tmp_path / "inference_runtime.yaml",
        'api_keys:\n  openai: "sk-literal-key-in-yaml"\n'
        '  anthropic: "${INFERENCE_CORE_TEST_DOTENV_ONLY}"\n',
    )
    before = dict(os.environ)
    inference = bootstrap(config_path=cfg, chat_model_factory=lambda c: FakeChatModel())
    inference.router.resolve("gpt-4o")
    load_runtime(start=tmp_path)
    assert dict(os.environ) == before
    assert "INFERENCE_CORE_TEST_DOTENV_ONLY" not in os.environ


def test_escaped_dollar_is_literal() -> None:
    assert substitute_env("cost: $${PRICE}", {"PRICE": "9"}, source="s") == "cost: ${PRICE}"


def test_empty_variable_counts_as_unset() -> None:
    assert substitute_env("${X:-fallback}", {"X": ""}, source="s") == "fallback"


_NAME = st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True)
_TEXT = st.text(alphabet=st.characters(blacklist_characters="$"), max_size=20)


@given(st.dictionaries(_NAME, _TEXT.filter(bool), max_size=5), _TEXT, _TEXT)
def test_substitution_replaces_every_set_variable(
    env: dict[str, str], head: str, tail: str
) -> None:
    for name, value in env.items():
        assert substitute_env(f"{head}${{{name}}}{tail}", env, source="s") == f"{head}{value}{tail}"


@given(_NAME, _TEXT, _TEXT)
def test_substitution_uses_defaults_only_when_unset(name: str, default: str, value: str) -> None:
    default = default.replace("}", "")
    template = f"${{{name}:-{default}}}"
    assert substitute_env(template, {}, source="s") == default
    if value:
        assert substitute_env(template, {name: value}, source="s") == value


@given(_TEXT)
def test_text_without_variables_is_unchanged(text: str) -> None:
    assert substitute_env(text, {}, source="s") == text


def test_comment_only_section_is_treated_as_absent(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "inference_runtime.yaml", "routing:\n  # default_provider: openai\nretry:\n"
    )
    assert load_runtime(cfg, environ={}).config.routing.default_provider is None


def test_repository_example_config_is_valid_with_no_keys() -> None:
    example = Path(__file__).resolve().parents[3] / "inference_runtime.yaml"
    config = load_runtime(example, environ={}).config
    assert config.default_model == "local/gemma-3-270m"
    assert config.api_keys["openai"].value is None


def test_embedded_model_is_the_default_when_nothing_names_one(tmp_path: Path) -> None:
    from inference_core.adapters.llama_cpp import embedded_default

    cfg = write(tmp_path / "inference_runtime.yaml", "{}\n")
    inference = bootstrap(config_path=cfg, environ={}, chat_model=FakeChatModel())
    assert inference.default_model == embedded_default()  # the local extra is a dev dependency
    assert inference.default_model == "local/gemma-3-270m"


def test_no_default_model_error_says_what_to_set_or_install() -> None:
    from inference_core.composition import ConfiguredModelRouter
    from inference_core.domain.catalog import builtin_catalog
    from inference_core.domain.config import RuntimeConfig

    router = ConfiguredModelRouter(RuntimeConfig(), builtin_catalog(), {}, default_model=None)
    with pytest.raises(ConfigurationError) as info:
        router.route(None)
    message = str(info.value)
    assert "INFERENCE_DEFAULT_MODEL" in message
    assert "pip install 'inference-core[local]'" in message


def test_a_yaml_syntax_error_keeps_pyyamls_context_and_its_position(tmp_path: Path) -> None:
    message = _error_for(tmp_path, 'default_model: "gpt-4o\nretry:\n  max_attempts: 3\n')
    assert "invalid YAML: found unexpected end of stream" in message
    assert "while scanning a quoted scalar at line 1, column 16" in message


def test_a_yaml_syntax_error_never_quotes_the_offending_line(tmp_path: Path) -> None:
    secret = "sk-live-DO-NOT-PRINT-0123456789"
    message = _error_for(tmp_path, f'api_keys:\n  openai: "{secret}\n')
    assert secret not in message


def test_the_c_loader_is_used_when_pyyaml_has_it() -> None:
    import yaml

    from inference_core.adapters.config import loader

    expected = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    assert loader._SafeLoader is expected


def test_a_scalar_alias_is_rejected_too(tmp_path: Path) -> None:
    message = _error_for(tmp_path, "default_model: &m gpt-4o\nfallbacks:\n  gpt-4o: [*m]\n")
    assert "aliases" in message and "inference_runtime.yaml:1:" in message


def _shipped_keyless_example() -> str:
    text = (Path(__file__).resolve().parents[3] / "inference_runtime.yaml").read_text()
    block = text.split("# --- example: keyless OpenAI-compatible server ---\n", 1)[1]
    block = block.split("# --- end of example ---", 1)[0]
    return "\n".join(line.removeprefix("# ") for line in block.splitlines()) + "\n"


def test_the_shipped_keyless_server_example_routes_to_the_wire_path_with_no_key(
    tmp_path: Path,
) -> None:
    cfg = write(tmp_path / "inference_runtime.yaml", _shipped_keyless_example())
    inference = bootstrap(config_path=cfg, environ={})
    route = inference.route("my-llama")
    assert route.client == ClientPath.OPENAI_HTTP
    assert route.key_env is None
    assert inference.router.key_status(route) == "not needed"
    assert route.api_model == "meta-llama/Llama-3.1-8B-Instruct"
    assert inference.router.connection(route).base_url == "http://127.0.0.1:8000/v1"


def test_an_explicit_environ_is_read_with_the_settings_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("FROM_DOTENV=1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    honoured = bootstrap(environ={"INFERENCE_READ_DOTENV": "false"})
    assert honoured.env_file is None and "FROM_DOTENV" not in honoured.router.env
    default = bootstrap(environ={"INFERENCE_DEFAULT_MODEL": "gpt-4o"})
    assert default.env_file == tmp_path / ".env" and default.router.env["FROM_DOTENV"] == "1"
    assert default.default_model == "gpt-4o"
