"""``inference-core run``: execute a descriptor sub-agent and list the files it made."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from inference_core.application.descriptors import DescriptorProgress
from inference_core.cli.console import Console
from inference_core.composition import Inference, bootstrap
from inference_core.composition.services import load_descriptor, media_store
from inference_core.domain.descriptors import AgentDescriptor, DescriptorResult
from inference_core.domain.errors import InvalidInputError

__all__ = ["add_run_command", "run_descriptor"]


def add_run_command(sub: Any) -> None:
    """Register ``run`` on the CLI's sub-parsers."""
    run = sub.add_parser("run", help="execute a descriptor (a file, a built-in name, module:attr)")
    run.add_argument(
        "descriptor", help="descriptor file (.yaml/.json), built-in name, or module:attribute"
    )
    run.add_argument(
        "--input", "-i", metavar="FILE.json", help="the run's variables (a JSON object)"
    )
    run.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one variable (repeatable; wins over --input)",
    )
    run.add_argument("--model", "-m", help="model for this run (default: the descriptor's)")
    run.add_argument("--out", "-o", default=None, help="output directory for the files")
    run.add_argument("--task-id", help="task id (default: generated)")
    run.set_defaults(handler=cmd_run)  # fmt: skip


def _variables(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if args.input:
        try:
            loaded = json.loads(Path(args.input).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"--input {args.input}: {exc}") from None
        if not isinstance(loaded, dict):
            raise InvalidInputError(f"--input {args.input}: must hold a JSON object")
        values.update(loaded)
    for pair in args.var:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidInputError(f"--var {pair!r} is not NAME=VALUE")
        values[name] = value
    return values


def run_descriptor(
    inference: Inference,
    console: Console,
    descriptor: AgentDescriptor,
    variables: dict[str, Any],
    *,
    out: Path | None,
    task_id: str | None = None,
) -> DescriptorResult:
    """Run ``descriptor``, printing each stage, then a table of the files made."""

    def progress(report: DescriptorProgress) -> None:
        if not console.json:
            console.note(f"  [{report.stage}] {report.message} (attempt {report.attempt})")

    store = media_store(inference, out) if out is not None else None
    result = inference.run_sync(
        inference.execute_descriptor(
            descriptor, variables, task_id=task_id, store=store, on_progress=progress
        )
    )
    rows = [(f.id, f.location or "-", f.mime_type, f.size_bytes, f.path) for f in result.files]
    if console.json:
        console.emit(
            {
                "passed": result.passed,
                "attempts": result.attempts,
                "output": result.output,
                "files": [f.model_dump() for f in result.files],
                "evaluation": result.evaluation.model_dump(),
                "cost_usd": result.cost_usd,
            }
        )
    else:
        console.line(json.dumps(result.output, indent=2, ensure_ascii=False))
        console.table("Files", ["id", "in output at", "type", "bytes", "path"], rows)
        verdict = "passed" if result.passed else f"FAILED: {result.evaluation.summary}"
        cost = "unknown" if result.cost_usd is None else f"${result.cost_usd:.6f}"
        console.note(f"{descriptor.id}: {verdict}; {result.attempts} attempt(s); cost {cost}")
    return result


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    """Execute one descriptor; exit 1 when its gates did not pass."""
    descriptor = load_descriptor(args.descriptor)
    if args.model:
        descriptor = descriptor.model_copy(update={"model": args.model})
    inference = bootstrap(config_path=args.config)
    args.inference = inference  # main() closes it
    result = run_descriptor(
        inference,
        console,
        descriptor,
        _variables(args),
        out=Path(args.out) if args.out else None,
        task_id=args.task_id,
    )
    return 0 if result.passed else 1
