"""No API key ever leaks (project issue #4).

Distinctive keys are configured for OpenAI (from an environment variable) and
Anthropic (from ``api_keys`` in the config file, through ``${VAR}``). Every
error path is driven through ``bootstrap(...)`` - so the real use-cases,
retries and event logging run - with the real OpenAI and Anthropic adapters
talking to the local fake servers: 401, 429, 500, a read timeout, a malformed
body and a ChatJSON answer that never validates. Each time the keys must be
absent from:

* every structlog event (``capture_logs``) and, with structlog unconfigured,
  every stdlib log record the library falls back to (``caplog``, DEBUG level,
  so the SDKs' and httpx's own records are searched too);
* the raised exception's ``str``/``repr``/formatted traceback, including every
  chained ``__cause__``/``__context__``;
* the ``repr`` of settings, config, routes, connections, adapters and clients;
* everything the CLI prints for ``chat``, ``route``, ``doctor`` and ``models``.

Each scenario also checks that the key was really sent, so a pass is not vacuous.

A key the server quotes back is masked in the domain error AND in the chained
vendor exception (``adapters.http_errors.scrub_exception``), and a keyless
LiteLLM ``openai/`` gateway never receives the process's ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
import structlog
from pydantic import BaseModel, SecretStr
from structlog.testing import capture_logs

from inference_core import (
    AuthenticationError,
    Inference,
    InvalidResponse,
    LLMClient,
    OutputValidationError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimitError,
    bootstrap,
)
from inference_core.adapters.config.settings import InferenceSettings
from inference_core.adapters.telemetry.redaction import MASK
from inference_core.cli import main as cli_main
from inference_core.compat.registry import ModelConfig
from tests.servers import FakeServer, Fault, anthropic_error, openai_error
from tests.servers.state import malformed_fault

OPENAI_KEY = "sk-live-SECRET-9f8e7d6c5b4a"
ANTHROPIC_KEY = "sk-ant-live-SECRET-1a2b3c4d5e6f"
ANTHROPIC_KEY_VAR = "SECRETS_TEST_ANTHROPIC_KEY"
# The keys, and their distinctive tails (caught even if a prefix were trimmed off).
NEEDLES = (OPENAI_KEY, ANTHROPIC_KEY, "SECRET-9f8e7d6c5b4a", "SECRET-1a2b3c4d5e6f")
WRONG_KEY = "sk-the-key-the-server-expects-0000"
STALL = 2.0  # seconds the server stalls before answering a "timeout" request
ATTEMPT_TIMEOUT = 0.3


@dataclass(frozen=True)
class Provider:
    """One real adapter and what the fake server expects of it."""

    name: Literal["openai", "anthropic"]
    model: str
    key: str
    chat_path: str


OPENAI = Provider("openai", "gpt-4o-mini", OPENAI_KEY, "/v1/chat/completions")
ANTHROPIC = Provider("anthropic", "claude-3-5-haiku-latest", ANTHROPIC_KEY, "/v1/messages")
PROVIDERS = [pytest.param(OPENAI, id="openai"), pytest.param(ANTHROPIC, id="anthropic")]


# --------------------------------------------------------------------------- leak detection


def leaks(texts: Iterable[str]) -> list[str]:
    """Every text that contains a key (trimmed around the hit, for the failure message)."""
    found = []
    for text in texts:
        for needle in NEEDLES:
            at = text.find(needle)
            if at >= 0:
                found.append(f"{needle!r} in ...{text[max(at - 120, 0) : at + 60]!r}...")
    return found


def assert_no_leak(where: str, texts: Iterable[str]) -> None:
    found = leaks(texts)
    assert not found, f"API key leaked in {where}:\n" + "\n".join(found)


def exception_texts(exc: BaseException) -> Iterator[str]:
    """str/repr of the exception and of every exception chained to it, and the traceback."""
    yield "".join(traceback.format_exception(exc))  # renders the whole chain, as a log would
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(getattr(current, "args", ()))
        if type(current).__module__.startswith("inference_core"):
            yield repr(vars(current))  # our errors' fields: provider, raw_text, errors...
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        todo.extend(getattr(current, "exceptions", ()))


def record_texts(records: Iterable[logging.LogRecord]) -> Iterator[str]:
    formatter = logging.Formatter()
    for record in records:
        yield formatter.format(record)  # message + rendered exc_info / stack
        yield repr(vars(record))  # args and ``extra`` fields (the library's event dict)


@contextlib.contextmanager
def structlog_unconfigured() -> Iterator[None]:
    """Run with structlog unconfigured, so the library falls back to stdlib ``logging``."""
    if not structlog.is_configured():
        yield
        return
    saved = structlog.get_config()
    structlog.reset_defaults()
    try:
        yield
    finally:
        structlog.configure(**saved)


@contextlib.contextmanager
def captured(mode: str, caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    """Capture the library's events through structlog or its stdlib fallback; yield a reader."""
    caplog.set_level(logging.DEBUG)
    events: list[MutableMapping[str, Any]] = []
    with contextlib.ExitStack() as stack:
        if mode == "structlog":
            events = stack.enter_context(capture_logs())
        else:
            stack.enter_context(structlog_unconfigured())
        yield lambda: [repr(e) for e in events] + list(record_texts(caplog.records))
    if mode == "structlog":
        assert any(e["event"] == "inference.call" for e in events), "no event was captured"
    else:
        assert any("inference.call" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- wiring


class RecordingSleeper:
    """Records the waits the retry policy asks for instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(protocols=("openai", "anthropic")) as running:
        yield running


@pytest.fixture
def fake(server: FakeServer) -> Iterator[FakeServer]:
    server.reset()
    server.require_key(OPENAI_KEY, "openai")
    server.require_key(ANTHROPIC_KEY, "anthropic")
    yield server
    server.reset()


def config_text(server: FakeServer) -> str:
    return f"""\
default_model: {OPENAI.model}
api_keys:
  anthropic: ${{{ANTHROPIC_KEY_VAR}}}
routing:
  provider_base_url:
    openai: "{server.openai_base_url}"
    anthropic: "{server.base_url}"
retry: {{max_attempts: 2, initial_delay: 0.01, max_delay: 0.01, deadline: 60}}
timeouts: {{connect: 5, read: 30}}
"""


@pytest.fixture
def config_file(fake: FakeServer, tmp_path: Path) -> Path:
    path = tmp_path / "inference_runtime.yaml"
    path.write_text(config_text(fake), encoding="utf-8")
    return path


ENVIRON = {"OPENAI_API_KEY": OPENAI_KEY, ANTHROPIC_KEY_VAR: ANTHROPIC_KEY}


@pytest.fixture
async def wired(config_file: Path) -> AsyncIterator[tuple[Inference, RecordingSleeper]]:
    sleeper = RecordingSleeper()
    inference = bootstrap(config_path=config_file, environ=ENVIRON, sleeper=sleeper)
    try:
        yield inference, sleeper
    finally:
        await inference.aclose()


# --------------------------------------------------------------------------- error paths


@dataclass(frozen=True)
class Scenario:
    """One error path: how to provoke it, what it raises, how many attempts it takes.

    ``attempts`` is ``None`` where the retry policy's choice is not this test's business.
    """

    name: str
    error: type[Exception]
    attempts: int | None

    def arm(self, server: FakeServer, provider: Provider, *, stream: bool) -> None:
        path = provider.chat_path
        if self.name == "401":
            server.require_key(WRONG_KEY, provider.name)
        elif self.name == "429":
            server.fault(Fault(status=429, headers={"retry-after": "1"}, count=2, path=path))
        elif self.name == "500":
            server.fault(Fault(status=500, count=2, path=path))
        elif self.name == "timeout":
            server.fault(Fault(delay=STALL, count=2, path=path))
        elif self.name == "malformed":
            broken = malformed_fault(path, {"stream": stream})
            server.fault(Fault(raw_body=broken.raw_body, content_type=broken.content_type,
                               count=2, path=path))  # fmt: skip
        else:
            raise AssertionError(self.name)


SCENARIOS = [
    pytest.param(Scenario("401", AuthenticationError, 1), id="401"),
    pytest.param(Scenario("429", RateLimitError, 2), id="429"),
    pytest.param(Scenario("500", ProviderUnavailable, 2), id="500"),
    pytest.param(Scenario("timeout", ProviderTimeout, 2), id="timeout"),
    pytest.param(Scenario("malformed", InvalidResponse, None), id="malformed"),
]


async def call(
    inference: Inference, provider: Provider, *, stream: bool, attempt_timeout: float
) -> None:
    args: dict[str, Any] = {"user": "Hello there", "model": provider.model, "max_tokens": 16}
    if stream:
        async for _ in inference.stream_chat(**args, attempt_timeout=attempt_timeout):
            pass
    else:
        await inference.chat_text(**args, attempt_timeout=attempt_timeout)


def sent_key(headers: dict[str, str]) -> str | None:
    # The Anthropic SDK may send x-api-key or a bearer token; the fake server takes both.
    bearer = headers.get("authorization", "").removeprefix("Bearer ")
    return headers.get("x-api-key") or bearer or None


def assert_keys_were_sent(server: FakeServer, provider: Provider) -> None:
    sent = [sent_key(r.headers) for r in server.requests_for(provider.chat_path)]
    assert sent and all(key == provider.key for key in sent), sent


@pytest.mark.parametrize("log_mode", ["structlog", "stdlib"])
@pytest.mark.parametrize("stream", [False, True], ids=["text", "stream"])
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_error_paths_never_show_the_key(
    wired: tuple[Inference, RecordingSleeper],
    fake: FakeServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    provider: Provider,
    scenario: Scenario,
    stream: bool,
    log_mode: str,
) -> None:
    inference, sleeper = wired
    scenario.arm(fake, provider, stream=stream)
    timeout = ATTEMPT_TIMEOUT if scenario.name == "timeout" else 30.0

    with captured(log_mode, caplog) as logged, pytest.raises(scenario.error) as raised:
        await call(inference, provider, stream=stream, attempt_timeout=timeout)

    assert_keys_were_sent(fake, provider)
    total = inference.ledger.total
    assert total.errors == total.attempts >= 1
    assert total.attempts == (scenario.attempts or total.attempts)
    assert len(sleeper.delays) == total.attempts - 1  # the retry owner waited between attempts
    assert_no_leak("log output", logged())
    assert_no_leak("the exception chain", exception_texts(raised.value))
    out, err = capsys.readouterr()
    assert_no_leak("stdout/stderr", [out, err])


class Scene(BaseModel):
    title: str
    mood: str


@pytest.mark.parametrize("log_mode", ["structlog", "stdlib"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_json_validation_failure_never_shows_the_key(
    wired: tuple[Inference, RecordingSleeper],
    fake: FakeServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    provider: Provider,
    log_mode: str,
) -> None:
    inference, _ = wired
    for _ in range(2):
        fake.reply("Sorry, I would rather answer in prose.")

    with captured(log_mode, caplog) as logged, pytest.raises(OutputValidationError) as raised:
        await inference.chat_json(schema=Scene, user="A scene, please", model=provider.model,
                                  max_repairs=1)  # fmt: skip

    assert raised.value.raw_text == "Sorry, I would rather answer in prose."
    assert len(raised.value.errors) == 2
    assert_keys_were_sent(fake, provider)
    assert_no_leak("log output", logged())
    assert_no_leak("the exception chain", exception_texts(raised.value))
    assert_no_leak("stdout/stderr", capsys.readouterr())


def echoing_401(provider: Provider) -> Fault:
    """A 401 whose body quotes the key back, as some gateways do."""
    if provider.name == "anthropic":
        body = anthropic_error("authentication_error", f"invalid x-api-key: {provider.key}")
    else:
        body = openai_error(f"Incorrect API key provided: {provider.key}.", code="invalid_api_key")
    return Fault(status=401, body=body, path=provider.chat_path)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_key_quoted_back_by_the_server_is_masked(
    wired: tuple[Inference, RecordingSleeper],
    fake: FakeServer,
    provider: Provider,
) -> None:
    inference, _ = wired
    fake.fault(echoing_401(provider))

    with capture_logs() as events, pytest.raises(AuthenticationError) as raised:
        await inference.chat_text(user="Hello there", model=provider.model)

    assert_keys_were_sent(fake, provider)
    error = raised.value
    assert MASK in str(error)  # the provider's text is kept, the key is not (one mask)
    assert_no_leak("log events", [repr(e) for e in events])
    assert_no_leak("the domain error", [str(error), repr(error), repr(vars(error))])


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_key_quoted_back_by_the_server_stays_out_of_chained_errors(
    wired: tuple[Inference, RecordingSleeper],
    fake: FakeServer,
    provider: Provider,
) -> None:
    inference, _ = wired
    fake.fault(echoing_401(provider))

    with pytest.raises(AuthenticationError) as raised:
        await inference.chat_text(user="Hello there", model=provider.model)

    assert_keys_were_sent(fake, provider)
    assert_no_leak("the exception chain", exception_texts(raised.value))


@pytest.mark.filterwarnings(
    "ignore:Item '.*' on TypedDict class '.*' is using the `ReadOnly`:UserWarning"
)
@pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211:litellm")
async def test_a_keyless_litellm_gateway_never_receives_the_process_openai_key(
    fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)  # in the shell, meant for api.openai.com
    fake.require_key(None, "openai")
    path = tmp_path / "gateway.yaml"
    path.write_text(
        f"""\
models:
  gateway-model: {{provider: gateway, wire_id: openai/{OPENAI.model}}}
routing:
  provider_client: {{gateway: litellm}}
  provider_key_env: {{gateway: null}}
  provider_base_url: {{gateway: "{fake.openai_base_url}"}}
""",
        encoding="utf-8",
    )
    inference = bootstrap(config_path=path, environ={})  # the library itself sees no key
    try:
        result = await inference.chat_text(user="Hello there", model="gateway-model")
    finally:
        await inference.aclose()

    assert result.text == "Echo: Hello there"
    sent = [r.headers.get("authorization", "") for r in fake.requests_for(OPENAI.chat_path)]
    assert_no_leak("the headers sent to a keyless gateway", sent)


# --------------------------------------------------------------------------- object reprs


async def test_no_repr_shows_the_key(
    wired: tuple[Inference, RecordingSleeper], monkeypatch: pytest.MonkeyPatch
) -> None:
    inference, _ = wired
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    texts = [
        repr(InferenceSettings()),
        repr(inference),
        repr(inference.config),
        str(inference.config),
        inference.config.model_dump_json(),
        repr(inference.config.api_keys),
        repr(inference.router),
        repr(inference.redactor),
        repr(inference.ledger),
        repr(ModelConfig(model=OPENAI.model, api_key=SecretStr(OPENAI_KEY))),
        repr(LLMClient(inference=inference)),
    ]
    for provider in (OPENAI, ANTHROPIC):
        route = inference.route(provider.model)
        connection = inference.router.connection(route)
        assert connection.api_key is not None
        assert connection.api_key.get_secret_value() == provider.key  # the key is in play
        resolved = inference.router.resolve(provider.model)
        adapter = resolved.chat_model
        texts += [
            repr(route),
            repr(connection),
            str(connection),
            connection.model_dump_json(),
            repr(connection.model_dump()),
            repr(connection.cache_key()),
            repr(resolved),
            repr(adapter),
            str(adapter),
            repr(getattr(adapter, "_client", None)),  # the vendor SDK client it owns
        ]
    assert_no_leak("an object repr", texts)


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_env(config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI reads the process environment: give it the keys and nothing else of ours."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv(ANTHROPIC_KEY_VAR, ANTHROPIC_KEY)
    for name in ("INFERENCE_DEFAULT_MODEL", "INFERENCE_RUNTIME_CONFIG", "OPENAI_BASE_URL",
                 "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is found upward
    return config_file


@pytest.mark.parametrize("output", ["human", "json"])
def test_cli_output_never_shows_the_key(
    cli_env: Path,
    fake: FakeServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    output: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    base = ["--config", str(cli_env), "--output", output]
    printed: list[str] = []

    def run(*argv: str, expect: int = 0) -> None:
        code = cli_main([*base, *argv])
        out, err = capsys.readouterr()
        printed.extend([out, err])
        assert code == expect, (argv, out, err)

    for model in (OPENAI.model, ANTHROPIC.model):
        run("chat", "--no-stream", "--model", model, "Hello there")
        run("chat", "--stream", "--model", model, "Hello there")
        run("route", model)
        fake.reply("not JSON at all")
        fake.reply("still not JSON")
        fake.reply("never JSON")
        run("chat", "--json", "--model", model, "A scene", expect=1)
    run("doctor")
    run("models")
    run("models", "--provider", "anthropic")
    assert_keys_were_sent(fake, OPENAI)
    assert_keys_were_sent(fake, ANTHROPIC)

    # Failures, with --debug tracebacks (which render chained vendor exceptions).
    fake.require_key(WRONG_KEY)
    for model in (OPENAI.model, ANTHROPIC.model):
        run("--debug", "chat", "--no-stream", "--model", model, "Hello", expect=1)
    fake.require_key(None)
    fake.fault(Fault(status=500, count=2, path=OPENAI.chat_path))
    run("--debug", "chat", "--no-stream", "--model", OPENAI.model, "Hello", expect=1)

    assert "configured" in "".join(printed)  # key status is shown, never the key
    assert_no_leak("CLI output", printed)
    assert_no_leak("log records", record_texts(caplog.records))
    assert_no_leak("LLMClient repr", [repr(LLMClient(config_path=str(cli_env)))])


def _every_attribute(exc: BaseException) -> Iterator[str]:
    """Every attribute of every exception in the chain, vendor ones included."""
    from inference_core.adapters.http_errors import exception_chain

    for current in exception_chain(exc):
        yield repr(current.args)
        for name, value in vars(current).items():
            if not name.startswith("__"):
                yield f"{type(current).__name__}.{name}={value!r}"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_another_configured_key_echoed_by_a_server_is_masked_everywhere(
    wired: tuple[Inference, RecordingSleeper],
    fake: FakeServer,
    provider: Provider,
) -> None:
    # The server quotes the OTHER provider's key (a shared gateway), in the message and,
    # for OpenAI, in the type/param/code fields the SDK copies onto its exception.
    other = ANTHROPIC_KEY if provider.name == "openai" else OPENAI_KEY
    if provider.name == "anthropic":
        body = anthropic_error("authentication_error", f"key {other} is not for this project")
    else:
        body = openai_error(f"key {other} is not valid", type_=other, param=other, code=other)
    inference, _ = wired
    fake.fault(Fault(status=401, body=body, path=provider.chat_path))

    with pytest.raises(AuthenticationError) as raised:
        await inference.chat_text(user="Hello there", model=provider.model)

    assert_no_leak("the exception chain", exception_texts(raised.value))
    assert_no_leak("exception attributes", _every_attribute(raised.value))
