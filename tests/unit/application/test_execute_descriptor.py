"""ExecuteDescriptor with fakes: every branch, with the files on disk asserted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from inference_core.adapters.fakes import FakeChatModel, FakeMediaGenerator
from inference_core.adapters.media.registry import PluginGeneratorRegistry
from inference_core.adapters.storage import FilesystemAssetStore
from inference_core.application import GateEvaluator
from inference_core.composition import Inference, bootstrap
from inference_core.domain.config import RuntimeConfig
from inference_core.domain.descriptors import (
    AgentDescriptor,
    Evaluation,
    EvaluatorSpec,
    MaterializationRule,
    MediaFile,
)
from inference_core.domain.errors import ContentFiltered, EvaluatorError, TemplateError
from inference_core.domain.media import GenerationOutput, GenerationRequest, MediaKind
from inference_core.ports.media import AssetStore, ProgressCallback

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "scenes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"setting": {"type": "string"}, "action": {"type": "string"}},
                "required": ["setting", "action"],
            },
        },
    },
    "required": ["title", "scenes"],
}
OUTLINE = {
    "title": "Harbour",
    "scenes": [
        {"setting": "A pier at dawn", "action": "Boats leave."},
        {"setting": "Open sea", "action": "A storm rises."},
    ],
}
PASS = {
    "dimensions": {"vivid": {"score": 8, "notes": "good"}},
    "overall_pass": True,
    "summary": "ok",
}
FAIL = {
    "dimensions": {"vivid": {"score": 3, "notes": "flat"}},
    "overall_pass": False,
    "summary": "Make the settings more vivid.",
}


def descriptor(**fields: Any) -> AgentDescriptor:
    base: dict[str, Any] = {
        "id": "storyboard",
        "asset_key": "story",
        "system_prompt": "You write outlines.",
        "user_template": "An outline about $topic.",
        "output_schema": SCHEMA,
        "max_attempts": 2,
        "materialize": (
            MaterializationRule(
                path="scenes[*]",
                generator_id="fake_image_generator",
                kind=MediaKind.IMAGE,
                prompt="$setting: $action",
                params={"width": 32, "height": 16},
                uri_field="keyframe",
                description="keyframe of $setting",
            ),
        ),
    }
    base.update(fields)
    return AgentDescriptor(**base)


def wired(tmp_path: Path, chat: FakeChatModel, *generators: Any) -> Inference:
    inference = bootstrap(
        config=RuntimeConfig(), environ={}, chat_model=chat, default_model="openai/gpt-4o-mini"
    )
    inference.generator_registry = PluginGeneratorRegistry.of(generators or [FakeMediaGenerator()])
    inference.asset_store = FilesystemAssetStore(tmp_path / "files")
    return inference


def committed_files(tmp_path: Path) -> list[str]:
    """The files the store committed so far (a write may be in flight in its scratch)."""
    root = tmp_path / "files"
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_file())


def files_on_disk(tmp_path: Path) -> list[str]:
    """The committed files once nothing runs: no scratch file may be left behind."""
    scratch = tmp_path / "files" / ".scratch"
    assert not list(scratch.glob("*")) if scratch.exists() else True
    return committed_files(tmp_path)


async def test_passes_first_time_and_writes_uris_into_the_output(tmp_path: Path) -> None:
    fake = FakeMediaGenerator()
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)), fake)
    result = await inference.execute_descriptor(descriptor(), {"topic": "a harbour"}, task_id="t1")

    assert result.passed and result.attempts == 1
    assert len(result.files) == 2 and len(fake.calls) == 2
    for scene, file in zip(result.output["scenes"], result.files, strict=True):
        assert scene["keyframe"] == file.path
        with Image.open(file.path) as image:
            assert image.size == (32, 16)
    assert files_on_disk(tmp_path) == sorted(Path(f.path).name for f in result.files)
    legacy = result.to_legacy_dict()
    assert legacy["title"] == "Harbour"
    media = legacy["_media_files"]
    assert set(media) == {f.id for f in result.files}
    first = media[result.files[0].id]
    assert first["file_content"][:8] == b"\x89PNG\r\n\x1a\n" and first["filename"].endswith(".png")
    assert first["description"] == "keyframe of A pier at dawn"
    assert legacy["_execution_debug"] == {
        "attempts": 1,
        "overall_pass": True,
        "eval_summary": "no creative gate",
    }
    assert result.media_cost_usd == 0.0


async def test_rework_then_pass_sends_the_judges_notes(tmp_path: Path) -> None:
    chat = FakeChatModel(
        json.dumps(OUTLINE), json.dumps(FAIL), json.dumps(OUTLINE), json.dumps(PASS)
    )
    inference = wired(tmp_path, chat)
    spec = EvaluatorSpec(dimensions={"vivid": "settings are concrete and visual"})
    result = await inference.execute_descriptor(descriptor(evaluator=spec), {"topic": "sea"})

    assert result.passed and result.attempts == 2
    second_ask = chat.calls[2].messages[-1].text
    assert "Rework notes" in second_ask and "more vivid" in second_ask
    assert result.evaluation.dimensions["vivid"].score == 8
    assert len(result.files) == 2


async def test_a_gate_that_never_passes_fails_and_makes_no_media(tmp_path: Path) -> None:
    chat = FakeChatModel(
        json.dumps(OUTLINE), json.dumps(FAIL), json.dumps(OUTLINE), json.dumps(FAIL)
    )
    fake = FakeMediaGenerator()
    inference = wired(tmp_path, chat, fake)
    spec = EvaluatorSpec(dimensions={"vivid": "visual"})
    result = await inference.execute_descriptor(descriptor(evaluator=spec), {"topic": "sea"})

    assert not result.passed and result.attempts == 2
    assert "more vivid" in result.evaluation.summary
    assert fake.calls == [] and result.files == () and files_on_disk(tmp_path) == []
    assert result.to_legacy_dict()["_execution_debug"]["overall_pass"] is False


class RaisingEvaluator(GateEvaluator):
    async def creative(self, descriptor: AgentDescriptor, output: Any) -> Evaluation:
        raise RuntimeError("judge crashed")


async def test_an_evaluator_that_raises_is_a_failure_never_a_pass(tmp_path: Path) -> None:
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)))
    from inference_core.application import ExecuteDescriptor

    run = ExecuteDescriptor(
        inference.chat_json,
        inference.generate_media,
        inference.generate_media.probe,
        evaluator=RaisingEvaluator(inference.chat_json, inference.generate_media.probe),
    )
    with pytest.raises(EvaluatorError, match="creative stage raised RuntimeError: judge crashed"):
        await run(descriptor(), {"topic": "sea"})
    assert files_on_disk(tmp_path) == []


async def test_a_failed_item_is_made_again_and_the_others_are_not(tmp_path: Path) -> None:
    fake = FakeMediaGenerator(script=[ContentFiltered("refused", status=400)])
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)), fake)
    result = await inference.execute_descriptor(descriptor(), {"topic": "sea"})

    assert result.passed
    assert len(fake.calls) == 3  # two items, one of them twice: nothing paid for twice
    prompts = [c.prompt for c in fake.calls]
    assert (
        prompts.count("A pier at dawn: Boats leave.") + prompts.count("Open sea: A storm rises.")
        == 3
    )
    assert len(files_on_disk(tmp_path)) == 2


class RefusesTheSea(FakeMediaGenerator):
    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        if request.prompt and request.prompt.startswith("Open sea"):
            self.calls.append(request)
            raise ContentFiltered("refused", status=400)
        return await super().generate(request, store=store, on_progress=on_progress)


async def test_an_item_failing_every_attempt_fails_the_asset_gate(tmp_path: Path) -> None:
    fake = RefusesTheSea()
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)), fake)
    result = await inference.execute_descriptor(descriptor(), {"topic": "sea"})

    assert not result.passed
    assert len(result.files) == 1 and any(
        "ContentFiltered" in e for e in result.evaluation.asset_errors
    )
    assert len(fake.calls) == 3  # the sea twice (max_attempts), the pier once
    assert len(files_on_disk(tmp_path)) == 1  # a finished run keeps what it made


class VandalEvaluator(GateEvaluator):
    """The first asset check finds one file deleted and one truncated."""

    checks = 0

    async def assets(
        self, descriptor: AgentDescriptor, files: Sequence[MediaFile]
    ) -> Sequence[str]:
        VandalEvaluator.checks += 1
        if VandalEvaluator.checks == 1:
            Path(files[0].path).unlink()
            Path(files[1].path).write_bytes(Path(files[1].path).read_bytes()[:40])
        return await super().assets(descriptor, files)


async def test_the_asset_gate_opens_files_and_remakes_missing_or_broken_ones(
    tmp_path: Path,
) -> None:
    fake = FakeMediaGenerator()
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)), fake)
    from inference_core.application import ExecuteDescriptor

    probe = inference.generate_media.probe
    run = ExecuteDescriptor(
        inference.chat_json, inference.generate_media, probe,
        evaluator=VandalEvaluator(inference.chat_json, probe),
    )  # fmt: skip
    result = await run(descriptor(), {"topic": "sea"})

    assert result.passed and len(fake.calls) == 4  # both remade once, after the gate found them
    for file in result.files:
        with Image.open(file.path) as image:
            image.verify()
    assert len(files_on_disk(tmp_path)) == 2


class SlowGenerator(FakeMediaGenerator):
    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        output = await super().generate(request, store=store, on_progress=on_progress)
        if request.prompt and request.prompt.startswith("Open sea"):
            await asyncio.sleep(30)
        return output


async def test_cancellation_stops_the_run_and_leaves_no_files(tmp_path: Path) -> None:
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)), SlowGenerator())
    task = asyncio.create_task(inference.execute_descriptor(descriptor(), {"topic": "sea"}))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if len(committed_files(tmp_path)) == 2:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files_on_disk(tmp_path) == []


async def test_a_missing_template_variable_is_an_error(tmp_path: Path) -> None:
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)))
    with pytest.raises(TemplateError, match="topic"):
        await inference.execute_descriptor(descriptor(), {})


async def test_identical_requests_are_made_once_and_shared(tmp_path: Path) -> None:
    twins = {
        "title": "Twins",
        "scenes": [
            {"setting": "A pier", "action": "Boats leave."},
            {"setting": "A pier", "action": "Boats leave."},
        ],
    }
    fake = FakeMediaGenerator()
    inference = wired(tmp_path, FakeChatModel(json.dumps(twins)), fake)
    result = await inference.execute_descriptor(descriptor(), {"topic": "sea"})

    assert result.passed and len(fake.calls) == 1  # the same image is not paid for twice
    assert [f.path for f in result.files] == [result.files[0].path] * 2
    assert len(files_on_disk(tmp_path)) == 1  # and no orphan file
