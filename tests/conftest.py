"""Test-wide guards: no test may open a connection beyond loopback."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _check(address: Any) -> None:
    if isinstance(address, tuple) and address and not _is_loopback(address[0]):
        raise RuntimeError(f"test tried to reach {address[0]!r}: only loopback is allowed in tests")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not _is_loopback(host):
        raise RuntimeError(f"test tried to resolve {host!r}: only loopback is allowed in tests")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _loopback_only(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any test (except ``live`` ones) that connects or resolves beyond loopback."""
    if request.node.get_closest_marker("live"):
        yield
        return
    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", _guarded_connect)
    mp.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    mp.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    try:
        yield
    finally:
        mp.undo()


@pytest.fixture(autouse=True)
def _isolate_global_logging_config() -> Iterator[None]:
    """Undo what a test (the CLI's main(), structlog.testing.capture_logs) did to global logging.

    ``capture_logs`` marks structlog as configured for the rest of the process and the
    CLI sets the ``inference_core`` logger's level; without this, later tests would see
    events printed to stdout or swallowed, depending on test order.
    """
    import logging
    import sys

    logger = logging.getLogger("inference_core")
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers
    structlog = sys.modules.get("structlog")
    if structlog is not None:
        structlog.reset_defaults()
