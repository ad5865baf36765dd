"""Every bad argument to a use-case is a typed library error naming it; nothing is sent."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.adapters.fakes import FakeChatModel
from inference_core.domain.errors import InvalidInputError
from tests.unit.application.support import Wired

BAD_CALLS: dict[str, dict[str, Any]] = {
    "messages=5": {"messages": 5},
    "messages=None-ish object": {"messages": object()},
    "unhashable role": {"messages": [{"role": ["user"], "content": "x"}]},
    "role as a number": {"messages": [{"role": 3, "content": "x"}]},
    "lone surrogate in user": {"user": "bad \ud800 text"},
    "lone surrogate in a message": {"messages": [{"role": "user", "content": "a\udfffb"}]},
    "lone surrogate in a text part": {
        "messages": [{"role": "user", "content": [{"type": "text", "text": "\ud83d"}]}]
    },
    "model=5": {"user": "x", "model": 5},
    "model=['x']": {"user": "x", "model": ["x"]},
    "empty model": {"user": "x", "model": " "},
    "retry as a dict": {"user": "x", "retry": {"max_attempts": 2}},
    "params as a dict": {"user": "x", "params": {"temperature": 1}},
    "system as a number": {"system": 5, "user": "x"},
    "user as a number": {"user": 5},
    "attempt_timeout as text": {"user": "x", "attempt_timeout": "soon"},
    "attempt_timeout negative": {"user": "x", "attempt_timeout": -1},
    "attempt_timeout True": {"user": "x", "attempt_timeout": True},
    "request_id as a number": {"user": "x", "request_id": 5},
}
BAD_JSON_CALLS: dict[str, dict[str, Any]] = {
    "max_repairs=-1": {"user": "x", "max_repairs": -1},
    "max_repairs='x'": {"user": "x", "max_repairs": "x"},
    "max_repairs=True": {"user": "x", "max_repairs": True},
    "schema as a number": {"user": "x", "schema": 5},
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
@pytest.mark.parametrize("use_case", ["chat_text", "chat_json", "stream_chat"])
async def test_bad_arguments_are_typed_errors_and_nothing_is_sent(name: str, use_case: str) -> None:
    fake = FakeChatModel('{"a": 1}')
    wired = Wired(fakes={"p1": fake})
    call = getattr(wired.inference, use_case)
    with pytest.raises(InvalidInputError):
        if use_case == "stream_chat":
            async for _ in call(**BAD_CALLS[name]):
                pass
        else:
            await call(**BAD_CALLS[name])
    assert fake.calls == []


@pytest.mark.parametrize("name", list(BAD_JSON_CALLS))
async def test_bad_json_arguments_are_typed_errors(name: str) -> None:
    fake = FakeChatModel('{"a": 1}')
    wired = Wired(fakes={"p1": fake})
    with pytest.raises(InvalidInputError) as caught:
        await wired.inference.chat_json(**BAD_JSON_CALLS[name])
    assert fake.calls == []
    argument = name.split("=")[0].split(" ")[0]
    assert argument in str(caught.value)


def test_the_error_names_the_argument() -> None:
    import asyncio

    wired = Wired()
    with pytest.raises(InvalidInputError, match=r"model must be a model id.*got int"):
        asyncio.run(wired.inference.chat_text(user="x", model=5))
    with pytest.raises(InvalidInputError, match=r"messages\[0\]\.content: text is not valid"):
        asyncio.run(wired.inference.chat_text(messages=[{"role": "user", "content": "\ud800"}]))


@pytest.mark.parametrize("use_case", ["chat_text", "chat_json", "stream_chat"])
async def test_a_misspelt_keyword_is_refused_not_ignored(use_case: str) -> None:
    # The call options are one TypedDict spread as **options: a typo must still fail.
    fake = FakeChatModel('{"a": 1}')
    wired = Wired(fakes={"p1": fake})
    call = getattr(wired.inference, use_case)
    with pytest.raises(TypeError, match="unexpected keyword argument 'temprature'"):
        if use_case == "stream_chat":
            async for _ in call(user="hi", temprature=0.2):
                pass
        else:
            await call(user="hi", temprature=0.2)
    assert fake.calls == []
