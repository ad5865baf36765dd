"""ExecuteDescriptor: one descriptor sub-agent run, from prompt to checked files.

The run:

1. **Ask**: the system prompt and the user template (rendered from the run's
   variables; a missing variable is a ``TemplateError``) go to ``ChatJSON``
   with the descriptor's output model or schema, so the answer is valid JSON
   of that shape (ChatJSON re-asks on invalid answers itself).
2. **Gate**: the evaluator's structural and creative stages judge it. A
   failing stage's findings become rework notes appended to the next ask,
   up to ``max_attempts`` asks. A gate that never passes ends the run with
   ``passed=False`` and the evaluation (no media is made for a rejected
   output: nothing is paid for what will be thrown away). An evaluator that
   raises ends the run with an ``EvaluatorError``; it never counts as a pass.
3. **Materialise**: the materializer turns the output into generation
   requests, stage by stage (a clip stage may use the keyframes of the stage
   before); each stage runs through ``GenerateMedia`` as one bounded batch,
   and each stored file's path is written back into the output.
4. **Asset gate**: every file is opened again (exists, decodes, is the kind
   asked for). Items that failed - in generation or at this gate - are made
   again, up to ``max_attempts`` times each; items that succeeded are never
   made again. A request already made in this run (an unchanged scene after a
   rework) reuses its file instead of paying for it twice.

Cancellation stops the run and deletes the files it made; so does any error
that ends it. Files of a finished run (passed or not) are kept and listed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from inference_core.application.chat import ChatJSON
from inference_core.application.media import GenerateMedia, TrackingStore
from inference_core.domain.chat import Usage
from inference_core.domain.descriptors import (
    AgentDescriptor,
    DescriptorResult,
    DimensionScore,
    Evaluation,
    MaterialItem,
    MediaFile,
    StageTiming,
    render_template,
    select,
)
from inference_core.domain.errors import (
    EvaluatorError,
    InferenceError,
    InvalidGeneratorInput,
    TemplateError,
    UnexpectedMediaType,
)
from inference_core.domain.media import GeneratedMedia, GenerationRequest, MediaInput
from inference_core.domain.messages import Message
from inference_core.ports.descriptors import Evaluator, Materializer
from inference_core.ports.media import AssetStore, MediaProbe

T = TypeVar("T")

__all__ = [
    "DescriptorProgress",
    "ExecuteDescriptor",
    "GateEvaluator",
    "RuleMaterializer",
]


@dataclass(frozen=True, slots=True)
class DescriptorProgress:
    """A stage report of a descriptor run (``stage``: ask, gate, media, assets, done)."""

    descriptor_id: str
    stage: str
    message: str
    attempt: int = 1


# --- the default materializer and evaluator -------------------------------------------------


class RuleMaterializer:
    """Plans media from the descriptor's ``materialize`` rules: one stage per rule, in order."""

    def plan(
        self, descriptor: AgentDescriptor, output: Any, stage: int, *, task_id: str
    ) -> Sequence[MaterialItem] | None:
        """The items of rule number ``stage`` (``None`` past the last rule)."""
        if stage >= len(descriptor.materialize):
            return None
        rule = descriptor.materialize[stage]
        items = []
        for location, node in select(output, rule.path):
            where = f"{descriptor.id}: materialize[{stage}] at {location}"
            try:
                prompt = render_template(rule.prompt, node, where=where) if rule.prompt else None
                text = render_template(rule.text, node, where=where) if rule.text else None
                description = (
                    render_template(rule.description, node, where=where)
                    if rule.description
                    else f"{rule.kind.value} for {location}"
                )
            except TemplateError as exc:
                raise InvalidGeneratorInput(rule.generator_id, [str(exc)]) from None
            inputs = []
            for name in rule.inputs:
                value = node.get(name)
                if not isinstance(value, str) or not value:
                    raise InvalidGeneratorInput(
                        rule.generator_id, [f"{where}: input field {name!r} holds no file"]
                    )
                inputs.append(MediaInput.of(value))
            item_id = _safe_id(f"{descriptor.asset_key or descriptor.id}_{location}_{rule.kind}")
            items.append(
                MaterialItem(
                    id=item_id,
                    location=location,
                    uri_field=rule.uri_field,
                    description=description,
                    request=GenerationRequest(
                        kind=rule.kind,
                        generator_id=rule.generator_id,
                        prompt=prompt,
                        text=text,
                        inputs=tuple(inputs),
                        params=dict(rule.params),
                        name=item_id,
                    ),
                )
            )
        return items


class _Judgement(BaseModel):
    """The creative judge's answer (the original's shape)."""

    dimensions: dict[str, DimensionScore]
    overall_pass: bool
    summary: str = Field(max_length=2000)


class GateEvaluator:
    """The default gates: the schema (already enforced), a model judge, and opened files.

    Args:
        chat_json: Asks the judge (``descriptor.evaluator``) for scores.
        probe: Opens files for the asset stage.
    """

    def __init__(self, chat_json: ChatJSON, probe: MediaProbe) -> None:
        self._chat_json = chat_json
        self._probe = probe
        self.usage = Usage()

    async def structure(self, descriptor: AgentDescriptor, output: Any) -> Sequence[str]:
        """The output is a JSON object (its schema was enforced when it was asked for)."""
        return (
            []
            if isinstance(output, dict)
            else [f"output is {type(output).__name__}, not an object"]
        )

    async def creative(self, descriptor: AgentDescriptor, output: Any) -> Evaluation:
        """Score every dimension with the judge model; pass when all reach the threshold."""
        spec = descriptor.evaluator
        if spec is None:
            return Evaluation(overall_pass=True, summary="no creative gate")
        criteria = "\n".join(f"- {name}: {meaning}" for name, meaning in spec.dimensions.items())
        judged = await self._chat_json(
            system=(
                "You are a strict reviewer. Score the work 0-10 on each dimension, with a "
                "short note, decide overall_pass, and summarise what must change. "
                + spec.instructions
            ).strip(),
            user=(
                f"Dimensions:\n{criteria}\n\nWork (JSON):\n"
                f"{json.dumps(output, ensure_ascii=False)[:20_000]}"
            ),
            schema=_Judgement,
            model=spec.model or descriptor.model,
        )
        self.usage = self.usage + judged.usage
        judgement = judged.value
        missing = sorted(set(spec.dimensions) - set(judgement.dimensions))
        low = {
            name: score
            for name, score in judgement.dimensions.items()
            if name in spec.dimensions and score.score < spec.threshold
        }
        passed = judgement.overall_pass and not missing and not low
        summary = judgement.summary
        if missing:
            summary += f" (not scored: {', '.join(missing)})"
        if low:
            summary += (
                " (below threshold: "
                + ", ".join(f"{n} {s.score:g} - {s.notes}" for n, s in low.items())
                + ")"
            )
        return Evaluation(dimensions=judgement.dimensions, overall_pass=passed, summary=summary)

    async def assets(
        self, descriptor: AgentDescriptor, files: Sequence[MediaFile]
    ) -> Sequence[str]:
        """Open every file: it must exist, decode, and be of the kind its type says."""
        problems = []
        for file in files:
            path = Path(file.path)
            if not await asyncio.to_thread(path.is_file):
                problems.append(f"{file.id}: {file.filename} is missing")
                continue
            try:
                await asyncio.to_thread(self._probe.measure, path, file.mime_type)
            except UnexpectedMediaType as exc:
                problems.append(f"{file.id}: {exc}")
        return problems


# --- the use-case ---------------------------------------------------------------------------


@dataclass
class _Run:
    """State of one run: files made (by request key), usage, timings."""

    descriptor: AgentDescriptor
    task_id: str
    store: TrackingStore
    progress: Callable[[DescriptorProgress], None] | None
    made: dict[str, GeneratedMedia] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    media_cost: float | None = 0.0
    timings: list[StageTiming] = field(default_factory=list)

    def report(self, stage: str, message: str, attempt: int = 1) -> None:
        if self.progress is not None:
            self.progress(DescriptorProgress(self.descriptor.id, stage, message, attempt))

    def add_cost(self, cost: float | None) -> None:
        self.media_cost = (
            None if cost is None or self.media_cost is None else self.media_cost + cost
        )


class ExecuteDescriptor:
    """Run descriptor sub-agents (see the module docstring for the stages).

    Args:
        chat_json: Asks for the output (and, through the default evaluator, the judge).
        generate_media: Makes the files.
        probe: Opens files for the asset gate.
        evaluator: The gates (default: :class:`GateEvaluator`).
        materializer: Output -> requests (default: :class:`RuleMaterializer`).
        concurrency: Media items made at once within a stage.
    """

    def __init__(
        self,
        chat_json: ChatJSON,
        generate_media: GenerateMedia,
        probe: MediaProbe,
        *,
        evaluator: Evaluator | None = None,
        materializer: Materializer | None = None,
        concurrency: int = 4,
    ) -> None:
        self._chat_json = chat_json
        self._media = generate_media
        self._probe = probe
        self._evaluator = evaluator
        self._materializer = materializer or RuleMaterializer()
        self._concurrency = concurrency

    async def __call__(
        self,
        descriptor: AgentDescriptor,
        variables: Mapping[str, Any] | None = None,
        *,
        task_id: str | None = None,
        store: AssetStore | None = None,
        on_progress: Callable[[DescriptorProgress], None] | None = None,
    ) -> DescriptorResult:
        """Run ``descriptor`` with ``variables`` and return its result.

        Raises:
            TemplateError: A prompt names a variable that was not given.
            InferenceError: The model call, an evaluator or a media request failed
                in a way retries could not fix (the run's files are deleted).
        """
        target = TrackingStore(store or self._media.store)  # undone if the run fails
        run = _Run(descriptor, task_id or uuid.uuid4().hex[:12], target, on_progress)
        evaluator = self._evaluator or GateEvaluator(self._chat_json, self._probe)
        values = dict(variables or {})
        system = render_template(descriptor.system_prompt, values, where=f"{descriptor.id}: system")
        user = render_template(descriptor.user_template, values, where=f"{descriptor.id}: user")
        try:
            output, evaluation, attempts = await self._ask_until_pass(run, evaluator, system, user)
            files: list[MediaFile] = []
            if evaluation.overall_pass and descriptor.materialize:
                began = time.perf_counter()
                files, asset_errors = await self._materialize(run, evaluator, output)
                run.timings.append(StageTiming(stage="media", seconds=time.perf_counter() - began))
                if asset_errors:
                    evaluation = evaluation.model_copy(
                        update={
                            "asset_errors": tuple(asset_errors),
                            "overall_pass": False,
                            "summary": (
                                evaluation.summary + " Assets: " + "; ".join(asset_errors)
                            ).strip(),
                        }
                    )
        except BaseException:
            await self._discard(run)
            raise
        if isinstance(evaluator, GateEvaluator):
            run.usage = run.usage + evaluator.usage
        run.report("done", "passed" if evaluation.overall_pass else "failed the gate")
        return DescriptorResult(
            descriptor_id=descriptor.id,
            task_id=run.task_id,
            output=output,
            files=tuple(files),
            attempts=attempts,
            passed=evaluation.overall_pass,
            evaluation=evaluation,
            usage=run.usage,
            media_cost_usd=run.media_cost,
            timings=tuple(run.timings),
        )

    # -- ask and gate --------------------------------------------------------

    async def _ask_until_pass(
        self, run: _Run, evaluator: Evaluator, system: str, user: str
    ) -> tuple[Any, Evaluation, int]:
        descriptor = run.descriptor
        schema: Any = descriptor.output_model or descriptor.output_schema
        notes = ""
        output: Any = None
        shots = [Message.system(system)] if system else []
        for example in descriptor.examples:
            shots += [
                Message.user(example.user),
                Message.assistant(json.dumps(example.output, ensure_ascii=False)),
            ]
        evaluation = Evaluation(overall_pass=False)
        for attempt in range(1, descriptor.max_attempts + 1):
            run.report("ask", f"asking {descriptor.model or 'the default model'}", attempt)
            began = time.perf_counter()
            prompt = user if not notes else f"{user}\n\nRework notes (fix these):\n{notes}"
            answer = await self._chat_json(
                [*shots, Message.user(prompt)],
                schema=schema,
                model=descriptor.model,
                params=descriptor.params,
            )
            run.usage = run.usage + answer.usage
            value = answer.value
            output = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
            run.timings.append(
                StageTiming(stage=f"ask {attempt}", seconds=time.perf_counter() - began)
            )
            run.report("gate", "evaluating", attempt)
            began = time.perf_counter()
            structural = list(
                await _judged(descriptor, "structure", evaluator.structure(descriptor, output))
            )
            if structural:
                evaluation = Evaluation(
                    structural_errors=tuple(structural),
                    overall_pass=False,
                    summary="Structure: " + "; ".join(structural),
                )
            else:
                evaluation = await _judged(
                    descriptor, "creative", evaluator.creative(descriptor, output)
                )
            run.timings.append(
                StageTiming(stage=f"gate {attempt}", seconds=time.perf_counter() - began)
            )
            if evaluation.overall_pass:
                return output, evaluation, attempt
            notes = evaluation.summary or "the previous answer did not pass review"
        return output, evaluation, descriptor.max_attempts

    # -- media ---------------------------------------------------------------

    async def _materialize(
        self, run: _Run, evaluator: Evaluator, output: Any
    ) -> tuple[list[MediaFile], list[str]]:
        files: list[MediaFile] = []
        problems: list[str] = []
        stage = 0
        while True:
            items = self._materializer.plan(run.descriptor, output, stage, task_id=run.task_id)
            if items is None:
                break
            stage_files, stage_problems = await self._make(run, evaluator, items)
            for item, file in stage_files:
                _write_uri(output, item, file.path)
                files.append(file)
            problems += stage_problems
            stage += 1
        return files, problems

    async def _make(
        self, run: _Run, evaluator: Evaluator, items: Sequence[MaterialItem]
    ) -> tuple[list[tuple[MaterialItem, MediaFile]], list[str]]:
        """Make every item, open the files, make the failed ones again; files and problems."""
        pending = list(items)
        done: dict[str, tuple[MaterialItem, MediaFile]] = {}
        errors: dict[str, str] = {}
        for attempt in range(1, run.descriptor.max_attempts + 1):
            if not pending:
                break
            run.report("media", f"{len(pending)} item(s)", attempt)
            failures: dict[str, str] = {}
            fresh_by_key: dict[str, MaterialItem] = {}
            for item in pending:  # one generation per distinct request, shared by its items
                fresh_by_key.setdefault(_key(item.request), item)
            fresh = [item for key, item in fresh_by_key.items() if key not in run.made]
            if fresh:
                results = await self._media.generate_many(
                    [item.request for item in fresh], concurrency=self._concurrency, store=run.store
                )
                for item, result in zip(fresh, results, strict=True):
                    if isinstance(result, Exception):
                        failures[_key(item.request)] = f"{type(result).__name__}: {result}"
                    else:
                        run.made[_key(item.request)] = result.files[0]
                        run.add_cost(result.usage.cost_usd)
            for item in pending:
                key = _key(item.request)
                if key not in run.made and key in failures:
                    errors[item.id] = f"{item.id}: {failures[key]}"
            made = [
                (item, _media_file(item, run.made[_key(item.request)]))
                for item in pending
                if _key(item.request) in run.made
            ]
            run.report("assets", f"checking {len(made)} file(s)", attempt)
            checking = evaluator.assets(run.descriptor, [file for _, file in made])
            found = list(await _judged(run.descriptor, "assets", checking))
            checked = {item.id: file for item, file in made}
            next_pending = []
            for item in pending:
                file = checked.get(item.id)
                if file is not None:
                    problem = next((p for p in found if p.startswith(f"{file.id}:")), None)
                    if problem is None:
                        done[item.id] = (item, file)
                        errors.pop(item.id, None)
                        continue
                    errors[item.id] = problem
                    bad = run.made.pop(_key(item.request), None)  # made again next attempt
                    if bad is not None:
                        await asyncio.to_thread(Path(bad.path).unlink, missing_ok=True)
                next_pending.append(item)
            pending = next_pending
        ordered = [done[item.id] for item in items if item.id in done]
        return ordered, [errors[item.id] for item in items if item.id in errors]

    async def _discard(self, run: _Run) -> None:
        await run.store.discard_all()


async def _judged(descriptor: AgentDescriptor, stage: str, verdict: Awaitable[T]) -> T:
    """Await an evaluator stage; any exception it raises becomes :class:`EvaluatorError`."""
    try:
        return await verdict
    except (asyncio.CancelledError, InferenceError):
        raise
    except Exception as exc:
        raise EvaluatorError(descriptor.id, stage, exc) from exc


def _key(request: GenerationRequest) -> str:
    """Identity of a request within a run: same request, same file (never paid twice)."""
    payload = request.model_dump(mode="json", exclude={"name"})
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "_", text).strip("_")[:120]


def _media_file(item: MaterialItem, media: GeneratedMedia) -> MediaFile:
    return MediaFile(
        id=item.id,
        path=media.path,
        filename=Path(media.path).name,
        mime_type=media.mime_type,
        size_bytes=media.size_bytes,
        sha256=media.sha256,
        description=item.description,
        location=item.location,
    )


def _write_uri(output: Any, item: MaterialItem, path: str) -> None:
    """Write the stored file's path (and its id) into the object the item came from."""
    node = _resolve(output, item.location)
    if node is not None:
        node[item.uri_field] = path
        node.setdefault("asset_id", item.id)


def _resolve(document: Any, location: str) -> dict[str, Any] | None:
    node: Any = document
    if location == "$":
        return node if isinstance(node, dict) else None
    for part in location.split("."):
        name, _, index = part.partition("[")
        if not isinstance(node, dict) or name not in node:
            return None
        node = node[name]
        if index:
            position = int(index.rstrip("]"))
            if not isinstance(node, list) or position >= len(node):
                return None
            node = node[position]
    return node if isinstance(node, dict) else None
