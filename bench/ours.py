"""Our rows: the use-cases (``ChatText``, ``StreamChat``, ``ChatJSON``) and ``LLMClient``.

Each client builds the REAL composition root (``bootstrap``) pointed at the bench server
by :mod:`bench.runtime`. Code that does not exist yet raises :class:`NotBuilt`, which the
runner prints as ``n/a (not built yet: <reason>)``; any other failure is a real error.
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

from bench import payloads
from bench.clients import BenchClient, BenchContext, NotBuilt, check_text
from bench.runtime import (
    ANTHROPIC_PATH_MODEL,
    ANTHROPIC_WIRE_MODEL,
    LITELLM_JSON_MODEL,
    LITELLM_PATH_MODEL,
    OPENAI_JSON_MODEL,
    OPENAI_PATH_MODEL,
    WIRE_JSON_MODEL,
    WIRE_PATH_MODEL,
)

__all__ = [
    "OursAnthropic",
    "OursAnthropicHTTP",
    "OursLiteLLM",
    "OursOpenAI",
    "OursOpenAIHTTP",
]

_ADAPTERS = {
    "openai": "inference_core.adapters.openai",
    "openai_http": "inference_core.adapters.openai_http",
    "anthropic": "inference_core.adapters.anthropic",
    "anthropic_http": "inference_core.adapters.anthropic_http",
    "litellm": "inference_core.adapters.litellm",
}


def _require_module(name: str) -> None:
    try:
        found = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise NotBuilt(f"{name} is missing")


def _require_attr(obj: object, name: str, owner: str) -> Any:
    value = getattr(obj, name, None)
    if value is None:
        raise NotBuilt(f"{owner}.{name} is missing")
    return value


def _user_messages() -> list[Any]:
    from inference_core import Message

    return [Message(role="user", content=payloads.PROMPT)]


def _llm_client_class() -> Any:
    """``inference_core.LLMClient`` (the seed's import path), else where compat defines it."""
    import inference_core

    try:
        return inference_core.LLMClient
    except AttributeError:
        pass
    try:
        from inference_core.compat.llm_client import LLMClient
    except ImportError as exc:
        raise NotBuilt(f"inference_core.LLMClient is missing ({exc})") from exc
    return LLMClient


def _bootstrap(ctx: BenchContext) -> Any:
    from inference_core.adapters.config.settings import InferenceSettings
    from inference_core.composition import bootstrap

    return bootstrap(
        # no .env and no process environment: the bench snapshot is the whole truth
        settings=InferenceSettings.model_construct(read_dotenv=False),
        config_path=ctx.config_path,
        environ=ctx.environ,
    )


class _Ours(BenchClient):
    """Our library on one provider path: the use-cases, the adapter alone and ``LLMClient``."""

    path = "openai"
    model = OPENAI_PATH_MODEL
    json_model: str | None = None

    def __init__(self, ctx: BenchContext) -> None:
        super().__init__(ctx)
        self._inference: Any = None
        self._chat_model: Any = None
        self._request: Any = None
        self._llm_client: Any = None
        self._dict_messages = [{"role": "user", "content": payloads.PROMPT}]

    async def start(self) -> None:
        _require_module(_ADAPTERS[self.path])
        self._inference = _bootstrap(self.ctx)
        self._messages = _user_messages()

    async def call(self) -> None:
        chat_text = _require_attr(self._inference, "chat_text", "Inference")
        result = await chat_text(self._messages, model=self.model)
        check_text(getattr(result, "text", result))

    async def adapter(self) -> None:
        from inference_core import ChatRequest

        if self._request is None:
            resolved = self._inference.router.resolve(self.model)
            self._chat_model = resolved.chat_model
            self._request = ChatRequest(
                model=resolved.route.api_model, messages=tuple(self._messages)
            )
        response = await self._chat_model.complete(self._request)
        check_text(response.text)

    async def stream(self) -> float:
        import time

        stream_chat = _require_attr(self._inference, "stream_chat", "Inference")
        first = 0.0
        final = None
        async for chunk in stream_chat(self._messages, model=self.model):
            if not first and chunk.text:
                first = time.perf_counter()
            if chunk.finish_reason is not None:
                final = chunk
        if not first or final is None:
            raise RuntimeError("the stream had no text or no final chunk")
        return first

    async def json(self) -> None:
        if self.json_model is None:
            raise NotImplementedError
        from bench.schema import Storyboard

        chat_json = _require_attr(self._inference, "chat_json", "Inference")
        result = await chat_json(self._messages, schema=Storyboard, model=self.json_model)
        value = getattr(result, "value", result)
        if not isinstance(value, Storyboard) or len(value.scenes) < 100:
            raise RuntimeError(f"chat_json returned {type(value).__name__}, not a full Storyboard")

    async def compat(self) -> None:
        if self._llm_client is None:
            self._llm_client = self._build_llm_client()
        reply = await self._llm_client.acall(messages=self._dict_messages, model=self.model)
        check_text(reply["choices"][0]["message"]["content"])

    def _build_llm_client(self) -> Any:
        # The seed API reads the process environment, as the original module did: the
        # runner's environment holds the BENCH_* variables the config file names.
        return _llm_client_class()(config_path=str(self.ctx.config_path), default_model=self.model)

    async def aclose(self) -> None:
        if self._llm_client is not None:
            aclose = getattr(self._llm_client, "aclose", None)
            if aclose is not None:
                await aclose()
            else:
                # The seed API only has a blocking close(); it stops LLMClient's own
                # background loop, so run it off this loop.
                await asyncio.to_thread(self._llm_client.close)
        if self._inference is not None:
            await self._inference.aclose()

    def sync_start(self) -> None:
        _require_module(_ADAPTERS[self.path])
        self._sync_inference = _bootstrap(self.ctx)
        self._sync_messages = _user_messages()

    def sync_call(self) -> None:
        inference = self._sync_inference
        run_sync = _require_attr(inference, "run_sync", "Inference")
        result = run_sync(inference.chat_text(self._sync_messages, model=self.model))
        check_text(result.text)

    def sync_close(self) -> None:
        close = getattr(self._sync_inference, "close", None)
        if close is not None:
            close()

    def compat_sync_start(self) -> None:
        self._sync_llm_client = self._build_llm_client()

    def compat_sync_call(self) -> None:
        reply = self._sync_llm_client.call(messages=self._dict_messages, model=self.model)
        check_text(reply["choices"][0]["message"]["content"])

    def compat_sync_close(self) -> None:
        close = getattr(self._sync_llm_client, "close", None)
        if close is not None:
            close()


class OursOpenAI(_Ours):
    """Use-cases on the ``openai_sdk`` path."""

    path = "openai"
    model = OPENAI_PATH_MODEL
    json_model = OPENAI_JSON_MODEL


class OursOpenAIHTTP(_Ours):
    """Use-cases on the ``openai_http`` path (aiohttp + orjson, no SDK)."""

    path = "openai_http"
    model = WIRE_PATH_MODEL
    json_model = WIRE_JSON_MODEL


class OursAnthropic(_Ours):
    """Use-cases on the ``anthropic_sdk`` path."""

    path = "anthropic"
    model = ANTHROPIC_PATH_MODEL


class OursAnthropicHTTP(_Ours):
    """Use-cases on the ``anthropic_http`` path (aiohttp + orjson, no SDK)."""

    path = "anthropic_http"
    model = ANTHROPIC_WIRE_MODEL


class OursLiteLLM(_Ours):
    """Use-cases on the ``litellm`` path."""

    path = "litellm"
    model = LITELLM_PATH_MODEL
    json_model = LITELLM_JSON_MODEL
