"""The test-controlled TCP proxy (tests/faults.py) does what the fault tests rely on."""

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.faults import TcpProxy


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield port
    server.close()


def ask(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    return sock.recv(1024)


def test_forward_freeze_resume_cut_refuse(echo_port: int) -> None:
    with TcpProxy(echo_port) as proxy:
        client = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        assert ask(client, b"one") == b"one"

        proxy.freeze()
        client.settimeout(0.3)
        with pytest.raises(TimeoutError):
            ask(client, b"two")  # the connection stays open, nothing comes back
        proxy.forward()
        client.settimeout(2)
        assert client.recv(1024) == b"two"  # held bytes pass once thawed

        proxy.cut()
        assert client.recv(1024) == b""  # dropped
        again = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        assert ask(again, b"three") == b"three"  # new connections still pass

        proxy.refuse()
        assert again.recv(1024) == b""
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        proxy.forward()
        assert ask(socket.create_connection(("127.0.0.1", proxy.port), timeout=2), b"4") == b"4"
        assert proxy.accepted == 3
