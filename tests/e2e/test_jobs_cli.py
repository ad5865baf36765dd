"""``inference-core jobs list|cancel|resume`` over a real journal and the local fal queue server.

The commands are registered through :func:`inference_core.cli.jobs.add_job_commands`
on a parser with the CLI's global options, exactly as ``build_parser`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
from pathlib import Path

import av
import pytest
import yaml
from PIL import Image

from inference_core.adapters.media.fal import FalVideoGenerator
from inference_core.adapters.storage.filesystem import FilesystemAssetStore
from inference_core.cli.console import Console
from inference_core.cli.jobs import add_job_commands
from inference_core.domain.jobs import JobState
from inference_core.domain.media import GenerationRequest, MediaInput, MediaKind
from tests.queued_plugins import install_queued_entry_points
from tests.servers import FakeServer
from tests.servers.queue_proto import fal_queue_url
from tests.servers.queue_state import JobPlan, QueueScript
from tests.unit.adapters.media.queued_support import (
    FAL_KEY,
    LOOPBACK,
    fake_server,
    fake_server_session,
    fast_options,
    queue,
    wait_until,
)

__all__ = ["fake_server", "fake_server_session", "queue"]


def run(config: Path, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="inference-core")
    parser.add_argument("--config")
    parser.add_argument("--output", choices=("human", "json"), default="human")
    add_job_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--config", str(config), *argv])
    out, err = io.StringIO(), io.StringIO()
    try:
        code = args.handler(args, Console(args.output, stdout=out, stderr=err))
    finally:
        if getattr(args, "inference", None) is not None:
            args.inference.close()
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def config(
    fake_server: FakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    install_queued_entry_points(tmp_path_factory.mktemp("plugins"), monkeypatch)
    monkeypatch.setenv("FAL_API_KEY", FAL_KEY)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "inference_runtime.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "media": {
                    "output_dir": str(tmp_path / "media"),
                    "journal_path": str(tmp_path / "jobs.sqlite3"),
                },
                "generators": {
                    "fal_video_generator": {
                        "base_url": fal_queue_url(fake_server),
                        "poll_interval": 0.01,
                        "poll_max_interval": 0.03,
                        "allow_private_networks": list(LOOPBACK),
                    }
                },
            }
        )
    )
    return path


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(out, "PNG")
    return out.getvalue()


async def interrupted_job(
    server: FakeServer, tmp_path: Path, queue: QueueScript, prompt: str
) -> None:
    """Start a job and interrupt the wait (as a crash or Ctrl-C would)."""
    generator = FalVideoGenerator(
        api_key=FAL_KEY, base_url=fal_queue_url(server), options=fast_options(tmp_path)
    )
    request = GenerationRequest(
        kind=MediaKind.VIDEO, generator_id="fal_video_generator", prompt=prompt,
        inputs=(MediaInput(data=png()),), params={"duration": "5", "generate_audio": False},
    )  # fmt: skip
    count = len(queue.jobs)
    task = asyncio.create_task(
        generator.generate(request, store=FilesystemAssetStore(tmp_path / "elsewhere"))
    )
    await wait_until(lambda: len(queue.jobs) > count and list(queue.jobs.values())[-1].polls > 0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_list_resume_and_cancel(
    config: Path, fake_server: FakeServer, queue: QueueScript, tmp_path: Path
) -> None:
    queue.plan(JobPlan(run_s=0.5))
    asyncio.run(interrupted_job(fake_server, tmp_path, queue, "the first shot"))

    code, out, _ = run(config, "--output", "json", "jobs", "list", "--active")
    (listed,) = json.loads(out)
    assert code == 0 and listed["state"] in ("queued", "running")
    assert listed["request_id"] == next(iter(queue.jobs))

    code, out, err = run(config, "jobs", "resume", "--out", str(tmp_path / "resumed"))
    assert code == 0, err
    path = out.split()[0]
    assert Path(path).parent == tmp_path / "resumed" and "1 collected, 0 failed" in err
    with av.open(path) as container:
        assert sum(1 for _ in container.decode(video=0)) == 40
    assert queue.accepted == 1 and queue.submit_attempts == 1  # collected, never resubmitted

    code, out, _ = run(config, "--output", "json", "jobs", "list")
    assert [job["state"] for job in json.loads(out)] == [JobState.COLLECTED.value]

    queue.plan(JobPlan(never=True))
    asyncio.run(interrupted_job(fake_server, tmp_path, queue, "the second shot"))
    code, out, _ = run(config, "--output", "json", "jobs", "list", "--active")
    (active,) = json.loads(out)
    code, out, _ = run(config, "jobs", "cancel", active["id"])
    assert code == 0 and "cancelled" in out
    assert queue.cancels == [active["request_id"]]
    code, out, err = run(config, "jobs", "resume", active["id"])
    assert code == 1 and "JobFailed" in err


def test_unknown_ids_are_named(config: Path) -> None:
    from inference_core.domain.errors import InvalidGeneratorInput

    with pytest.raises(InvalidGeneratorInput, match="no recorded job 'nope'"):
        run(config, "jobs", "cancel", "nope")
