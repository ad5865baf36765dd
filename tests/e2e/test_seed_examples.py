"""Every code example of the seed README's LLM sections, run against the local protocol servers.

The example bodies are the seed's, unchanged except for imports (``inference`` ->
``inference_core``), base URLs and file paths. Each test then checks what went
over the wire: the right protocol, the right model, the seed's return shapes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.server import FakeServer


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


@pytest.fixture
def seed_env(server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    """Keys in the environment and a runtime config pointing every provider at the fake server."""
    server.reset()
    config = tmp_path / "inference_runtime.yaml"
    config.write_text(
        f"""
default_model: gpt-3.5-turbo
routing:
  provider_base_url:
    openai: "{server.base_url}/v1"
    anthropic: "{server.base_url}"
    google: "{server.base_url}/v1"
    ollama: "{server.base_url}"
  provider_client:
    google: openai_sdk     # Gemini's OpenAI-compatible endpoint
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("INFERENCE_RUNTIME_CONFIG", str(config))
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.setenv(name, "sk-test-seed-examples")
    for name in ("INFERENCE_DEFAULT_MODEL", "OLLAMA_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return server


def _chat_bodies(server: FakeServer, path: str) -> list[dict]:
    return [r.body for r in server.requests_for(path)]


def test_quick_start_basic_call(seed_env: FakeServer, tmp_path: Path) -> None:
    from inference_core import LLMClient

    # 初始化客户端（使用默认模型）
    client = LLMClient(default_model="gpt-3.5-turbo")

    # 或者从配置文件加载 (the seed's older config file: same keys, same loader)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "inference_config.yaml").write_text(
        'default_model: "gpt-3.5-turbo"\n'
        'api_keys:\n  openai: "${OPENAI_API_KEY}"\n  anthropic: "${ANTHROPIC_API_KEY}"\n'
        f'custom_endpoints:\n  openai:\n    base_url: "{seed_env.base_url}/v1"\n'
        "model_configs:\n  gpt-4:\n    temperature: 0.7\n    max_tokens: 4096\n",
        encoding="utf-8",
    )
    client = LLMClient(config_path="config/inference_config.yaml")

    # 调用模型
    response = client.call(
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello!"},
        ]
    )

    print(response["choices"][0]["message"]["content"])
    assert response["choices"][0]["message"]["content"] == "Echo: Hello!"
    body = _chat_bodies(seed_env, "/v1/chat/completions")[-1]
    assert body["model"] == "gpt-3.5-turbo"
    assert body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
    client.close()


def test_model_selection_and_model_config(seed_env: FakeServer) -> None:
    from inference_core import LLMClient, ModelConfig

    client = LLMClient()

    # 方式1: 通过参数指定模型
    response = client.call(messages=[{"role": "user", "content": "Hello!"}], model="gpt-4o")

    # 方式2: 使用 ModelConfig
    config = ModelConfig(model="gpt-4o", temperature=0.9, max_tokens=2000, top_p=0.95)

    response = client.call(messages=[{"role": "user", "content": "Hello!"}], config=config)

    assert response["choices"][0]["message"]["content"] == "Echo: Hello!"
    first, second = _chat_bodies(seed_env, "/v1/chat/completions")[-2:]
    assert first["model"] == second["model"] == "gpt-4o"
    assert (second["temperature"], second["max_tokens"], second["top_p"]) == (0.9, 2000, 0.95)
    client.close()


def test_streaming_sync_and_async(seed_env: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    from inference_core import LLMClient

    client = LLMClient()
    # 同步流式调用
    for chunk in client.stream_call(
        messages=[{"role": "user", "content": "Tell me a story"}], model="gpt-3.5-turbo"
    ):
        if chunk.get("choices"):
            delta = chunk["choices"][0].get("delta", {})
            content = delta.get("content", "")
            if content:
                print(content, end="", flush=True)

    # 异步流式调用
    async def stream_async():
        async for chunk in client.astream_call(
            messages=[{"role": "user", "content": "Tell me a story"}], model="gpt-3.5-turbo"
        ):
            if chunk.get("choices"):
                delta = chunk["choices"][0].get("delta", {})
                content = delta.get("content", "")
                if content:
                    print(content, end="", flush=True)

    asyncio.run(stream_async())
    asyncio.run(stream_async())  # a fresh event loop per call, as the seed's service does

    assert capsys.readouterr().out == "Echo: Tell me a story" * 3
    bodies = _chat_bodies(seed_env, "/v1/chat/completions")
    assert len(bodies) == 3 and all(b["stream"] is True for b in bodies)
    client.close()


def test_universal_interface_across_providers(seed_env: FakeServer) -> None:
    from inference_core import LLMClient

    client = LLMClient()

    # 调用 OpenAI 模型
    response = client.call(messages=[{"role": "user", "content": "Hello!"}], model="gpt-4o")
    assert response["provider"] == "openai"

    # 调用 Anthropic 模型
    response = client.call(
        messages=[{"role": "user", "content": "Hello!"}], model="claude-3-5-sonnet-20241022"
    )
    assert response["provider"] == "anthropic"
    assert response["choices"][0]["message"]["content"] == "Echo: Hello!"
    assert _chat_bodies(seed_env, "/v1/messages")[-1]["model"] == "claude-3-5-sonnet-20241022"

    # 调用 Google 模型 (the alias resolves to the canonical Gemini model)
    response = client.call(messages=[{"role": "user", "content": "Hello!"}], model="gemini-pro")
    assert response["provider"] == "google"
    assert response["model"] == "google-ai-studio/gemini-2.5-flash"
    client.close()


def test_ollama_custom_model_client(seed_env: FakeServer) -> None:
    from inference_core import CustomModelClient

    # 初始化 Ollama 客户端
    client = CustomModelClient(base_url=seed_env.base_url, default_model="llama3")

    # 通过路由调用（ollama/ 前缀）
    response = client.call(messages=[{"role": "user", "content": "Hello!"}], model="ollama/llama3")
    assert response["choices"][0]["message"]["content"] == "Echo: Hello!"

    # 或直接调用 Ollama API
    response = client.call_ollama(messages=[{"role": "user", "content": "Hello!"}], model="llama3")
    assert response["choices"][0]["message"]["content"] == "Echo: Hello!"
    assert [b["model"] for b in _chat_bodies(seed_env, "/api/chat")] == ["llama3", "llama3"]

    # 列出可用的 Ollama 模型
    models = client.list_ollama_models()
    print(models)
    assert "llama3" in {m.split(":")[0] for m in models}

    # 拉取新模型
    progress: list[str] = []
    final = client.pull_ollama_model("mistral", progress=lambda line: progress.append(line.status))
    assert final["status"] == "success" and progress[-1] == "success"

    # 注册自定义模型
    client.register_custom_model(
        model_id="my-custom-model",
        name="My Custom Model",
        provider="custom",
        supports_streaming=True,
        supports_multimodal=False,
        max_tokens=4096,
        context_window=8192,
        description="My custom trained model",
    )
    info = client.get_model_info("my-custom-model")
    assert info is not None and (info.name, info.max_tokens, info.context_window) == (
        "My Custom Model",
        4096,
        8192,
    )
    assert "my-custom-model" in client.get_available_models()
    client.close()


def test_code_configuration_with_key_and_base_url(seed_env: FakeServer) -> None:
    from inference_core import LLMClient, ModelConfig

    client = LLMClient(default_model="gpt-4o")

    config = ModelConfig(
        temperature=0.9,
        max_tokens=2000,
        api_key="your-api-key",
        base_url=f"{seed_env.base_url}/v1",
    )

    response = client.call(messages=[{"role": "user", "content": "hi"}], config=config)
    assert response["choices"][0]["message"]["content"] == "Echo: hi"
    request = seed_env.requests_for("/v1/chat/completions")[-1]
    assert request.headers["authorization"] == "Bearer your-api-key"
    assert "your-api-key" not in repr(config)
    client.close()


def test_model_registry_queries() -> None:
    from inference_core import ModelRegistry, get_model_config

    registry = ModelRegistry()

    # 列出所有模型
    all_models = registry.list_models()

    # 按提供商列出
    by_provider = registry.list_models_by_provider()

    # 获取模型信息
    model_info = get_model_config("gpt-4o")
    print(model_info.name)
    print(model_info.supports_multimodal)
    print(model_info.max_tokens)

    assert "gpt-4o" in all_models and "claude-3-5-sonnet-20241022" in by_provider["anthropic"]
    assert (model_info.supports_multimodal, model_info.max_tokens) == (True, 16384)


def test_multi_turn_conversation(seed_env: FakeServer) -> None:
    from inference_core import LLMClient

    client = LLMClient(default_model="gpt-3.5-turbo")
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is Python?"},
    ]

    # 调用模型
    response = client.call(messages=messages)

    # 继续追加新一轮对话
    assistant_reply = response["choices"][0]["message"]["content"]
    messages.append({"role": "assistant", "content": assistant_reply})
    messages.append({"role": "user", "content": "Give me three short examples."})

    print(assistant_reply)
    client.call(messages=messages)
    last = _chat_bodies(seed_env, "/v1/chat/completions")[-1]
    assert [m["role"] for m in last["messages"]] == ["system", "user", "assistant", "user"]
    assert last["messages"][2]["content"] == "Echo: What is Python?"
    client.close()


def test_multimodal_image_analysis(seed_env: FakeServer, tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "photo.jpg")

    from inference_core import InputUtils, LLMClient

    client = LLMClient(default_model="gpt-4o")

    # 创建多模态消息
    message = InputUtils.create_multimodal_message(
        text="What objects are in this image? Describe them in detail.", image_path="photo.jpg"
    )

    # 调用模型
    response = client.call(messages=[message])
    print(response["choices"][0]["message"]["content"])

    content = _chat_bodies(seed_env, "/v1/chat/completions")[-1]["messages"][0]["content"]
    assert content[0]["type"] == "text"
    assert content[1]["type"] == "image_url"
    assert content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    client.close()


def test_batch_processing(seed_env: FakeServer) -> None:
    from inference_core import LLMClient

    client = LLMClient()

    # 批量处理
    texts = ["Text 1", "Text 2", "Text 3"]
    outputs = []
    for text in texts:
        prompt = f"Analyze the following text and provide key insights:\n\n{text}"
        response = client.call(messages=[{"role": "user", "content": prompt}])
        print(response["choices"][0]["message"]["content"])
        outputs.append(response["choices"][0]["message"]["content"])
    assert [o.split()[-1] for o in outputs] == ["1", "2", "3"]
    client.close()


def test_stream_handling_example(seed_env: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    from inference_core import LLMClient

    client = LLMClient()

    def handle_stream(response_text):
        """处理流式响应"""
        print(response_text, end="", flush=True)

    # 流式调用
    full_response = ""
    for chunk in client.stream_call(
        messages=[{"role": "user", "content": "Write a short story"}], model="gpt-3.5-turbo"
    ):
        if chunk.get("choices"):
            delta = chunk["choices"][0].get("delta", {})
            content = delta.get("content", "")
            if content:
                full_response += content
                handle_stream(content)

    print(f"\n\nFull response length: {len(full_response)}")
    assert full_response == "Echo: Write a short story"
    assert "Full response length: 25" in capsys.readouterr().out
    client.close()


def test_chat_json_and_chat_text(seed_env: FakeServer) -> None:
    from inference_core import LLMClient

    client = LLMClient(default_model="gpt-4o")
    seed_env.reply('{"title": "Heist", "scenes": 3}')
    # Coroutines, as in the seed (its agents await them).
    outline = asyncio.run(
        client.chat_json(
            system_prompt="Return JSON.", user_prompt="Outline a film.", max_tokens=200
        )
    )
    assert outline == {"title": "Heist", "scenes": 3}
    body = _chat_bodies(seed_env, "/v1/chat/completions")[-1]
    assert body["response_format"]["type"] == "json_object"
    assert asyncio.run(client.chat_text("Be brief.", "Hello!")) == "Echo: Hello!"
    assert client.chat_text_sync("Be brief.", "Hello!") == "Echo: Hello!"
    client.close()
