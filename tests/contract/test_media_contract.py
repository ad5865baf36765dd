"""THE MediaGenerator contract: every media generator (wire, offline, fake) passes every case.

Each row of :mod:`tests.contract.media_rows` is one generator. Cases run it
through the real use-case - :class:`~inference_core.application.GenerateMedia`
over a :class:`PluginGeneratorRegistry`, a :class:`FilesystemAssetStore` in a
fresh directory, the :class:`AVMediaProbe` and a recording sleeper - and
assert on what came back, on the files on disk (decoded and measured here,
independently of the probe) and, for wire rows, on what reached the local
fake server. A case a row cannot express is skipped with the row's reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import jsonschema
import pytest
from PIL import Image
from pydantic import BaseModel, ValidationError

from inference_core.adapters.media.probe import AVMediaProbe
from inference_core.adapters.media.registry import PluginGeneratorRegistry
from inference_core.adapters.storage import FilesystemAssetStore
from inference_core.application import GenerateMedia
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import (
    ContentFiltered,
    InvalidGeneratorInput,
    InvalidResponse,
    MediaTooLarge,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    UnexpectedMediaType,
)
from inference_core.domain.media import GeneratedMedia, MediaKind, MediaUsage, kind_of_mime
from inference_core.ports.media import MediaGenerator
from tests.contract.media_rows import ROWS, MediaRow, RecordingSleeper
from tests.contract.media_rows_queued import QUEUED_ROWS
from tests.servers import FakeServer, Fault
from tests.servers.fixtures import fake_server
from tests.servers.media_proto import media_script

__all__ = ["fake_server"]  # the pytest fixture used below

RETRY = RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.02)
#: The Retry-After a 429 carries; the use-case must wait exactly this long.
RETRY_AFTER_S = 3.0
#: Per-attempt timeout option of the timeout case, and how long the server stalls.
ATTEMPT_TIMEOUT_S = 0.3
STALL_S = 2.0
#: The max_output_bytes option of the oversized case, and the padding the server adds.
OUTPUT_CAP = 100_000
PADDING = 200_000
#: The store's own cap in the store-cap case: smaller than any real media file.
STORE_CAP = 32


@pytest.fixture(params=[pytest.param(row, id=row.name) for row in (*ROWS, *QUEUED_ROWS)])
def media_row(request: pytest.FixtureRequest, fake_server: FakeServer) -> Iterator[MediaRow]:
    """One row, attached to the freshly reset session server (media script cleared)."""
    row: MediaRow = request.param
    reason = row.limitation(request.node.name)
    if reason is not None:
        # A documented bug of this row: run it anyway, and notice when it is fixed.
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    media_script(fake_server).clear()
    row.attach(fake_server)
    try:
        yield row
    finally:
        row.detach()
        media_script(fake_server).clear()


# --- wiring ------------------------------------------------------------------------------


@dataclass
class Wired:
    """The use-case around one freshly built generator, and where its files go."""

    generator: MediaGenerator
    use_case: GenerateMedia
    sleeper: RecordingSleeper
    root: Path


def wire(row: MediaRow, tmp_path: Path, *, store_cap: int | None = None, **options: Any) -> Wired:
    generator = row.build(**options)
    root = tmp_path / "assets"
    sleeper = RecordingSleeper()
    use_case = GenerateMedia(
        PluginGeneratorRegistry.of([generator]),
        FilesystemAssetStore(root, max_bytes=store_cap),
        AVMediaProbe(),
        retry=RETRY,
        sleeper=sleeper,
    )
    return Wired(generator, use_case, sleeper, root)


def need(row: MediaRow, feature: str) -> None:
    reason = row.why_not(feature)
    if reason is not None:
        pytest.skip(f"{row.name}: {reason}")


def files_under(root: Path) -> list[Path]:
    """Every file below the store's root, the hidden ``.scratch/`` directory included."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def error_chain(error: BaseException) -> list[BaseException]:
    """``error`` and everything reachable through ``__cause__`` and ``__context__``."""
    seen: list[BaseException] = []
    pending = [error]
    while pending:
        current = pending.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return seen


def assert_key_free(error: BaseException, key: str | None) -> None:
    if key is None:
        return
    for link in error_chain(error):
        shown = [str(link), repr(link), *map(str, link.args), *map(repr, link.args)]
        if isinstance(link, ProviderError):
            shown.append(link.message)
        for text in shown:
            assert key not in text, f"the API key shows in a {type(link).__name__}: {text!r}"


def assert_failed_cleanly(row: MediaRow, wired: Wired, error: BaseException) -> None:
    """Nothing left on disk (no partial file, no scratch file) and no key in the error."""
    assert files_under(wired.root) == [], "a failed generation left files behind"
    assert_key_free(error, row.api_key)


# --- the published schema ----------------------------------------------------------------


def _branches(prop: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The non-null alternatives of a property schema (``X | None`` is an ``anyOf``)."""
    options = prop.get("anyOf", [prop])
    return [b for b in options if b.get("type") != "null"]


def _properties(schema: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    props: Mapping[str, Mapping[str, Any]] = schema.get("properties", {})
    return props


def numeric_field(schema: Mapping[str, Any]) -> str | None:
    """The first integer parameter the schema publishes (else the first number one)."""
    for wanted in ("integer", "number"):
        for name, prop in _properties(schema).items():
            if any(b.get("type") == wanted for b in _branches(prop)):
                return name
    return None


def _beyond(branch: Mapping[str, Any]) -> Any:
    kind = branch.get("type")
    if kind in ("integer", "number"):
        cast: Callable[[Any], Any] = int if kind == "integer" else float
        if "maximum" in branch:
            return cast(branch["maximum"] + 1)
        if "exclusiveMaximum" in branch:
            return cast(branch["exclusiveMaximum"])
        if "minimum" in branch:
            return cast(branch["minimum"] - 1)
        if "exclusiveMinimum" in branch:
            return cast(branch["exclusiveMinimum"])
    if kind == "string":
        if branch.get("minLength", 0) >= 1:
            return ""
        if "maxLength" in branch:
            return "x" * (int(branch["maxLength"]) + 1)
        if "enum" in branch:
            return "not-one-of-the-choices"
    return None


def out_of_bounds(schema: Mapping[str, Any]) -> tuple[str, Any] | None:
    """A (parameter, value) just outside a bound the schema publishes (numeric bounds first)."""
    found: tuple[str, Any] | None = None
    for name, prop in _properties(schema).items():
        for branch in _branches(prop):
            value = _beyond(branch)
            if value is None:
                continue
            if branch.get("type") in ("integer", "number"):
                return name, value
            found = found or (name, value)
    return found


UNKNOWN_FIELD = "surely_not_a_parameter"


def bad_params(generator: MediaGenerator, probe: str) -> tuple[str, dict[str, Any]] | str:
    """The offending field and the params of ``probe``, or why the generator has none."""
    schema = generator.info.input_schema
    if probe == "unknown-field":
        if generator.input_model.model_config.get("extra") in ("ignore", "allow"):
            return "its input model opts in to unknown fields"
        return UNKNOWN_FIELD, {UNKNOWN_FIELD: 1}
    if probe == "true-for-an-integer":
        name = numeric_field(schema)
        if name is None:
            return "it publishes no integer or number parameter"
        return name, {name: True}
    bound = out_of_bounds(schema)
    if bound is None:
        return "it publishes no bounded parameter"
    return bound[0], {bound[0]: bound[1]}


def _model_accepts(model: type[BaseModel], params: Mapping[str, Any]) -> bool:
    try:
        model.model_validate(dict(params))
    except ValidationError:
        return False
    return True


async def test_it_satisfies_the_media_generator_port(media_row: MediaRow) -> None:
    generator = media_row.build()
    assert isinstance(generator, MediaGenerator)
    info = generator.info
    assert info.id == media_row.generator_id
    assert info.kind is media_row.kind
    assert all(kind_of_mime(m) is info.kind for m in info.output_mime_types)
    if media_row.api_key is not None:
        assert media_row.api_key not in repr(generator)
        assert media_row.api_key not in str(generator)


async def test_the_published_schema_is_the_enforced_one(media_row: MediaRow) -> None:
    generator = media_row.build()
    schema = generator.info.input_schema
    model = generator.input_model
    assert schema == model.model_json_schema(mode="validation")
    opted_in = model.model_config.get("extra") in ("ignore", "allow")
    if not opted_in:
        assert schema.get("additionalProperties") is False
    # What the schema says and what the model does agree on the happy params and every probe.
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    probes: list[Mapping[str, Any]] = [{}, dict(media_row.happy.params)]
    for probe in ("unknown-field", "true-for-an-integer", "out-of-bounds"):
        found = bad_params(generator, probe)
        if not isinstance(found, str):
            probes.append(found[1])
    for params in probes:
        assert validator.is_valid(dict(params)) is _model_accepts(model, params), params


# --- the happy request -------------------------------------------------------------------


def decode(path: Path, kind: MediaKind) -> dict[str, Any]:
    """Measure a file by decoding it here (Pillow, PyAV), not through the probe under test."""
    if kind is MediaKind.IMAGE:
        with Image.open(path) as image:
            image.load()
            return {"width": image.width, "height": image.height}
    with av.open(str(path)) as container:
        if kind is MediaKind.VIDEO:
            stream = container.streams.video[0]
            frames = sum(1 for _ in container.decode(stream))
            rate = stream.average_rate
            return {
                "width": stream.codec_context.width,
                "height": stream.codec_context.height,
                "frame_count": frames,
                "fps": float(rate) if rate else None,
            }
        audio = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(audio))
        return {"sample_rate": audio.rate, "duration_s": samples / audio.rate}


def assert_measured(file: GeneratedMedia, decoded: Mapping[str, Any]) -> None:
    if file.kind is MediaKind.IMAGE:
        assert (file.width, file.height) == (decoded["width"], decoded["height"])
    elif file.kind is MediaKind.VIDEO:
        assert (file.width, file.height) == (decoded["width"], decoded["height"])
        assert file.frame_count == decoded["frame_count"] and file.frame_count
        assert file.fps is not None and file.fps == pytest.approx(decoded["fps"])
    else:
        assert file.sample_rate == decoded["sample_rate"]
        assert file.duration_s is not None and file.duration_s > 0
        assert file.duration_s == pytest.approx(decoded["duration_s"], abs=0.05)


def assert_expected(file: GeneratedMedia, expect: Mapping[str, Any]) -> None:
    for name, wanted in expect.items():
        got = getattr(file, name)
        if isinstance(wanted, float):
            assert got == pytest.approx(wanted, abs=0.08), name
        else:
            assert got == wanted, name


def assert_usage(row: MediaRow, usage: MediaUsage, files: int) -> None:
    assert isinstance(usage, MediaUsage)
    if row.kind is MediaKind.IMAGE:
        assert usage.images == files
    else:
        assert usage.seconds > 0 or usage.characters > 0, "the usage counts nothing"
    if row.cost == "free":
        assert usage.cost_usd == 0.0
    elif row.cost == "priced":
        assert usage.cost_usd is not None and usage.cost_usd > 0


async def test_the_happy_request_yields_measured_files_on_disk(
    media_row: MediaRow, tmp_path: Path
) -> None:
    wired = wire(media_row, tmp_path)
    info = wired.generator.info
    result = await wired.use_case(media_row.request())
    assert (result.generator_id, result.provider) == (info.id, info.provider)
    assert result.attempts == 1
    assert len(result.files) == media_row.happy.count >= 1
    for file in result.files:
        path = Path(file.path)
        assert path.is_file() and path.parent == wired.root
        assert file.kind is info.kind is media_row.kind
        assert kind_of_mime(file.mime_type) is info.kind
        if info.output_mime_types:
            assert file.mime_type in info.output_mime_types
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == file.sha256
        assert len(data) == file.size_bytes
        assert_measured(file, decode(path, info.kind))
        assert_expected(file, media_row.happy.expect)
    # Only the outputs are left: no scratch or partial files.
    assert files_under(wired.root) == sorted(Path(f.path) for f in result.files)
    assert_usage(media_row, result.usage, len(result.files))
    assert media_row.requests_seen() in (None, 1)


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("probe", ["unknown-field", "true-for-an-integer", "out-of-bounds"])
async def test_bad_params_are_refused_naming_the_field_before_anything_is_sent(
    media_row: MediaRow, tmp_path: Path, probe: str
) -> None:
    wired = wire(media_row, tmp_path)
    found = bad_params(wired.generator, probe)
    if isinstance(found, str):
        pytest.skip(f"{media_row.name}: {found}")
    name, params = found
    with pytest.raises(InvalidGeneratorInput) as caught:
        await wired.use_case(media_row.request(**params))
    error = caught.value
    assert error.generator_id == wired.generator.info.id
    assert any(name in problem for problem in error.problems), error.problems
    assert media_row.requests_seen() in (None, 0), "a refused request reached the provider"
    assert media_row.all_requests() in (None, 0), "the server saw a request"
    assert_failed_cleanly(media_row, wired, error)


# --- faults that are retried -------------------------------------------------------------


async def test_a_rate_limit_is_retried_once_after_its_retry_after(
    media_row: MediaRow, tmp_path: Path
) -> None:
    need(media_row, "rate_limit")
    wired = wire(media_row, tmp_path)
    media_row.fault(Fault(status=429, headers={"retry-after": f"{RETRY_AFTER_S:g}"}))
    result = await wired.use_case(media_row.request())
    assert result.attempts == 2
    assert media_row.requests_seen() == 2
    assert wired.sleeper.delays == [RETRY_AFTER_S]
    assert files_under(wired.root) == sorted(Path(f.path) for f in result.files)


async def test_a_server_error_is_retried(media_row: MediaRow, tmp_path: Path) -> None:
    need(media_row, "server_error")
    wired = wire(media_row, tmp_path)
    media_row.fault(Fault(status=503))
    result = await wired.use_case(media_row.request())
    assert result.attempts == 2
    assert media_row.requests_seen() == 2
    (delay,) = wired.sleeper.delays
    assert 0 <= delay <= RETRY.max_delay
    assert files_under(wired.root) == sorted(Path(f.path) for f in result.files)


async def test_a_refused_connection_is_retried(media_row: MediaRow, tmp_path: Path) -> None:
    # Nothing listens: the job cannot have run, so it is safe (and right) to try again.
    need(media_row, "refused_connection")
    wired = wire(media_row, tmp_path, unreachable=True)
    with pytest.raises(ProviderUnavailable) as caught:
        await wired.use_case(media_row.request())
    assert caught.value.retryable is True
    assert caught.value.attempts == RETRY.max_attempts
    assert len(wired.sleeper.delays) == RETRY.max_attempts - 1
    assert_failed_cleanly(media_row, wired, caught.value)


# --- faults that end the call ------------------------------------------------------------


@dataclass(frozen=True)
class Final:
    """A fault the call must end with: which error, after how many attempts."""

    id: str
    feature: str
    error: type[Exception]
    arrange: Callable[[MediaRow], None]
    options: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 1
    retryable: bool = False
    store_cap: int | None = None


FINAL: list[Final] = [
    # A timed-out job may have run (and been billed): never paid for twice.
    Final(
        "timeout",
        "timeout",
        ProviderTimeout,
        lambda row: row.fault(Fault(delay=STALL_S)),
        {"timeout": ATTEMPT_TIMEOUT_S},
    ),
    # The timeout is per read: an answer that stops after its first bytes is caught too.
    Final(
        "timeout-mid-body",
        "timeout_mid_body",
        ProviderTimeout,
        lambda row: row.stall_mid_body(STALL_S / 4),
        {"timeout": ATTEMPT_TIMEOUT_S},
    ),
    Final(
        "malformed-body",
        "malformed_body",
        InvalidResponse,
        lambda row: row.fault(row.malformed_fault()),
    ),
    Final("no-image", "no_image", InvalidResponse, lambda row: row.script().no_image()),
    Final("refused-prompt", "refused", ContentFiltered, lambda row: row.script().refuse()),
    Final(
        "oversized-output",
        "oversized",
        MediaTooLarge,
        lambda row: row.script().oversized(PADDING),
        {"max_output_bytes": OUTPUT_CAP},
    ),
    # Generators without a cap option of their own are held to the store's cap.
    Final("over-the-store-cap", "store_cap", MediaTooLarge, lambda row: None, store_cap=STORE_CAP),
    Final(
        "not-the-promised-type",
        "wrong_type",
        UnexpectedMediaType,
        lambda row: row.script().wrong_bytes(),
    ),
    Final(
        "5xx-on-every-attempt",
        "server_error",
        ProviderUnavailable,
        lambda row: row.fault(Fault(status=503, count=RETRY.max_attempts)),
        attempts=RETRY.max_attempts,
        retryable=True,
    ),
]


@pytest.mark.parametrize("case", FINAL, ids=[c.id for c in FINAL])
async def test_a_final_fault_ends_the_call_and_leaves_nothing(
    media_row: MediaRow, tmp_path: Path, case: Final
) -> None:
    need(media_row, case.feature)
    wired = wire(media_row, tmp_path, store_cap=case.store_cap, **case.options)
    case.arrange(media_row)
    with pytest.raises(Exception) as caught:  # the exact type is asserted below
        await wired.use_case(media_row.request())
    error = caught.value
    assert type(error) is case.error, f"{type(error).__name__}: {error}"
    assert media_row.requests_seen() in (None, case.attempts)
    if isinstance(error, ProviderError):
        assert error.retryable is case.retryable
        assert error.attempts == case.attempts
    if isinstance(error, MediaTooLarge):
        assert error.limit_bytes == (case.store_cap or case.options["max_output_bytes"])
    assert_failed_cleanly(media_row, wired, error)


@pytest.mark.parametrize(
    "fault",
    [
        # A 200 whose body is cut: the job certainly ran.
        pytest.param(Fault(cut_after_chunks=1), id="answer-cut-after-its-200"),
        # Closed without an answer after the whole request was read: it may have run.
        pytest.param(Fault(drop=True), id="connection-dropped-after-the-request"),
    ],
)
async def test_an_attempt_that_may_have_run_is_not_repeated(
    media_row: MediaRow, tmp_path: Path, fault: Fault
) -> None:
    need(media_row, "cut_body")
    wired = wire(media_row, tmp_path)
    media_row.fault(fault)
    error: ProviderError | None = None
    try:
        await wired.use_case(media_row.request())
    except ProviderError as exc:
        error = exc
    assert media_row.requests_seen() == 1, "the job was requested (and paid for) again"
    assert error is not None, "the call should fail with the first attempt's error"
    assert error.retryable is False
    assert error.attempts == 1
    assert_failed_cleanly(media_row, wired, error)


# --- secrets -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 500])
async def test_no_api_key_in_errors_even_when_the_provider_echoes_it(
    media_row: MediaRow, tmp_path: Path, status: int
) -> None:
    need(media_row, "api_key")
    key = media_row.api_key
    assert key is not None
    wired = wire(media_row, tmp_path)
    # Retried on 5xx, so every attempt gets the echo.
    media_row.fault(Fault(status=status, message=f"Incorrect API key provided: {key}.", count=2))
    with pytest.raises(ProviderError) as caught:
        await wired.use_case(media_row.request())
    assert caught.value.status == status
    assert_failed_cleanly(media_row, wired, caught.value)
