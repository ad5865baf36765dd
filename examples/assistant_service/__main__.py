"""``python -m examples.assistant_service``: serve the demo agents over HTTP.

Prints ``READY <port>`` once the socket listens (``--port 0`` picks a free
port). ``--fake`` answers with a fake model (no model, no network); the
default mode runs the embedded local model (Gemma 3 270M, the ``local``
extra). Media always comes from the offline generators. Stop it with
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from werkzeug.serving import make_server

from examples.assistant_service.app import create_app
from examples.assistant_service.demo import demo_descriptors, fake_answer
from examples.assistant_service.executor import DescriptorExecutor
from inference_core.adapters.fakes import FunctionChatModel
from inference_core.composition import Inference, bootstrap
from inference_core.composition.services import media_store
from inference_core.domain.config import MediaSettings, RuntimeConfig

DEFAULT_LOCAL_MODEL = "local/gemma-3-270m"


def build_inference(args: argparse.Namespace, workspace: Path) -> Inference:
    """The wired library for the chosen mode."""
    media = MediaSettings(output_dir=str(workspace / "media"))
    if args.fake:
        inference = bootstrap(
            config=RuntimeConfig(media=media),
            environ={},
            chat_model=FunctionChatModel(fake_answer),
            default_model="openai/gpt-4o-mini",  # priced in the catalog; served by the fake
        )
    elif args.config:
        inference = bootstrap(config_path=args.config, default_model=args.model)
    else:
        inference = bootstrap(
            config=RuntimeConfig(media=media),
            environ={},
            default_model=args.model or DEFAULT_LOCAL_MODEL,
        )
    inference.asset_store = media_store(inference, workspace / "media")
    return inference


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the service until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m examples.assistant_service")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free one)")
    parser.add_argument("--workspace", default="assistant-workspace", help="workspace directory")
    parser.add_argument("--fake", action="store_true", help="a fake model instead of a real one")
    parser.add_argument("--model", help=f"chat model (default {DEFAULT_LOCAL_MODEL})")
    parser.add_argument("--config", help="an inference_runtime.yaml to use (hosted models)")
    args = parser.parse_args(argv)

    workspace = Path(args.workspace).resolve()
    inference = build_inference(args, workspace)
    executor = DescriptorExecutor(inference, demo_descriptors())
    app = create_app(executor, workspace=workspace)
    server = make_server(args.host, args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, _stop)
    mode = "fake model" if args.fake else (inference.default_model or "default model")
    print(f"READY {server.server_port}", flush=True)
    print(f"serving {mode} on http://{args.host}:{server.server_port}", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        executor.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
