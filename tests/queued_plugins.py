"""Entry points of the queued generators for tests, until the package metadata declares them.

The generators register through ``inference_core.media_generators`` entry
points like every built-in one. Until ``pyproject.toml`` lists them (and the
package is reinstalled), :func:`install_queued_entry_points` puts a tiny
``.dist-info`` declaring them on ``sys.path``; once the real ones are
installed it does nothing, so nothing is registered twice.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

__all__ = ["ENTRY_POINTS", "install_queued_entry_points"]

#: The lines ``[project.entry-points."inference_core.media_generators"]`` needs.
ENTRY_POINTS = {
    "fal_image_generator": "inference_core.adapters.media.fal:IMAGE_PLUGIN",
    "fal_video_generator": "inference_core.adapters.media.fal:VIDEO_PLUGIN",
    "fal_tts_generator": "inference_core.adapters.media.fal:TTS_PLUGIN",
    "wavespeed_video_generator": "inference_core.adapters.media.wavespeed:PLUGIN",
}
_GROUP = "inference_core.media_generators"


def install_queued_entry_points(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Declare the queued generators' entry points from ``root`` (when not installed)."""
    installed = {point.name for point in entry_points(group=_GROUP)}
    missing = {name: value for name, value in ENTRY_POINTS.items() if name not in installed}
    if not missing:
        return
    dist = root / "inference_core_queued_test-0.0.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: inference-core-queued-test\nVersion: 0.0.0\n"
    )
    lines = [f"[{_GROUP}]", *(f"{name} = {value}" for name, value in missing.items())]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(root))
