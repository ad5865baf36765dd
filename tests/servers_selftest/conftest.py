"""Fixtures of the fake-server self-tests."""

from tests.servers.fixtures import fake_server, fake_server_session  # noqa: F401
