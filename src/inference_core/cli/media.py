"""The media commands: ``generators`` (what is installed) and ``generate`` (make files).

``generate`` validates every request against the generator's published
schema before anything runs, writes files atomically into ``--out`` and prints
one line per file (path, type, size, measurements) or a JSON list.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from inference_core.application.media import MediaProgress
from inference_core.application.results import MediaResult
from inference_core.cli.console import Console
from inference_core.composition import Inference, bootstrap
from inference_core.domain.descriptors import DescriptorResult
from inference_core.domain.errors import GeneratorUnavailable, InvalidGeneratorInput
from inference_core.domain.media import GeneratedMedia, GenerationRequest, MediaInput, MediaKind

__all__ = ["add_media_commands", "assemble_animatic"]

_KINDS = {"image": MediaKind.IMAGE, "video": MediaKind.VIDEO, "speech": MediaKind.AUDIO}
_DEFAULT_GENERATOR = {
    MediaKind.IMAGE: "offline_image_card",
    MediaKind.VIDEO: "offline_video",
    MediaKind.AUDIO: "offline_tts",
}


def add_media_commands(sub: Any) -> None:
    """Register ``generators`` and ``generate`` on the CLI's sub-parsers."""
    generators = sub.add_parser("generators", help="list media generators (and why any is broken)")
    generators.add_argument("--kind", choices=[k.value for k in MediaKind])
    generators.add_argument("--errors", action="store_true", help="only the broken ones")
    generators.add_argument("--schema", metavar="ID", help="print one generator's input schema")
    generators.set_defaults(handler=cmd_generators)

    generate = sub.add_parser("generate", help="generate images, video or speech into files")
    generate.add_argument("kind", choices=list(_KINDS))
    generate.add_argument("--generator", "-g", help="generator id (default: the offline one)")
    generate.add_argument("--prompt", "-p", help="what to generate")
    generate.add_argument("--text", "-t", help="text to speak (speech)")
    generate.add_argument(
        "--input",
        "-i",
        action="append",
        default=[],
        metavar="PATH|URL",
        help="input media (reference image, clip...); repeatable",
    )
    generate.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="generator parameter; VALUE is JSON when it parses (n=2, "
        "size='\"1024x1024\"'), else a string; repeatable",
    )
    generate.add_argument("--count", type=int, default=1, help="how many (a batch)")
    generate.add_argument("--concurrency", type=int, default=None, help="batch concurrency")
    generate.add_argument("--out", "-o", default=None, help="output directory")
    generate.add_argument("--name", help="base name of the output files")
    generate.set_defaults(handler=cmd_generate)  # fmt: skip


def _inference(args: argparse.Namespace) -> Inference:
    inference = bootstrap(config_path=args.config)
    args.inference = inference  # main() closes it
    return inference


def cmd_generators(args: argparse.Namespace, console: Console) -> int:
    """List generators: id, kind, source, status; ``--schema ID`` prints one input schema."""
    inference = _inference(args)
    registry = inference.generators
    if args.schema:
        generator = registry.get(args.schema)
        console.emit(generator.info.input_schema)
        return 0
    kind = MediaKind(args.kind) if args.kind else None
    rows = []
    for listing in registry.listings(kind):
        error = listing.error
        info = listing.info
        if error is None and info is None:
            try:
                info = registry.get(listing.id).info
            except GeneratorUnavailable as exc:  # listed with its reason, never dropped
                error = exc.reason
        if args.errors and error is None:
            continue
        rows.append(
            (
                listing.id,
                listing.kind.value,
                "ok" if error is None else f"unavailable: {error}",
                ", ".join(str(c) for c in info.capabilities) if info else "-",
                (info.provider if info else "-"),
                listing.source.split(" = ")[0],
            )
        )
    console.table(
        "Media generators", ["id", "kind", "status", "capabilities", "provider", "source"], rows
    )
    return 0


def _params(pairs: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise InvalidGeneratorInput("cli", [f"--param {pair!r} is not NAME=VALUE"])
        try:
            params[name] = json.loads(raw)
        except json.JSONDecodeError:
            params[name] = raw
    return params


def cmd_generate(args: argparse.Namespace, console: Console) -> int:
    """Generate ``--count`` files with one generator and describe each."""
    kind = _KINDS[args.kind]
    if args.count < 1:
        raise InvalidGeneratorInput("cli", ["--count must be >= 1"])
    inference = _inference(args)
    if args.out:
        from inference_core.composition.services import media_store

        store = media_store(inference, args.out)
    else:
        store = None
    generator_id = args.generator or _DEFAULT_GENERATOR[kind]
    base = GenerationRequest(
        kind=kind,
        generator_id=generator_id,
        prompt=args.prompt,
        text=args.text if kind is MediaKind.AUDIO else None,
        inputs=tuple(MediaInput.of(_input(v)) for v in args.input),
        params=_params(args.param),
        name=args.name,
    )
    use_case = inference.generate_media
    if args.count == 1:
        results: list[MediaResult | Exception] = [
            inference.run_sync(use_case(base, store=store, on_progress=_progress(console, 1)))
        ]
    else:
        named = [
            base.model_copy(update={"name": f"{args.name or generator_id}-{i + 1}"})
            for i in range(args.count)
        ]
        results = inference.run_sync(
            use_case.generate_many(
                named,
                concurrency=args.concurrency or inference.config.media.concurrency,
                store=store,
                on_progress=_progress(console, args.count),
            )
        )
    return _report(console, results)


def _input(value: str) -> str | Path:
    return value if value.startswith(("http://", "https://", "data:")) else Path(value)


def _progress(console: Console, total: int) -> Callable[[MediaProgress], None]:
    """One line per finished job on stderr; a single job also reports each 25 % step."""
    finished = 0
    shown = -1

    def report(progress: MediaProgress) -> None:
        nonlocal finished, shown
        if console.json:
            return
        if progress.done:
            finished += 1
            console.note(f"[{finished}/{total}] {progress.generator_id}: {progress.message}")
        elif total == 1 and progress.fraction is not None:
            step = int(progress.fraction * 4)
            if step > shown:
                shown = step
                console.note(f"  {progress.fraction:4.0%} {progress.message}")

    return report


def _describe(file: GeneratedMedia) -> dict[str, Any]:
    described: dict[str, Any] = {
        "path": file.path,
        "mime_type": file.mime_type,
        "bytes": file.size_bytes,
        "sha256": file.sha256,
    }
    for name in ("width", "height", "duration_s", "frame_count", "fps", "sample_rate"):
        value = getattr(file, name)
        if value is not None:
            described[name] = value
    return described


def _report(console: Console, results: Sequence[MediaResult | Exception]) -> int:
    failures = [r for r in results if isinstance(r, Exception)]
    done = [r for r in results if not isinstance(r, Exception)]
    if console.json:
        console.emit(
            [
                {"error": f"{type(r).__name__}: {r}"}
                if isinstance(r, Exception)
                else {
                    "generator": r.generator_id,
                    "attempts": r.attempts,
                    "latency_ms": round(r.latency_ms, 1),
                    "cost_usd": r.usage.cost_usd,
                    "files": [_describe(f) for f in r.files],
                }
                for r in results
            ]
        )
    else:
        for result in done:
            for file in result.files:
                size = f"{file.width}x{file.height}" if file.width else ""
                length = f"{file.duration_s:.2f}s" if file.duration_s is not None else ""
                line = f"{file.path}  {file.mime_type}  {file.size_bytes} bytes  {size} {length}"
                console.line(line.rstrip())
        for failure in failures:
            console.note(f"error: {type(failure).__name__}: {failure}")
        cost = [r.usage.cost_usd for r in done]
        total = "unknown" if any(c is None for c in cost) else f"${sum(c or 0.0 for c in cost):.4f}"
        console.note(f"{len(done)} done, {len(failures)} failed, cost {total}")
    return 0 if not failures else 1


def assemble_animatic(
    inference: Inference, console: Console, result: DescriptorResult, out: Path
) -> Path:
    """Join a storyboard run's clips (crossfades) and narrations (muxed) into one film.

    The clips and narrations are the ``clip`` and ``narration`` files of each
    scene; the film is written through the asset store as ``out/storyboard.mp4``
    and measured from disk.
    """
    from inference_core.composition.services import (
        concat_audio,
        concat_video,
        media_store,
        mux_audio_video,
    )

    def files(kind: str) -> list[Path]:
        return [Path(f.path) for f in result.files if f.mime_type.startswith(kind)]

    clips, narration_parts = files("video/"), files("audio/")
    if not clips:
        raise InvalidGeneratorInput("animatic", ["the run produced no clips"])
    store = media_store(inference, out)
    film, narration, final = (store.scratch_path(s) for s in (".mp4", ".wav", ".mp4"))
    try:
        concat_video(clips, film, transitions=["crossfade"])
        concat_audio(narration_parts, narration, fmt="wav")
        mux_audio_video(film, narration, final)
        asset = inference.run_sync(store.commit(final, name="storyboard", kind=MediaKind.VIDEO))
    finally:
        for path in (film, narration, final):
            path.unlink(missing_ok=True)
    probe = inference.media_probe
    assert probe is not None  # set when generate_media was first used
    measured = probe.measure(Path(asset.path), asset.mime_type)
    console.line(
        f"{asset.path}: {measured.width}x{measured.height}, {measured.frame_count} frames, "
        f"{measured.duration_s:.1f}s, {asset.size_bytes} bytes"
    )
    return Path(asset.path)
