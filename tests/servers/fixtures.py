"""Pytest fixtures for the fake servers.

Import them into a ``conftest.py``::

    from tests.servers.fixtures import fake_server, fake_server_session  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.server import FakeServer


@pytest.fixture(scope="session")
def fake_server_session() -> Iterator[FakeServer]:
    """One combined fake server (all protocols) for the whole session.

    Yields:
        The running server.
    """
    with FakeServer() as server:
        yield server


@pytest.fixture
def fake_server(fake_server_session: FakeServer) -> Iterator[FakeServer]:
    """The session server, reset (recordings, replies, faults, config) around each test.

    Args:
        fake_server_session: The session-wide server.

    Yields:
        The running server.
    """
    fake_server_session.reset()
    yield fake_server_session
    fake_server_session.reset()
