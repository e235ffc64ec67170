"""Shared fixtures: a running lab server, and a raw socket to talk to it like telnet does."""

from __future__ import annotations

import pytest
from smtp_raw import RawClient

from kit.server import LabServer


@pytest.fixture
def server():
    with LabServer(domains=["example.test"]) as srv:
        yield srv


@pytest.fixture
def raw(server):
    clients = []

    def connect(srv: LabServer | None = None) -> RawClient:
        target = srv or server
        client = RawClient(target.host, target.port)
        clients.append(client)
        return client

    yield connect
    for c in clients:
        c.close()
