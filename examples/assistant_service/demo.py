"""Two demo agents for the host, one of each protocol, and the fake model of ``--fake``.

* ``storyboard`` - an :class:`~inference_core.domain.descriptors.AgentDescriptor`:
  a title and one or two scenes (a schema small enough for the embedded 270M
  model), then one offline image card per scene (``offline_image_card``), its
  path written into the scene as ``keyframe``.
* ``dummy`` - an original-style ``SubAgentDescriptor``: a one-line summary of
  the text (``{"summary": "integration ok"}`` under ``--fake``), a structural
  gate (every ``#tag`` of the text must appear in the summary; a text with a
  tag the summary lacks fails the gate), and a materializer that asks the
  seed's ``MockImageService`` for a card of the summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from inference_core.compat.descriptors import (
    BaseAgent,
    BaseEvaluator,
    BaseMaterializer,
    MediaAsset,
    SubAgentDescriptor,
)
from inference_core.domain.chat import ChatRequest, GenerationParams
from inference_core.domain.descriptors import AgentDescriptor, MaterializationRule
from inference_core.domain.media import MediaKind

__all__ = ["STORYBOARD_SCHEMA", "demo_descriptors", "fake_answer"]

#: Small on purpose: the embedded Gemma 3 270M answers it in a few seconds.
STORYBOARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 60},
        "scenes": {
            "type": "array",
            "minItems": 1,
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {"setting": {"type": "string", "minLength": 1, "maxLength": 80}},
                "required": ["setting"],
            },
        },
    },
    "required": ["title", "scenes"],
}

STORYBOARD = AgentDescriptor(
    id="storyboard",
    asset_key="storyboard",
    catalog_entry={
        "name": "Storyboard",
        "description": "A title and one or two scenes, with a keyframe card per scene.",
    },
    system_prompt=(
        "You turn a story idea into a storyboard. Reply with JSON: "
        '{"title": a short title, "scenes": [{"setting": where the scene happens and what '
        "we see}]}. Use one or two scenes."
    ),
    user_template="Storyboard for: $input",
    output_schema=STORYBOARD_SCHEMA,
    params=GenerationParams(max_tokens=120, temperature=0.0, seed=7),
    max_attempts=2,
    materialize=(
        MaterializationRule(
            path="scenes[*]",
            generator_id="offline_image_card",
            kind=MediaKind.IMAGE,
            prompt="$setting",
            params={"width": 320, "height": 180},
            uri_field="keyframe",
            description="keyframe card: $setting",
        ),
    ),
)


# --- the seed-style dummy --------------------------------------------------------------------


class DummyInput(BaseModel):
    """What the dummy agent is given."""

    task_id: str
    text: str = ""


def build_dummy_input(task_id: str, input_bundle: Mapping[str, Any]) -> DummyInput:
    """The dummy's input from the host's bundle."""
    return DummyInput(task_id=task_id, text=str(input_bundle.get("text", "")))


class DummyAgent(BaseAgent):
    """Summarises the text in one line."""

    system_prompt = (
        "You write a one-line summary of the user's text. "
        'Answer JSON: {"summary": "<the summary>"}.'
    )
    output_schema = {
        "type": "object",
        "properties": {"summary": {"type": "string", "minLength": 1, "maxLength": 80}},
        "required": ["summary"],
    }
    max_tokens = 48

    def build_user_prompt(
        self, input_data: Any, *, input_bundle: Mapping[str, Any] | None, rework_notes: str
    ) -> str:
        """The text, then the rework notes of a failed attempt."""
        prompt = f"Text: {input_data.text or 'integration ok'}"
        return f"{prompt}\n\nFix this: {rework_notes}" if rework_notes else prompt


class TagEvaluator(BaseEvaluator):
    """Every ``#tag`` of the input text must appear in the summary."""

    def evaluate_structure(self, output: Any, input_data: Any) -> list[str]:
        """The tags the summary lacks."""
        summary = str(output.get("summary", "")).lower() if isinstance(output, dict) else ""
        tags = re.findall(r"#(\w+)", getattr(input_data, "text", ""))
        missing = [tag for tag in tags if tag.lower() not in summary]
        return [f"the summary does not mention {', '.join(missing)}"] if missing else []


class SummaryCardMaterializer(BaseMaterializer):
    """One image card of the summary, from the ``image`` service."""

    async def materialize(
        self, task_id: str, asset_dict: dict[str, Any], input_bundle: Mapping[str, Any]
    ) -> list[MediaAsset]:
        """The card; its URI goes to ``asset_dict["card"]["uri"]``."""
        summary = str(asset_dict.get("summary", ""))
        data = await self.services["image"].generate_image(summary or "summary")
        card: dict[str, Any] = {"prompt": summary, "asset_id": f"{task_id}_summary_card"}
        asset_dict["card"] = card
        return [MediaAsset(card["asset_id"], data, "png", card, "card of the summary")]


DUMMY = SubAgentDescriptor(
    agent_id="dummy",
    asset_key="summary",
    catalog_entry={"name": "Dummy", "description": "A one-line summary and a card of it."},
    agent_factory=DummyAgent,
    evaluator_factory=TagEvaluator,
    build_input=build_dummy_input,
    materializer_factory=SummaryCardMaterializer,  # services: the seed's Mock services
)


def demo_descriptors() -> dict[str, Any]:
    """The demo agents by id."""
    return {STORYBOARD.id: STORYBOARD, DUMMY.agent_id: DUMMY}


# --- the fake model of --fake ----------------------------------------------------------------


def fake_answer(request: ChatRequest) -> str:
    """What ``--fake`` answers (a ``FunctionChatModel`` function): JSON for each demo agent."""
    system = " ".join(m.text for m in request.messages if m.role == "system")
    user = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
    if "storyboard" in system.lower():
        topic = user.removeprefix("Storyboard for: ").split("\n")[0].strip() or "a story"
        return json.dumps(
            {
                "title": topic[:60],
                "scenes": [
                    {"setting": f"{topic[:60]}: the opening"},
                    {"setting": f"{topic[:60]}: the ending"},
                ],
            }
        )
    if "summary" in system.lower():
        return json.dumps({"summary": "integration ok"})
    return "{}"
