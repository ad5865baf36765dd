"""The original's descriptor protocol (``SubAgentDescriptor``, ``BaseAgent``...), run unchanged.

The seed's host ran "descriptor" sub-agents written against a small protocol:
a frozen :class:`SubAgentDescriptor` builds an agent around an LLM client,
attaches an evaluator and a materializer with its services, and the agent's
``run`` loop asks the LLM, gates the answer, turns it into
:class:`MediaAsset` bytes and persists them through a
:class:`MaterializeContext`. This module gives that protocol its original
names and signatures, and :func:`run_legacy_descriptor` runs such a
descriptor on the library:

* the LLM is the library's :class:`~inference_core.compat.llm_client.LLMClient`
  over the given :class:`~inference_core.composition.Inference` (routing,
  retries, JSON validation, usage and cost are the use-cases');
* services come from the descriptor's ``service_factories`` (the seed's Mock
  services by default), built over a view of the Inference whose intermediate
  files go to a temporary directory, so only what the agent persists is kept;
* ``persist_binary`` writes each asset through the
  :class:`~inference_core.ports.AssetStore` (type sniffed from the bytes,
  written atomically) and returns the stored file's path as its URI;
* the result is a :class:`~inference_core.domain.descriptors.DescriptorResult`,
  like :class:`~inference_core.application.ExecuteDescriptor`'s;
  :func:`execute_any` runs either kind of descriptor.

What the original got wrong and this does not repeat: a failed quality gate
is ``passed=False`` (never "completed"); an evaluator that raises is an
:class:`EvaluatorError` (never a pass); the asset gate opens the persisted
files (they must exist and decode), it does not count URIs; media is made only
for an output that passed the gate, so a rework never pays for media again;
a run that raises or is cancelled deletes the files it persisted.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from inference_core.compat.generators import shared_inference
from inference_core.compat.llm_client import LLMClient
from inference_core.compat.media_services import (
    MockAudioService,
    MockImageService,
    MockVideoService,
)
from inference_core.composition import Inference
from inference_core.composition.services import media_probe, media_store, scoped_inference
from inference_core.domain.chat import Usage
from inference_core.domain.descriptors import (
    AgentDescriptor,
    DescriptorResult,
    DimensionScore,
    Evaluation,
    MediaFile,
    StageTiming,
)
from inference_core.domain.errors import EvaluatorError, InferenceError, UnexpectedMediaType
from inference_core.domain.media import SNIFF_BYTES, StoredAsset, kind_of_mime, sniff_mime
from inference_core.domain.usage import UsageEvent
from inference_core.ports.media import AssetStore

__all__ = [
    "MOCK_SERVICE_FACTORIES",
    "BaseAgent",
    "BaseEvaluator",
    "BaseMaterializer",
    "EvaluatorError",
    "ExecutionResult",
    "MaterializeContext",
    "MediaAsset",
    "ServiceContext",
    "SubAgentDescriptor",
    "bundle_variables",
    "execute_any",
    "is_legacy_descriptor",
    "run_legacy_descriptor",
]


# --- the protocol's values --------------------------------------------------------------------


@dataclass
class MediaAsset:
    """Bytes a materializer made, and the place in the output its URI goes.

    Attributes:
        sys_id: The file's id in the run (unique per run).
        data: The file's bytes (its type is sniffed from them, ``extension`` is a hint).
        extension: The file extension the materializer expects (``png``, ``.mp4``).
        uri_holder: The dict of the output that receives ``uri`` (and ``asset_id``).
        description: What the file is (``_media_files[sys_id]["description"]``).
    """

    sys_id: str
    data: bytes
    extension: str
    uri_holder: dict[str, Any]
    description: str = ""


#: ``persist_binary`` of a :class:`MaterializeContext`: returns the URI (or an awaitable of it).
PersistBinary = Callable[[MediaAsset], "str | Awaitable[str]"]
#: Checks one persisted file; returns a problem (``None``: the file is fine).
VerifyFile = Callable[[MediaAsset, str], Awaitable["str | None"]]


@dataclass(frozen=True)
class MaterializeContext:
    """Where an agent's media goes: the run's task, its input bundle and ``persist_binary``.

    Attributes:
        task_id: The host's task.
        input_bundle: The run's inputs (what ``build_input`` was given).
        persist_binary: Stores one asset and returns its URI (sync or async).
        verify: Opens a persisted file and reports a problem (the asset gate);
            default: the file must exist and its bytes be a known media type.
    """

    task_id: str
    input_bundle: Mapping[str, Any]
    persist_binary: PersistBinary
    verify: VerifyFile | None = None


@dataclass
class ExecutionResult:
    """What ``BaseAgent.run`` returns (the original's shape).

    Attributes:
        output: The agent's output (a pydantic model or a dict).
        eval_result: The last evaluation: ``overall_pass``, ``summary``,
            ``structural_errors``, ``dimensions``, ``asset_errors``.
        passed: Every gate passed (the asset gate included).
        attempts: LLM rounds made.
        media_assets: The assets the materializer made (persisted when a context was given).
        asset_dict: The output as a dict with the URIs written in (``None``: no materializer).
        timings: ``(stage, seconds)`` per stage (an addition; the original had none).
    """

    output: Any
    eval_result: dict[str, Any]
    passed: bool
    attempts: int
    media_assets: list[MediaAsset] = field(default_factory=list)
    asset_dict: dict[str, Any] | None = None
    timings: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceContext:
    """What each of a descriptor's ``service_factories`` receives.

    Attributes:
        inference: The wired library the service should use
            (``MockImageService(inference=ctx.inference)``).
        llm: The agent's LLM client.
    """

    inference: Inference
    llm: Any = None


#: The seed's Mock services, by the names materializers look them up with.
MOCK_SERVICE_FACTORIES: Mapping[str, Callable[[ServiceContext], Any]] = {
    "image": lambda ctx: MockImageService(inference=ctx.inference),
    "video": lambda ctx: MockVideoService(inference=ctx.inference),
    "audio": lambda ctx: MockAudioService(inference=ctx.inference),
}


# --- the protocol's base classes ------------------------------------------------------------


class BaseMaterializer:
    """Turns an accepted output into media bytes (the original's base class).

    Args:
        services: The services the descriptor's factories built (``image``, ``video``...).
    """

    def __init__(self, services: Mapping[str, Any] | None = None) -> None:
        self.services: dict[str, Any] = dict(services or {})

    async def materialize(
        self, task_id: str, asset_dict: dict[str, Any], input_bundle: Mapping[str, Any]
    ) -> list[MediaAsset]:
        """The assets for ``asset_dict``; each ``uri_holder`` is a dict inside it.

        Implementations write ``uri_holder["asset_id"]`` and may annotate
        ``asset_dict`` with the prompts they sent.
        """
        raise NotImplementedError


class BaseEvaluator:
    """The original's evaluator: a structural stage and a creative stage judged by an LLM.

    Subclasses override :meth:`evaluate_structure` (shape problems) and set
    :attr:`dimensions` (name -> what it means) to have :meth:`evaluate_creative`
    ask the LLM for ``{"dimensions": {name: {"score", "notes"}}, "overall_pass",
    "summary"}``. With no dimensions the creative stage passes.
    """

    dimensions: ClassVar[Mapping[str, str]] = {}
    threshold: ClassVar[float] = 6.0

    def evaluate_structure(self, output: Any, input_data: Any) -> list[str]:
        """Shape problems of ``output`` (empty: none)."""
        return []

    async def evaluate_creative(self, output: Any, input_data: Any, *, llm: Any) -> dict[str, Any]:
        """Judge ``output`` on :attr:`dimensions` with ``llm``; the original's result dict.

        Raises:
            ValueError: The judge's answer is not the asked shape (never read as a pass).
        """
        if not self.dimensions:
            return {"overall_pass": True, "summary": "no creative gate", "dimensions": {}}
        criteria = "\n".join(f"- {name}: {meaning}" for name, meaning in self.dimensions.items())
        answer = await llm.chat_json(
            "You are a strict reviewer. Score the work 0-10 on each dimension with a short "
            'note. Answer JSON: {"dimensions": {name: {"score": n, "notes": "..."}}, '
            '"overall_pass": true|false, "summary": "what must change"}.',
            f"Dimensions:\n{criteria}\n\nWork (JSON):\n{_json(output)[:20_000]}",
        )
        return _judged(answer, self.dimensions, self.threshold)


def _judged(answer: Any, wanted: Mapping[str, str], threshold: float) -> dict[str, Any]:
    if not isinstance(answer, Mapping) or not isinstance(answer.get("overall_pass"), bool):
        raise ValueError(f"the judge's answer has no boolean overall_pass: {answer!r:.300}")
    scores = answer.get("dimensions")
    if not isinstance(scores, Mapping):
        raise ValueError("the judge's answer has no dimensions object")
    dimensions = {
        name: DimensionScore.model_validate(value).model_dump() for name, value in scores.items()
    }
    missing = sorted(set(wanted) - set(dimensions))
    low = sorted(n for n in wanted if n in dimensions and dimensions[n]["score"] < threshold)
    summary = str(answer.get("summary", ""))
    if missing:
        summary += f" (not scored: {', '.join(missing)})"
    if low:
        summary += f" (below {threshold:g}: {', '.join(low)})"
    return {
        "dimensions": dimensions,
        "overall_pass": answer["overall_pass"] and not missing and not low,
        "summary": summary.strip(),
    }


class BaseAgent:
    """A minimal agent with the original's ``run`` loop.

    Subclasses set :attr:`system_prompt` (or override :meth:`build_system_prompt`)
    and usually :meth:`build_user_prompt`; :meth:`generate` asks the LLM with
    ``await llm.chat_json(system, user)`` and may be overridden to gather several
    prompts concurrently. Library additions, all optional: :attr:`output_model`
    validates the answer (a validation error is a structural failure that is
    reworked), and :attr:`output_schema` / :attr:`max_tokens` / :attr:`model`
    are passed to the LLM when set (small local models need a schema).

    Args:
        llm: The LLM client (anything with the original's ``chat_json`` coroutine).
    """

    system_prompt: ClassVar[str] = ""
    output_model: ClassVar[type[BaseModel] | None] = None
    output_schema: ClassVar[Mapping[str, Any] | None] = None
    max_tokens: ClassVar[int | None] = None
    model: ClassVar[str | None] = None

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.evaluator: Any = None
        self.materializer: Any = None
        self.services: dict[str, Any] = {}
        self.agent_id = type(self).__name__

    # -- equipment (what SubAgentDescriptor.build_equipped_agent attaches) -------------

    def attach_evaluator(self, evaluator: Any) -> None:
        """Judge outputs with ``evaluator`` (``None``: every output passes)."""
        self.evaluator = evaluator

    def attach_materializer(self, materializer: Any, services: Mapping[str, Any]) -> None:
        """Turn accepted outputs into media with ``materializer`` and its ``services``."""
        self.materializer = materializer
        self.services = dict(services)

    # -- the prompt ----------------------------------------------------------------------

    def build_system_prompt(self, input_data: Any) -> str:
        """The system prompt for ``input_data`` (default: :attr:`system_prompt`)."""
        return self.system_prompt

    def build_user_prompt(
        self, input_data: Any, *, input_bundle: Mapping[str, Any] | None, rework_notes: str
    ) -> str:
        """The user prompt: the input as JSON, then the rework notes of a failed attempt."""
        prompt = _json(input_data)
        if rework_notes:
            prompt += f"\n\nRework notes (fix these):\n{rework_notes}"
        return prompt

    async def generate(
        self, input_data: Any, *, input_bundle: Mapping[str, Any] | None, rework_notes: str
    ) -> Any:
        """One LLM round: ``await llm.chat_json(system, user)``; the raw JSON value."""
        system = self.build_system_prompt(input_data)
        user = self.build_user_prompt(
            input_data, input_bundle=input_bundle, rework_notes=rework_notes
        )
        extra: dict[str, Any] = {}
        schema = self.output_schema or self.output_model
        if schema is not None:
            extra["schema"] = schema
        if self.max_tokens is not None:
            extra["max_tokens"] = self.max_tokens
        if self.model is not None:
            extra["model"] = self.model
        return await self.llm.chat_json(system, user, **extra)

    def parse_output(self, raw: Any) -> Any:
        """``raw`` as :attr:`output_model` when set (raises ``ValidationError``), else as is."""
        if self.output_model is not None and not isinstance(raw, self.output_model):
            return self.output_model.model_validate(raw)
        return raw

    # -- the loop -----------------------------------------------------------------------

    async def run(
        self,
        input_data: Any,
        *,
        input_bundle_v2: Mapping[str, Any] | None = None,
        rework_notes: str = "",
        max_retries: int = 3,
        materialize_ctx: MaterializeContext | None = None,
    ) -> ExecutionResult:
        """Ask, gate, rework up to ``max_retries`` rounds, then materialise and check the files.

        Raises:
            EvaluatorError: The evaluator raised (the run is a failure, not a pass).
        """
        bundle = input_bundle_v2
        if bundle is None and materialize_ctx is not None:
            bundle = materialize_ctx.input_bundle
        timings: list[tuple[str, float]] = []
        notes = rework_notes
        output: Any = None
        evaluation: dict[str, Any] = {"overall_pass": False, "summary": ""}
        attempts = 0
        for attempt in range(1, max(1, max_retries) + 1):
            attempts = attempt
            began = time.perf_counter()
            raw = await self.generate(input_data, input_bundle=bundle, rework_notes=notes)
            timings.append((f"ask {attempt}", time.perf_counter() - began))
            began = time.perf_counter()
            try:
                output = self.parse_output(raw)
            except ValidationError as exc:
                output = raw
                evaluation = _structural([f"output does not validate: {exc}"])
            else:
                evaluation = await self._evaluate(output, input_data)
            timings.append((f"gate {attempt}", time.perf_counter() - began))
            if evaluation["overall_pass"]:
                break
            notes = evaluation.get("summary") or "the previous answer did not pass review"
        if not evaluation["overall_pass"] or self.materializer is None:
            return ExecutionResult(
                output, evaluation, bool(evaluation["overall_pass"]), attempts, [], None, timings
            )
        began = time.perf_counter()
        asset_dict = _as_dict(output)
        task_id = (
            materialize_ctx.task_id if materialize_ctx else str(getattr(input_data, "task_id", ""))
        )
        assets = list(await self.materializer.materialize(task_id, asset_dict, bundle or {}))
        timings.append(("materialize", time.perf_counter() - began))
        problems: list[str] = []
        if materialize_ctx is not None:
            began = time.perf_counter()
            problems = await _persist_and_check(assets, materialize_ctx)
            timings.append(("assets", time.perf_counter() - began))
        else:
            problems = [f"{a.sys_id}: no bytes" for a in assets if not a.data]
        if problems:
            evaluation = {
                **evaluation,
                "asset_errors": problems,
                "overall_pass": False,
                "summary": (evaluation.get("summary", "") + " Assets: " + "; ".join(problems)),
            }
        return ExecutionResult(
            output,
            evaluation,
            bool(evaluation["overall_pass"]),
            attempts,
            assets,
            asset_dict,
            timings,
        )

    async def _evaluate(self, output: Any, input_data: Any) -> dict[str, Any]:
        evaluator = self.evaluator
        if evaluator is None:
            return {"overall_pass": True, "summary": "no evaluator", "dimensions": {}}
        try:
            found = evaluator.evaluate_structure(output, input_data)
            if inspect.isawaitable(found):
                found = await found
            structural = [str(problem) for problem in found or ()]
        except Exception as exc:
            raise EvaluatorError(self.agent_id, "structure", exc) from exc
        if structural:
            return _structural(structural)
        try:
            judged = await evaluator.evaluate_creative(output, input_data, llm=self.llm)
        except Exception as exc:
            raise EvaluatorError(self.agent_id, "creative", exc) from exc
        if not isinstance(judged, Mapping) or not isinstance(judged.get("overall_pass"), bool):
            cause = ValueError(f"returned {judged!r:.200}, not a dict with a boolean overall_pass")
            raise EvaluatorError(self.agent_id, "creative", cause)
        return {"dimensions": {}, "summary": "", **judged}


def _structural(problems: Sequence[str]) -> dict[str, Any]:
    return {
        "structural_errors": list(problems),
        "overall_pass": False,
        "summary": "Structure: " + "; ".join(problems),
        "dimensions": {},
    }


async def _persist_and_check(assets: Sequence[MediaAsset], ctx: MaterializeContext) -> list[str]:
    """Persist every asset, write its URI, then open each file; the problems found."""
    problems: list[str] = []
    verify = ctx.verify or _exists_and_sniffs
    persisted: list[tuple[MediaAsset, str]] = []
    for asset in assets:
        try:
            uri = ctx.persist_binary(asset)
            if inspect.isawaitable(uri):
                uri = await uri
        except InferenceError as exc:  # not media, too large...: a failed asset, not a crash
            problems.append(f"{asset.sys_id}: not stored: {exc}")
            continue
        asset.uri_holder["uri"] = uri
        asset.uri_holder.setdefault("asset_id", asset.sys_id)
        persisted.append((asset, str(uri)))
    for asset, written in persisted:
        problem = await verify(asset, written)
        if problem is not None:
            asset.uri_holder.pop("uri", None)  # it names no usable file
            problems.append(f"{asset.sys_id}: {problem}")
    return problems


async def _exists_and_sniffs(asset: MediaAsset, uri: str) -> str | None:
    path = _path_of(uri)
    if not await asyncio.to_thread(path.is_file):
        return f"{path.name} is missing"
    head = await asyncio.to_thread(_head, path)
    return None if sniff_mime(head) else f"{path.name} is not a known media type"


def _head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(SNIFF_BYTES)


def _path_of(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


# --- the descriptor ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SubAgentDescriptor:
    """The original's descriptor: how to build, equip and feed one sub-agent.

    Attributes:
        agent_id: The host's id of the agent.
        asset_key: Key the host stores the output under.
        catalog_entry: The host's catalog data (name, description...).
        agent_factory: ``(llm) -> agent`` (a :class:`BaseAgent` or the original's).
        evaluator_factory: ``() -> evaluator`` (``None``: no gate).
        build_input: ``(task_id, input_bundle) -> BaseModel``, the agent's input.
        service_factories: ``{name: (ctx) -> service}``, ctx a :class:`ServiceContext`.
        materializer_factory: ``(services) -> materializer | None``.
        user_text_key: The field of the input bundle holding the user's text.
    """

    agent_id: str
    asset_key: str
    catalog_entry: Mapping[str, Any]
    agent_factory: Callable[[Any], Any]
    evaluator_factory: Callable[[], Any] | None
    build_input: Callable[[str, Mapping[str, Any]], BaseModel]
    service_factories: Mapping[str, Callable[[ServiceContext], Any]] = field(default_factory=dict)
    materializer_factory: Callable[[Mapping[str, Any]], Any] | None = None
    user_text_key: str = "text"

    def build_services(self, ctx: ServiceContext) -> dict[str, Any]:
        """One service per factory (the Mock services when the descriptor names none)."""
        factories = self.service_factories or (
            MOCK_SERVICE_FACTORIES if self.materializer_factory is not None else {}
        )
        return {name: factory(ctx) for name, factory in factories.items()}

    def build_equipped_agent(
        self, llm: Any, services_override: Mapping[str, Any] | None = None
    ) -> Any:
        """The agent with its evaluator and, when there is one, its materializer and services."""
        agent = self.agent_factory(llm)
        if hasattr(agent, "agent_id"):
            agent.agent_id = self.agent_id
        if self.evaluator_factory is not None:
            agent.attach_evaluator(self.evaluator_factory())
        if self.materializer_factory is not None:
            if services_override is not None:
                services = dict(services_override)
            else:
                inference = getattr(llm, "inference", None) or shared_inference()
                services = self.build_services(ServiceContext(inference=inference, llm=llm))
            materializer = self.materializer_factory(services)
            if materializer is not None:
                agent.attach_materializer(materializer, services)
        return agent


# --- running it on the library ----------------------------------------------------------------


def is_legacy_descriptor(descriptor: Any) -> bool:
    """True for an object of the original's ``SubAgentDescriptor`` shape (duck-typed)."""
    return callable(getattr(descriptor, "build_equipped_agent", None)) and callable(
        getattr(descriptor, "build_input", None)
    )


class _RunUsage:
    """A usage sink summing one run's chat usage and media cost (exact under concurrency)."""

    def __init__(self) -> None:
        self.chat = Usage()
        self.media_cost: float | None = 0.0

    def record(self, event: UsageEvent) -> None:
        if event.operation != "media":
            self.chat = self.chat + event.usage
        elif event.outcome == "ok":
            cost = event.media.cost_usd if event.media is not None else event.usage.cost_usd
            self.media_cost = (
                None if cost is None or self.media_cost is None else (self.media_cost + cost)
            )


class _Persister:
    """``persist_binary`` and ``verify`` over an AssetStore; undoes everything on failure."""

    def __init__(self, store: AssetStore, inference: Inference) -> None:
        self.store = store
        self.inference = inference
        self.stored: dict[str, StoredAsset] = {}  # by URI

    async def persist(self, asset: MediaAsset) -> str:
        mime = sniff_mime(asset.data[:SNIFF_BYTES])
        kind = kind_of_mime(mime) if mime else None
        if kind is None:
            raise UnexpectedMediaType(asset.sys_id, "image, video or audio", mime, discarded=False)
        stored = await self.store.save(asset.data, name=asset.sys_id, kind=kind)
        self.stored[stored.path] = stored
        return stored.path

    async def verify(self, asset: MediaAsset, uri: str) -> str | None:
        stored = self.stored.get(uri)
        path = _path_of(uri)
        if not await asyncio.to_thread(path.is_file):
            return f"{path.name} is missing"
        if stored is None:
            return await _exists_and_sniffs(asset, uri)
        probe = media_probe(self.inference)
        try:
            await asyncio.to_thread(probe.measure, path, stored.mime_type)
        except UnexpectedMediaType as exc:
            await self.discard(uri)  # an undecodable file is not an asset of the run
            return str(exc)
        return None

    async def discard(self, uri: str) -> None:
        stored = self.stored.pop(uri, None)
        if stored is not None:
            await self.store.discard(stored)

    async def discard_all(self) -> None:
        for uri in list(self.stored):
            await self.discard(uri)


async def run_legacy_descriptor(
    descriptor: Any,
    *,
    task_id: str,
    input_bundle: Mapping[str, Any] | None = None,
    inference: Inference | None = None,
    services_override: Mapping[str, Any] | None = None,
    store: AssetStore | None = None,
    max_retries: int = 3,
) -> DescriptorResult:
    """Run a descriptor of the original's shape on the library; its :class:`DescriptorResult`.

    Args:
        descriptor: A :class:`SubAgentDescriptor` (or the original's own objects).
        task_id: The host's task.
        input_bundle: The run's inputs, given to ``build_input`` and the materializer.
        inference: The wired library (default: the one the seed facades share).
        services_override: Services to use instead of the descriptor's factories.
        store: Where persisted assets go (default: the media output directory).
        max_retries: LLM rounds the agent may make (``BaseAgent.run``'s ``max_retries``).

    Raises:
        EvaluatorError: The evaluator raised (persisted files are deleted).
        InferenceError: The LLM or a service failed in a way retries could not fix.
    """
    base = inference or shared_inference()
    bundle = dict(input_bundle or {})
    usage = _RunUsage()
    run = scoped_inference(base, usage_sink=usage)
    target = store or base.asset_store or media_store(base)
    persister = _Persister(target, run)
    ctx = MaterializeContext(task_id, bundle, persister.persist, persister.verify)
    llm = LLMClient(inference=run)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="inference-services-") as scratch_dir:
        try:
            services = services_override
            if services is None and getattr(descriptor, "materializer_factory", None) is not None:
                # The services' own files are intermediate: only what is persisted is kept.
                scratch = scoped_inference(
                    base, usage_sink=usage, asset_store=media_store(base, scratch_dir)
                )
                services = _services_of(descriptor, ServiceContext(inference=scratch, llm=llm))
            input_data = descriptor.build_input(task_id, bundle)
            agent = descriptor.build_equipped_agent(llm, services_override=services)
            result = await agent.run(
                input_data, input_bundle_v2=bundle, max_retries=max_retries, materialize_ctx=ctx
            )
        except BaseException:
            await persister.discard_all()
            raise
    return _to_result(descriptor, task_id, result, persister, usage, time.perf_counter() - began)


def _services_of(descriptor: Any, ctx: ServiceContext) -> dict[str, Any]:
    build = getattr(descriptor, "build_services", None)
    if callable(build):
        services: dict[str, Any] = build(ctx)
        return services
    factories = getattr(descriptor, "service_factories", None) or MOCK_SERVICE_FACTORIES
    return {name: factory(ctx) for name, factory in factories.items()}


def _to_result(
    descriptor: Any,
    task_id: str,
    result: Any,
    persister: _Persister,
    usage: _RunUsage,
    seconds: float,
) -> DescriptorResult:
    files = []
    for asset in result.media_assets or ():
        stored = persister.stored.get(str(asset.uri_holder.get("uri", "")))
        if stored is None:
            continue  # not persisted, or discarded by the asset gate
        files.append(
            MediaFile(
                id=asset.sys_id,
                path=stored.path,
                filename=Path(stored.path).name,
                mime_type=stored.mime_type,
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                description=getattr(asset, "description", "")
                or str(asset.uri_holder.get("description", "")),
            )
        )
    output = result.asset_dict if result.asset_dict is not None else _as_dict(result.output)
    timings = [
        StageTiming(stage=stage, seconds=max(0.0, s))
        for stage, s in getattr(result, "timings", None) or ()  # the original's had none
    ]
    timings.append(StageTiming(stage="total", seconds=seconds))
    return DescriptorResult(
        descriptor_id=str(descriptor.agent_id),
        task_id=task_id,
        output=output,
        files=tuple(files),
        attempts=max(1, int(result.attempts)),
        passed=bool(result.passed),
        evaluation=_evaluation(result.eval_result, bool(result.passed)),
        usage=usage.chat,
        media_cost_usd=usage.media_cost,
        timings=tuple(timings),
    )


def _evaluation(found: Mapping[str, Any] | None, passed: bool) -> Evaluation:
    found = found or {}
    dimensions = {}
    for name, value in (found.get("dimensions") or {}).items():
        try:
            dimensions[str(name)] = DimensionScore.model_validate(value)
        except ValidationError:
            continue  # a judge's malformed score is not kept; the pass decision already is
    return Evaluation(
        structural_errors=tuple(str(e) for e in found.get("structural_errors") or ()),
        dimensions=dimensions,
        asset_errors=tuple(str(e) for e in found.get("asset_errors") or ()),
        overall_pass=passed,
        summary=str(found.get("summary") or found.get("eval_summary") or ""),
    )


def bundle_variables(input_bundle: Mapping[str, Any] | None) -> dict[str, Any]:
    """An :class:`AgentDescriptor`'s template variables from a host's input bundle.

    Every key of the bundle is a variable; ``input`` (the default user
    template's variable) is the bundle's ``text``, else the whole bundle as JSON.
    """
    bundle = dict(input_bundle or {})
    text = bundle.get("text")
    return {"input": text if isinstance(text, str) else _json(bundle), **bundle}


async def execute_any(
    descriptor: AgentDescriptor | Any,
    *,
    task_id: str,
    input_bundle: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
    inference: Inference | None = None,
    services_override: Mapping[str, Any] | None = None,
    store: AssetStore | None = None,
) -> DescriptorResult:
    """Run an :class:`AgentDescriptor` (through ``ExecuteDescriptor``) or an original-style one.

    ``variables`` default to :func:`bundle_variables` of ``input_bundle`` for an
    :class:`AgentDescriptor`; an original-style descriptor gets the bundle itself.

    Raises:
        TypeError: ``descriptor`` is neither kind.
    """
    base = inference or shared_inference()
    if isinstance(descriptor, AgentDescriptor):
        values = dict(variables) if variables is not None else bundle_variables(input_bundle)
        return await base.execute_descriptor(descriptor, values, task_id=task_id, store=store)
    if is_legacy_descriptor(descriptor):
        return await run_legacy_descriptor(
            descriptor,
            task_id=task_id,
            input_bundle=input_bundle,
            inference=base,
            services_override=services_override,
            store=store,
        )
    raise TypeError(
        f"{type(descriptor).__name__} is neither an AgentDescriptor nor a descriptor of the "
        "original's shape (build_equipped_agent, build_input)"
    )


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        dumped: dict[str, Any] = value.model_dump(mode="json")
        return dumped
    if isinstance(value, Mapping):
        return dict(value)
    return {"output": value}


def _json(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, ensure_ascii=False, default=str)
