"""The gateway tests share the replay servers and fast HTTP options of the resolve tests."""

from tests.resolve.conftest import FAST, client, gateway, second_server, server

__all__ = ["FAST", "client", "gateway", "second_server", "server"]
