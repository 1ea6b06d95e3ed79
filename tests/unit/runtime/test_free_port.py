"""free_port never hands out the same port twice in one process (a launcher asks for a dozen
ports before any child binds one, and the kernel may offer a just-probed port again)."""

from __future__ import annotations

import socket

from services.runtime.children import free_port


def test_ports_handed_out_are_distinct_and_bindable() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", ports[-1]))
