"""Run the fake server in its own process.

Usage::

    python -m tests.servers --protocol all --port 0

Prints ``READY <port>`` on stdout once listening; stops on SIGTERM/SIGINT.
Script it over HTTP with the ``/_fake/...`` control endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from tests.servers.errors import PROTOCOLS, Protocol
from tests.servers.server import FakeServer


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse command line options.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The parsed namespace.
    """
    parser = argparse.ArgumentParser(prog="python -m tests.servers", description=__doc__)
    parser.add_argument(
        "--protocol",
        action="append",
        choices=["all", *PROTOCOLS],
        help="protocol to serve (repeatable; default all)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--chunk-words", type=int, default=1, help="words per streamed chunk")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each chat reply")
    parser.add_argument("--no-record", action="store_true", help="do not keep request bodies")
    parser.add_argument("--require-key", default=None, help="API key every protocol requires")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Serve until SIGTERM or SIGINT.

    Args:
        args: Parsed options.
    """
    chosen = args.protocol or ["all"]
    protocols: tuple[Protocol, ...] = (
        PROTOCOLS if "all" in chosen else tuple(p for p in PROTOCOLS if p in chosen)
    )
    server = FakeServer(protocols, args.host, args.port)
    server.chunk_words = args.chunk_words
    server.chunk_delay = args.chunk_delay
    server.latency = args.latency
    server.record_requests = not args.no_record
    server.require_key(args.require_key)
    runner = await server.start_async()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sys.stdout.write(f"READY {server.port}\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Process exit code.
    """
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
