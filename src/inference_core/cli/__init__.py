"""The ``inference-core`` command (also ``python -m inference_core``).

Commands: ``chat``, ``models``, ``route``, ``plugins``, ``doctor``, ``demo``,
``generators``, ``generate``, ``jobs``, ``run``. Human output by
default (rich tables when rich is installed), ``--output json`` for scripts.
Errors print one line and a hint and exit non-zero; ``--debug`` shows the
traceback. Secrets are never printed: key status is "configured", "missing"
or "not needed".
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inference_core.cli.console import Console, price, show
from inference_core.cli.descriptors import add_run_command, run_descriptor
from inference_core.cli.jobs import add_job_commands
from inference_core.cli.media import add_media_commands, assemble_animatic
from inference_core.composition import Inference, bootstrap
from inference_core.composition.services import load_descriptor
from inference_core.domain.chat import Usage
from inference_core.domain.errors import (
    ConfigurationError,
    GeneratorNotFound,
    GeneratorUnavailable,
    InferenceError,
    InvalidGeneratorInput,
    InvalidImageError,
    InvalidInputError,
    MissingAPIKeyError,
    OutputValidationError,
    ProviderError,
)
from inference_core.domain.images import sniff_image_mime
from inference_core.domain.messages import ContentPart, ImagePart, Message, TextPart
from inference_core.domain.routing import Route

__all__ = ["Console", "main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


# --- commands -------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace, console: Console) -> int:
    """List the catalog with capabilities, prices and key status (``--path``: the GGUF file)."""
    if args.path:
        from inference_core.adapters.llama_cpp import assemble_bundled_model

        console.line(str(assemble_bundled_model()))
        return EXIT_OK
    inference = _bootstrap(args)
    rows = []
    for spec in inference.catalog.values():
        if args.provider and spec.provider != args.provider:
            continue
        try:
            key = inference.router.key_status(inference.route(spec.id))
        except ConfigurationError:
            key = "unroutable"
        caps = spec.capabilities
        rows.append(
            (
                spec.id,
                spec.provider,
                show(caps.vision),
                caps.json_output.value,
                show(spec.context_window),
                show(spec.max_output_tokens),
                price(spec.pricing.input),
                price(spec.pricing.output),
                key,
            )
        )
    if not rows:
        raise ConfigurationError(f"no models for provider {args.provider!r}")
    console.table(
        "Models (prices: USD per 1M tokens)",
        ["model", "provider", "vision", "json", "context", "max out", "in $", "out $", "key"],
        rows,
    )
    return EXIT_OK


def cmd_plugins(args: argparse.Namespace, console: Console) -> int:
    """List the installed chat adapter plugins, their client paths, and any that failed."""
    from inference_core.adapters.plugins import installed_plugins

    installed = installed_plugins()
    rows = [
        (
            plugin.name,
            info.name,
            ", ".join(info.serves) or ("any other" if info.fallback else "-"),
            "ready" if plugin.missing() is None else f"needs [{info.extra}]",
            info.description,
        )
        for plugin in installed.plugins
        for info in plugin.paths
    ]
    rows += [(name, "-", "-", f"FAILED: {why}", "") for name, why in installed.failed]
    console.table(
        "Chat adapter plugins", ["plugin", "client path", "serves", "status", "about"], rows
    )
    return EXIT_ERROR if installed.failed else EXIT_OK


def cmd_route(args: argparse.Namespace, console: Console) -> int:
    """Explain how a model resolves, without calling it."""
    inference = _bootstrap(args)
    route = inference.route(args.model)
    console.pairs(
        f"Route for {args.model}",
        [
            ("model", route.model),
            ("api model", route.api_model),
            ("provider", route.provider),
            ("client path", route.client),
            ("matched rule", route.rule),
            ("key env", route.key_env),
            ("key", inference.router.key_status(route)),
            ("base url env", route.base_url_env),
            ("base url", route.base_url or "SDK default"),
            ("default headers", sorted(route.headers)),
            ("fallbacks", list(inference.router.fallbacks(route.requested))),
            ("in catalog", route.spec is not None),
        ],
    )
    return EXIT_OK


def _reachable(url: str, timeout: float = 2.0) -> str:
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return "invalid URL"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return "reachable"
    except OSError as exc:
        return f"unreachable ({exc.strerror or type(exc).__name__})"


def cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    """Check config, keys and endpoints; exit 1 when something needed is broken."""
    checks: list[tuple[str, str, str]] = []
    try:
        inference = _bootstrap(args)
    except ConfigurationError as exc:
        console.table("Doctor", ["check", "status", "detail"], [("config", "FAIL", str(exc))])
        return EXIT_ERROR
    checks.append(("config file", "ok", str(inference.config_path or "none (defaults)")))
    checks.append((".env file", "ok", str(inference.env_file or "none")))
    failed = False
    default = inference.default_model
    if default:
        try:
            route = inference.route(default)
            key = inference.router.key_status(route)
            status = "FAIL" if key == "missing" else "ok"
            failed |= key == "missing"
            checks.append(("default model", status, f"{default} -> {route.provider} ({key} key)"))
        except ConfigurationError as exc:
            failed = True
            checks.append(("default model", "FAIL", str(exc)))
    else:
        checks.append(
            ("default model", "warn", "none set (INFERENCE_DEFAULT_MODEL or default_model)")
        )
    providers = sorted({*inference.config.api_keys, *inference.config.routing.provider_client})
    for provider in providers:
        entry = inference.config.api_keys.get(provider)
        if entry is None:
            continue
        status = "ok" if entry.value is not None else "warn"
        detail = (
            "configured"
            if entry.value is not None
            else f"missing ({entry.env_var or 'no variable'})"
        )
        checks.append((f"key {provider}", status, detail))
    for plugin in inference.router.plugins.plugins:
        checks.extend(plugin.diagnose())  # e.g. what the llama.cpp engine was built with
    endpoints = dict(inference.config.routing_table().provider_base_url)
    for provider, url in sorted(endpoints.items()):
        result = _reachable(url)
        checks.append(
            (f"endpoint {provider}", "ok" if result == "reachable" else "warn", f"{url}: {result}")
        )
    console.table("Doctor", ["check", "status", "detail"], checks)
    return EXIT_ERROR if failed else EXIT_OK


def _read_prompt(args: argparse.Namespace) -> str:
    if args.prompt in (None, "-"):
        if sys.stdin.isatty() and args.prompt is None:
            raise InvalidInputError("give a PROMPT (or '-' to read it from standard input)")
        text = sys.stdin.read()
    else:
        text = args.prompt
    if not text.strip():
        raise InvalidInputError("the prompt is empty")
    return text


def _user_content(text: str, images: Sequence[str]) -> str | tuple[ContentPart, ...]:
    if not images:
        return text
    parts: list[ContentPart] = [TextPart(text=text)]
    for name in images:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidImageError(f"{name}: cannot read ({exc.strerror})") from exc
        mime = sniff_image_mime(data)
        if mime is None:
            raise InvalidImageError(f"{name}: not a PNG, JPEG, GIF, WebP or BMP image")
        parts.append(ImagePart(data=data, mime_type=mime))
    return tuple(parts)


def _load_schema(name: str) -> dict[str, Any]:
    try:
        schema = json.loads(Path(name).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"--schema {name}: cannot read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"--schema {name}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
        ) from exc
    if not isinstance(schema, dict):
        raise InvalidInputError(f"--schema {name}: a JSON Schema must be an object")
    return schema


def _usage_line(model: str, usage: Usage, attempts: int, latency_ms: float) -> str:
    cost = "unknown" if usage.cost_usd is None else f"${usage.cost_usd:.6f}"
    tokens = f"{show(usage.input_tokens)} in / {show(usage.output_tokens)} out"
    return f"[{model}] {tokens}, cost {cost}, {attempts} attempt(s), {latency_ms:.0f} ms"


def cmd_chat(args: argparse.Namespace, console: Console) -> int:
    """Send one prompt; stream text to stdout, usage and cost to stderr."""
    inference = _bootstrap(args)
    _announce_local_default(inference, console, args.model)
    prompt = _read_prompt(args)
    user = _user_content(prompt, args.image or ())
    common: dict[str, Any] = {
        "system": args.system,
        "user": user,
        "model": args.model,
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
    }
    if args.json or args.schema:
        schema = _load_schema(args.schema) if args.schema else None
        result = inference.run_sync(inference.chat_json(schema=schema, **common))
        if console.json:
            console.emit(result.value)
        else:
            console.line(json.dumps(result.value, indent=2, ensure_ascii=False))
        console.note(_usage_line(result.model, result.usage, result.attempts, result.latency_ms))
        return EXIT_OK
    stream = args.stream if args.stream is not None else (console.out.isatty() and not console.json)
    if not stream:
        text_result = inference.run_sync(inference.chat_text(**common))
        if console.json:
            console.emit(
                {
                    "text": text_result.text,
                    "model": text_result.model,
                    **_usage_json(text_result.usage),
                }
            )
        else:
            console.line(text_result.text)
        console.note(
            _usage_line(
                text_result.model, text_result.usage, text_result.attempts, text_result.latency_ms
            )
        )
        return EXIT_OK

    async def run() -> Usage:
        final = Usage()
        started = time.perf_counter()
        spinner = _spinner(console)
        async for chunk in inference.stream_chat(**common):
            if spinner is not None:
                spinner.stop()  # the first token has arrived
                spinner = None
            if chunk.text:
                console.out.write(chunk.text)
                console.out.flush()
            if chunk.is_final and chunk.usage is not None:
                final = chunk.usage
        if spinner is not None:
            spinner.stop()
        console.line()
        console.note(
            _usage_line(
                inference.route(args.model).model,
                final,
                1,
                (time.perf_counter() - started) * 1000,
            )
        )
        return final

    inference.run_sync(run())
    return EXIT_OK


def _spinner(console: Console) -> Any:
    """A stderr spinner while waiting for the first token (terminals with rich only)."""
    if console.json or not console.err.isatty():
        return None
    try:
        from rich.console import Console as RichConsole
    except ImportError:
        return None
    status = RichConsole(file=console.err).status("waiting for the first token...")
    status.start()
    return status


def _usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost_usd": usage.cost_usd,
    }


def _embedded(inference: Inference, route: Route) -> bool:
    """True when ``route``'s client path runs its model in this process (plugin data)."""
    info = inference.router.plugins.info(route.client)
    return info is not None and info.embedded


def _announce_local_default(inference: Inference, console: Console, model: str | None) -> None:
    if model is None and inference.default_model:
        route = inference.route(None)
        if _embedded(inference, route):
            console.note(f"using the embedded local model {route.model} (no API key needed)")


#: Plain words only (a capital, then letters, spaces and light punctuation): a grammar
#: built from these patterns keeps even a 270M model from filling fields with ":{".
# Few-shot turns: the embedded model is a small base model and follows examples.
_DEMO_POEM = (
    Message.user("Write a two-line poem about the sea."),
    Message.assistant("Grey waves fold over the sand\nand pull the evening out with them."),
    Message.user("Write a two-line poem about a city at dawn."),
    Message.assistant(
        "The streetlights blink out one by one\nas bakers open their doors to the sun."
    ),
    Message.user("Write a two-line poem about a lighthouse at night."),
)
#: What the demo's storyboard is about.
_DEMO_TOPIC = "a lighthouse keeper and a storm"


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    """The library end to end: routing, a streamed chat, validated JSON, media, usage and cost."""
    inference = _bootstrap(args)
    model = args.model or inference.default_model
    route = inference.route(model)
    _announce_local_default(inference, console, args.model)
    if _embedded(inference, route) and route.spec is not None and route.spec.description:
        # What the embedded model is and is not good for: the catalog says it.
        console.note(f"note: {route.spec.name or route.model}: {route.spec.description}")

    console.line("== 1. Routing (no call is made)")
    console.pairs(
        f"How {route.requested} is served",
        [
            ("provider", route.provider),
            ("client path", route.client),
            ("matched rule", route.rule),
            ("key", inference.router.key_status(route)),
            ("json output", (route.spec.capabilities.json_output.value if route.spec else "-")),
        ],
    )

    console.line("\n== 2. A streamed chat (two examples, then the request)")

    async def stream() -> None:
        async for chunk in inference.stream_chat(
            _DEMO_POEM, model=model, max_tokens=args.max_tokens, temperature=0.7
        ):
            if chunk.text:
                console.out.write(chunk.text)
                console.out.flush()
        console.line()

    inference.run_sync(stream())

    console.line(
        "\n== 3. A descriptor sub-agent: a schema-valid outline, then per scene a keyframe, "
        "a narration and a clip (offline generators)"
    )
    storyboard = load_descriptor("storyboard").model_copy(update={"model": model})
    result = run_descriptor(
        inference, console, storyboard, {"topic": _DEMO_TOPIC}, out=Path(args.out)
    )

    console.line("\n== 4. The animatic: clips joined with crossfades, narration muxed")
    assemble_animatic(inference, console, result, Path(args.out))

    console.line("\n== 5. Usage and cost of this run")
    snapshot = inference.ledger.snapshot()
    rows = [
        (
            name,
            totals.attempts,
            show(totals.usage.input_tokens),
            show(totals.usage.output_tokens),
            totals.images or "-",
            f"{totals.media_seconds:.1f}" if totals.media_seconds else "-",
            "unknown" if totals.cost_usd is None else f"${totals.cost_usd:.6f}",
        )
        for name, totals in [*snapshot.by_model.items(), ("TOTAL", snapshot.total)]
    ]
    columns = ["model", "attempts", "in tokens", "out tokens", "images", "media s", "cost"]
    console.table("Usage", columns, rows)
    return EXIT_OK


# --- plumbing ---------------------------------------------------------------------------


def _bootstrap(args: argparse.Namespace) -> Inference:
    inference = bootstrap(config_path=args.config)
    args.inference = inference  # main() closes it, whatever the command did
    return inference


def _hint(exc: BaseException) -> str:
    if isinstance(exc, MissingAPIKeyError):
        return "export the variable (or add it to .env), or pick another model with --model"
    if isinstance(exc, ConfigurationError):
        return "run `inference-core doctor` to check the configuration"
    if isinstance(exc, InvalidGeneratorInput):
        return f"see what it accepts: inference-core generators --schema {exc.generator_id}"
    if isinstance(exc, GeneratorNotFound | GeneratorUnavailable):
        return "run `inference-core generators` to see the installed generators and their status"
    if isinstance(exc, OutputValidationError):
        return "the model's last answer is above; try a stronger model or a simpler schema"
    if isinstance(exc, InvalidInputError):
        return "check the command's arguments (inference-core chat --help)"
    if isinstance(exc, ProviderError):
        return "run `inference-core route MODEL` to see where the call went"
    return "rerun with --debug for the traceback"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="inference-core",
        description="One typed, observable inference layer: chat with any LLM, inspect routing.",
    )
    parser.add_argument("--config", help="runtime config file (default: search upward)")
    parser.add_argument("--output", choices=("human", "json"), default="human")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    models = sub.add_parser("models", help="list known models, capabilities, prices, key status")
    models.add_argument("--provider", help="only this provider")
    models.add_argument(
        "--path", action="store_true",
        help="print the bundled GGUF model's file path (e.g. for llama.cpp's own server)",
    )  # fmt: skip
    models.set_defaults(handler=cmd_models)

    route = sub.add_parser("route", help="explain how a model is routed (no call is made)")
    route.add_argument("model")
    route.set_defaults(handler=cmd_route)

    plugins = sub.add_parser("plugins", help="list installed chat adapter plugins")
    plugins.set_defaults(handler=cmd_plugins)

    doctor = sub.add_parser("doctor", help="check config, keys and endpoints")
    doctor.set_defaults(handler=cmd_doctor)

    chat = sub.add_parser("chat", help="send one prompt to a model")
    chat.add_argument("prompt", nargs="?", help="the prompt, or '-' to read standard input")
    chat.add_argument("--model", "-m", help="model id (default: the configured default)")
    chat.add_argument("--system", "-s", help="system prompt")
    chat.add_argument("--image", action="append", metavar="PATH", help="attach an image")
    chat.add_argument("--json", action="store_true", help="ask for one JSON object")
    chat.add_argument("--schema", metavar="FILE.json", help="validate the output against it")
    chat.add_argument(
        "--stream", action=argparse.BooleanOptionalAction, default=None,
        help="stream the answer (default: when stdout is a terminal)",
    )  # fmt: skip
    chat.add_argument("--max-tokens", type=int, help="output token cap")
    chat.add_argument("--temperature", type=float, help="sampling temperature (0-2)")
    chat.set_defaults(handler=cmd_chat)

    demo = sub.add_parser("demo", help="show the library end to end (works offline, no key)")
    demo.add_argument("--model", "-m", help="model to demo (default: the configured default)")
    demo.add_argument("--max-tokens", type=int, default=48, help="cap for the streamed answer")
    demo.add_argument("--out", default="demo-output", help="where the demo's media files go")
    demo.set_defaults(handler=cmd_demo)

    add_media_commands(sub)
    add_job_commands(sub)
    add_run_command(sub)
    return parser


def _quiet_library_logs(debug: bool) -> None:
    # The CLI is an application, so it may set logging: errors are printed once by
    # main(); per-attempt events show only with --debug.
    logger = logging.getLogger("inference_core")
    if debug:
        logger.setLevel(logging.INFO)
        if not any(type(h) is not logging.NullHandler for h in logger.handlers):
            logger.addHandler(logging.StreamHandler(sys.stderr))
    else:
        logger.setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE if argv else EXIT_OK
    console = Console(args.output)
    _quiet_library_logs(args.debug)
    try:
        result: int = args.handler(args, console)
        return result
    except InferenceError as exc:
        if args.debug:
            traceback.print_exc()
        console.note(f"error: {exc}")
        console.note(f"hint: {_hint(exc)}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        console.note("interrupted")
        return 130
    finally:
        opened: Inference | None = getattr(args, "inference", None)
        if opened is not None:
            opened.close()
