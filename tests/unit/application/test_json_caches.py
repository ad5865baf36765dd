"""What ChatJSON derives from a schema class is built once per class, and is the same as before."""

from __future__ import annotations

import threading

import pytest
from pydantic import BaseModel

from inference_core.application.json_output import OutputSchema, model_plan, plan_json
from inference_core.application.json_schema import check_schema
from inference_core.domain.catalog import JSONOutput
from inference_core.domain.chat import ResponseFormat, schema_name
from tests.unit.application.support import Wired, config, fake, spec

MODEL = "json-model"


class Movie(BaseModel):
    title: str
    year: int | None = None


class Book(BaseModel):
    title: str
    pages: int


def test_a_class_is_described_once_and_as_it_would_be_built_fresh() -> None:
    first = OutputSchema.of(Movie)

    assert OutputSchema.of(Movie) is first
    assert OutputSchema.of(Book) is not first
    assert first == OutputSchema(Movie, Movie.model_json_schema(), schema_name("Movie"))


@pytest.mark.parametrize("strategy", list(JSONOutput))
def test_a_plan_is_built_once_per_class_and_strategy_and_matches_a_fresh_one(
    strategy: JSONOutput,
) -> None:
    plan = model_plan(Movie, strategy)

    assert model_plan(Movie, strategy) is plan
    assert model_plan(Book, strategy) is not plan
    fresh = plan_json(strategy, OutputSchema(Movie, Movie.model_json_schema(), "Movie"))
    assert plan == fresh


def test_the_strict_rewrite_is_cached_with_its_plan() -> None:
    plan = model_plan(Movie, JSONOutput.JSON_SCHEMA)

    assert plan.strict is True
    assert isinstance(plan.response_format, ResponseFormat)
    strict = plan.response_format.schema_
    assert strict is not None
    assert strict["required"] == ["title", "year"]  # optional fields become required
    assert strict["additionalProperties"] is False
    # The cached class schema itself is not rewritten.
    assert OutputSchema.of(Movie).schema == Movie.model_json_schema()
    assert model_plan(Movie, JSONOutput.JSON_SCHEMA).response_format is plan.response_format


def test_a_schema_dict_keeps_one_validator_and_threads_agree_on_it() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "title": "Counted"}
    seen: list[object] = []

    def check() -> None:
        seen.append(check_schema(dict(schema)))

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    cached = check_schema(schema)
    assert len(seen) == 8
    assert any(validator is cached for validator in seen)  # one of theirs was kept
    assert check_schema(schema) is cached
    assert OutputSchema.of(schema).validate({"n": "x"})[1] == ["$.n: expected integer, got string"]


async def test_chat_json_answers_are_unchanged_by_the_caches() -> None:
    wired = Wired(
        fakes={"p4": fake('{"title": "Dune", "year": 1965}', '{"title": "Emma"}')},
        cfg=config(models=[spec(MODEL, "p4", json_output=JSONOutput.JSON_SCHEMA)]),
    )

    first = await wired.inference.chat_json(user="a movie", schema=Movie, model=MODEL)
    second = await wired.inference.chat_json(user="another", schema=Movie, model=MODEL)

    assert first.value == Movie(title="Dune", year=1965)
    assert second.value == Movie(title="Emma")
    sent = [request.response_format for request in wired.fake("p4").calls]
    assert sent[0] == sent[1] == model_plan(Movie, JSONOutput.JSON_SCHEMA).response_format
