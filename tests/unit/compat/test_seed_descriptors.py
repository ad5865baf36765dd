"""The original's descriptor protocol run unchanged on the library (fakes, real files)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import BaseModel

from inference_core.adapters.fakes import FakeChatModel, FakeMediaGenerator
from inference_core.adapters.media.registry import PluginGeneratorRegistry
from inference_core.adapters.storage import FilesystemAssetStore
from inference_core.compat.descriptors import (
    BaseAgent,
    BaseEvaluator,
    BaseMaterializer,
    EvaluatorError,
    ExecutionResult,
    MaterializeContext,
    MediaAsset,
    SubAgentDescriptor,
    execute_any,
    run_legacy_descriptor,
)
from inference_core.compat.media_services import MockImageService
from inference_core.composition import Inference, bootstrap
from inference_core.domain.config import MediaSettings, RuntimeConfig
from inference_core.domain.descriptors import AgentDescriptor, MaterializationRule
from inference_core.domain.media import MediaKind

# --- agents written in the original's style --------------------------------------------------


class TaskInput(BaseModel):
    task_id: str
    text: str = ""
    previous: dict[str, Any] = {}


def build_input(task_id: str, bundle: Mapping[str, Any]) -> TaskInput:
    return TaskInput(
        task_id=task_id, text=str(bundle.get("text", "")), previous=dict(bundle.get("assets", {}))
    )


class DummyAgent(BaseAgent):
    system_prompt = "Return a JSON summary."


class Outline(BaseModel):
    title: str
    scenes: list[dict[str, Any]]


class OutlineAgent(BaseAgent):
    system_prompt = "You write outlines as JSON."
    output_model = Outline


class ConsumerAgent(BaseAgent):
    system_prompt = "You review an outline."

    def build_user_prompt(
        self, input_data: Any, *, input_bundle: Mapping[str, Any] | None, rework_notes: str
    ) -> str:
        outline = (input_bundle or {})["assets"]["outline"]
        return f"Review the outline titled {outline['title']!r}."


class CardMaterializer(BaseMaterializer):
    """One image per scene from the image service, URI written into the scene."""

    async def materialize(
        self, task_id: str, asset_dict: dict[str, Any], input_bundle: Mapping[str, Any]
    ) -> list[MediaAsset]:
        service = self.services["image"]
        assets = []
        for index, scene in enumerate(asset_dict["scenes"]):
            data = await service.generate_image(scene["setting"])
            scene["asset_id"] = f"{task_id}_scene_{index}"
            assets.append(
                MediaAsset(
                    f"{task_id}_scene_{index}", data, "png", scene, f"card of {scene['setting']}"
                )
            )
        return assets


class FixedBytesMaterializer(BaseMaterializer):
    def __init__(self, services: Mapping[str, Any], data: bytes) -> None:
        super().__init__(services)
        self.data = data

    async def materialize(
        self, task_id: str, asset_dict: dict[str, Any], input_bundle: Mapping[str, Any]
    ) -> list[MediaAsset]:
        return [MediaAsset("broken", self.data, "png", asset_dict)]


class RejectingEvaluator(BaseEvaluator):
    def __init__(self) -> None:
        self.seen = 0

    def evaluate_structure(self, output: Any, input_data: Any) -> list[str]:
        self.seen += 1
        return ["scenes are missing"]


class CrashingEvaluator(BaseEvaluator):
    def evaluate_structure(self, output: Any, input_data: Any) -> list[str]:
        return []

    async def evaluate_creative(self, output: Any, input_data: Any, *, llm: Any) -> dict[str, Any]:
        raise RuntimeError("judge crashed")


class JudgedEvaluator(BaseEvaluator):
    dimensions = {"vivid": "the settings are concrete"}


def descriptor(agent_id: str, agent: type[BaseAgent], **fields: Any) -> SubAgentDescriptor:
    return SubAgentDescriptor(
        agent_id=agent_id,
        asset_key=fields.pop("asset_key", agent_id),
        catalog_entry={"name": agent_id},
        agent_factory=agent,
        evaluator_factory=fields.pop("evaluator_factory", None),
        build_input=build_input,
        **fields,
    )


OUTLINE = {"title": "Harbour", "scenes": [{"setting": "A pier at dawn"}, {"setting": "Open sea"}]}


def wired(tmp_path: Path, chat: FakeChatModel) -> Inference:
    config = RuntimeConfig(media=MediaSettings(output_dir=str(tmp_path / "media")))
    inference = bootstrap(
        config=config, environ={}, chat_model=chat, default_model="openai/gpt-4o-mini"
    )
    inference.generator_registry = PluginGeneratorRegistry.of([FakeMediaGenerator()])
    return inference


def files(root: Path) -> list[str]:
    if not root.exists():
        return []
    assert not any((root / ".scratch").glob("*")) if (root / ".scratch").exists() else True
    return sorted(p.name for p in root.iterdir() if p.is_file())


# --- the tests -------------------------------------------------------------------------------


async def test_a_dummy_agent_in_the_original_style_runs_unchanged(tmp_path: Path) -> None:
    chat = FakeChatModel(json.dumps({"summary": "integration ok"}))
    inference = wired(tmp_path, chat)
    result = await run_legacy_descriptor(
        descriptor("dummy", DummyAgent),
        task_id="t1",
        input_bundle={"text": "hello"},
        inference=inference,
        store=FilesystemAssetStore(tmp_path / "out"),
    )
    assert result.output == {"summary": "integration ok"}
    assert result.passed and result.attempts == 1 and result.files == ()
    assert result.descriptor_id == "dummy" and result.task_id == "t1"
    # the prompt the agent built reached the model through the library's LLMClient
    sent = chat.calls[0].messages
    assert sent[0].text.startswith("Return a JSON summary.")
    assert '"text":"hello"' in sent[-1].text
    # usage of this run only, from the Inference's usage events
    assert result.usage.output_tokens == 3 and result.usage == inference.ledger.total.usage
    assert inference.ledger.total.ok == 1
    legacy = result.to_legacy_dict()
    assert legacy["summary"] == "integration ok" and legacy["_media_files"] == {}
    assert legacy["_execution_debug"]["overall_pass"] is True
    assert files(tmp_path / "out") == []


async def test_a_producer_then_a_consumer_that_sees_its_output(tmp_path: Path) -> None:
    chat = FakeChatModel(json.dumps(OUTLINE), json.dumps({"verdict": "fine"}))
    inference = wired(tmp_path, chat)
    store = FilesystemAssetStore(tmp_path / "out")
    first = await execute_any(
        descriptor("outline", OutlineAgent),
        task_id="t2",
        input_bundle={"text": "a harbour"},
        inference=inference,
        store=store,
    )
    assert first.output == OUTLINE
    second = await execute_any(
        descriptor("review", ConsumerAgent),
        task_id="t2",
        input_bundle={"text": "review it", "assets": {"outline": first.output}},
        inference=inference,
        store=store,
    )
    assert second.output == {"verdict": "fine"}
    assert "Review the outline titled 'Harbour'." in chat.calls[1].messages[-1].text


async def test_a_materializer_persists_real_pngs_from_the_mock_image_service(
    tmp_path: Path,
) -> None:
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)))
    out = tmp_path / "out"
    result = await run_legacy_descriptor(
        descriptor("outline", OutlineAgent, materializer_factory=CardMaterializer),
        task_id="t3",
        input_bundle={"text": "a harbour"},
        inference=inference,
        store=FilesystemAssetStore(out),
    )
    assert result.passed, result.evaluation
    assert [f.id for f in result.files] == ["t3_scene_0", "t3_scene_1"]
    for scene, file in zip(result.output["scenes"], result.files, strict=True):
        assert scene["uri"] == file.path and scene["asset_id"] == file.id
        assert Path(file.path).parent == out.resolve() and file.mime_type == "image/png"
        with Image.open(file.path) as image:
            image.verify()
        assert file.description == f"card of {scene['setting']}"
    # only the persisted files are kept: the service's own copies went to a scratch directory
    assert files(out) == ["t3_scene_0.png", "t3_scene_1.png"]
    assert files(tmp_path / "media") == []
    legacy = result.to_legacy_dict()
    assert legacy["_media_files"]["t3_scene_0"]["file_content"][:4] == b"\x89PNG"
    assert legacy["_media_files"]["t3_scene_0"]["filename"] == "t3_scene_0.png"
    assert result.media_cost_usd == 0.0


async def test_services_override_is_used_as_given(tmp_path: Path) -> None:
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)))
    image = MockImageService(inference=inference)
    result = await run_legacy_descriptor(
        descriptor("outline", OutlineAgent, materializer_factory=CardMaterializer),
        task_id="t4",
        inference=inference,
        services_override={"image": image},
        store=FilesystemAssetStore(tmp_path / "out"),
    )
    assert result.passed and len(result.files) == 2


async def test_a_gate_that_never_passes_fails_and_makes_no_media(tmp_path: Path) -> None:
    chat = FakeChatModel(*[json.dumps(OUTLINE)] * 3)
    inference = wired(tmp_path, chat)
    evaluator = RejectingEvaluator()
    result = await run_legacy_descriptor(
        descriptor(
            "outline",
            OutlineAgent,
            evaluator_factory=lambda: evaluator,
            materializer_factory=CardMaterializer,
        ),
        task_id="t5",
        inference=inference,
        store=FilesystemAssetStore(tmp_path / "out"),
    )
    assert not result.passed and result.attempts == 3 and evaluator.seen == 3
    assert result.evaluation.structural_errors == ("scenes are missing",)
    assert "scenes are missing" in result.evaluation.summary
    assert result.files == () and files(tmp_path / "out") == []
    # the summary became the rework notes of the next round
    assert "Rework notes" in chat.calls[1].messages[-1].text
    assert result.to_legacy_dict()["_execution_debug"]["overall_pass"] is False


async def test_an_output_that_does_not_validate_is_reworked(tmp_path: Path) -> None:
    chat = FakeChatModel(json.dumps({"title": "no scenes"}), json.dumps(OUTLINE))
    inference = wired(tmp_path, chat)

    class Loose(OutlineAgent):
        output_schema = {"type": "object"}  # asks for any object, then validates strictly

    result = await run_legacy_descriptor(
        descriptor("outline", Loose), task_id="t6", inference=inference
    )
    assert result.passed and result.attempts == 2 and result.output == OUTLINE
    assert "does not validate" in chat.calls[1].messages[-1].text


async def test_an_evaluator_that_raises_is_a_failure_never_a_pass(tmp_path: Path) -> None:
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)))
    with pytest.raises(EvaluatorError, match="judge crashed") as raised:
        await run_legacy_descriptor(
            descriptor(
                "outline",
                OutlineAgent,
                evaluator_factory=CrashingEvaluator,
                materializer_factory=CardMaterializer,
            ),
            task_id="t7",
            inference=inference,
            store=FilesystemAssetStore(tmp_path / "out"),
        )
    assert raised.value.stage == "creative"
    assert files(tmp_path / "out") == []


async def test_a_judge_answer_without_a_boolean_pass_is_an_error(tmp_path: Path) -> None:
    chat = FakeChatModel(json.dumps(OUTLINE), json.dumps({"summary": "looks fine"}))
    inference = wired(tmp_path, chat)
    with pytest.raises(EvaluatorError, match="overall_pass"):
        await run_legacy_descriptor(
            descriptor("outline", OutlineAgent, evaluator_factory=JudgedEvaluator),
            task_id="t8",
            inference=inference,
        )


async def test_the_creative_judge_reworks_then_passes(tmp_path: Path) -> None:
    low = {"dimensions": {"vivid": {"score": 3, "notes": "flat"}}, "overall_pass": True}
    high = {"dimensions": {"vivid": {"score": 8, "notes": "ok"}}, "overall_pass": True}
    chat = FakeChatModel(
        *(json.dumps(x) for x in (OUTLINE, {**low, "summary": "more vivid"}, OUTLINE, high))
    )
    inference = wired(tmp_path, chat)
    result = await run_legacy_descriptor(
        descriptor("outline", OutlineAgent, evaluator_factory=JudgedEvaluator),
        task_id="t9",
        inference=inference,
    )
    assert result.passed and result.attempts == 2
    assert result.evaluation.dimensions["vivid"].score == 8
    assert "more vivid" in chat.calls[2].messages[-1].text


async def test_the_asset_gate_opens_the_files(tmp_path: Path) -> None:
    # PNG magic followed by garbage: stored (the type sniffs), then fails to decode.
    broken = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)))
    result = await run_legacy_descriptor(
        descriptor(
            "outline",
            OutlineAgent,
            materializer_factory=lambda services: FixedBytesMaterializer(services, broken),
        ),
        task_id="t10",
        inference=inference,
        store=FilesystemAssetStore(tmp_path / "out"),
    )
    assert not result.passed and result.files == ()
    assert result.evaluation.asset_errors and "broken" in result.evaluation.asset_errors[0]
    assert files(tmp_path / "out") == []  # the undecodable file is not kept


async def test_bytes_that_are_not_media_fail_the_asset_gate(tmp_path: Path) -> None:
    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)))
    result = await run_legacy_descriptor(
        descriptor(
            "outline",
            OutlineAgent,
            materializer_factory=lambda services: FixedBytesMaterializer(services, b"hello"),
        ),
        task_id="t11",
        inference=inference,
        store=FilesystemAssetStore(tmp_path / "out"),
    )
    assert not result.passed and "not stored" in result.evaluation.summary
    assert files(tmp_path / "out") == []


async def test_cancellation_deletes_what_was_persisted(tmp_path: Path) -> None:
    gate = asyncio.Event()

    class HangingAgent(OutlineAgent):
        async def run(self, input_data: Any, **kwargs: Any) -> ExecutionResult:
            ctx: MaterializeContext = kwargs["materialize_ctx"]
            asset = MediaAsset("first", _png(), "png", {})
            await ctx.persist_binary(asset)  # type: ignore[misc]
            gate.set()
            await asyncio.sleep(60)
            raise AssertionError("not cancelled")

    inference = wired(tmp_path, FakeChatModel(json.dumps(OUTLINE)))
    task = asyncio.create_task(
        run_legacy_descriptor(
            descriptor("outline", HangingAgent, materializer_factory=CardMaterializer),
            task_id="t12",
            inference=inference,
            store=FilesystemAssetStore(tmp_path / "out"),
        )
    )
    await gate.wait()
    assert files(tmp_path / "out") == ["first.png"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files(tmp_path / "out") == []


async def test_execute_any_runs_an_agent_descriptor_too(tmp_path: Path) -> None:
    chat = FakeChatModel(json.dumps(OUTLINE))
    inference = wired(tmp_path, chat)
    agent = AgentDescriptor(
        id="storyboard",
        user_template="About $input.",
        materialize=(
            MaterializationRule(
                path="scenes[*]",
                generator_id="fake_image_generator",
                kind=MediaKind.IMAGE,
                prompt="$setting",
                params={"width": 32, "height": 16},
            ),
        ),
    )
    result = await execute_any(
        agent,
        task_id="t13",
        input_bundle={"text": "a harbour"},
        inference=inference,
        store=FilesystemAssetStore(tmp_path / "out"),
    )
    assert result.passed and len(result.files) == 2
    assert "About a harbour." in chat.calls[0].messages[-1].text
    with pytest.raises(TypeError, match="neither"):
        await execute_any(object(), task_id="t", inference=inference)


def test_build_equipped_agent_attaches_evaluator_materializer_and_services(
    tmp_path: Path,
) -> None:
    inference = wired(tmp_path, FakeChatModel())
    d = descriptor(
        "outline",
        OutlineAgent,
        evaluator_factory=JudgedEvaluator,
        materializer_factory=CardMaterializer,
    )
    agent = d.build_equipped_agent(llm=type("LLM", (), {"inference": inference})())
    assert isinstance(agent.evaluator, JudgedEvaluator)
    assert isinstance(agent.materializer, CardMaterializer)
    assert set(agent.services) == {"image", "video", "audio"}
    assert agent.materializer.services is not None and agent.agent_id == "outline"
    bare = descriptor("dummy", DummyAgent).build_equipped_agent(llm=None, services_override={})
    assert bare.evaluator is None and bare.materializer is None


def _png() -> bytes:
    import io

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(out, "PNG")
    return out.getvalue()


async def test_concurrent_runs_each_report_their_own_usage(tmp_path: Path) -> None:
    answer = json.dumps({"summary": "integration ok"})
    inference = wired(tmp_path, FakeChatModel(default_text=answer))
    short, long = await asyncio.gather(
        run_legacy_descriptor(
            descriptor("dummy", DummyAgent), task_id="a", input_bundle={"text": "hi"},
            inference=inference,
        ),
        run_legacy_descriptor(
            descriptor("dummy", DummyAgent), task_id="b",
            input_bundle={"text": " ".join(["word"] * 50)}, inference=inference,
        ),
    )  # fmt: skip
    assert short.usage.input_tokens is not None and long.usage.input_tokens is not None
    assert long.usage.input_tokens > short.usage.input_tokens
    assert (short.usage + long.usage).input_tokens == inference.ledger.total.usage.input_tokens
