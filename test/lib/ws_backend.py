"""A WebSocket echo server (Debian python3-websockets) for the proxy's upgrade/tunnel tests.

Why a real WebSocket library: the proxy must tunnel a genuine RFC 6455 handshake and framing in both
directions (including 10 MiB messages under backpressure), so the peer has to be a conforming
implementation, not a byte echo. What the proxy forwarded in the upgrade request (headers in order,
original case, path) is recorded so tests can check hop-by-hop handling of `Upgrade`/`Connection`.

Runs on the shared asyncio loop of `backends.py`. Usage:

    with WsBackend(name="ws") as ws:          # 127.0.0.1, port 0
        url = ws.url("/chat")                  # ws://127.0.0.1:PORT/chat
        ... a client connects, sends messages, gets them echoed back ...
        ws.upgrades[-1].headers                # [(name, value)] as received
        ws.messages, ws.bytes_echoed

Paths: anything echoes; `/reject` answers the upgrade with 403 (to test a refused upgrade).
Every handshake response carries `x-backend-name`.
"""

import asyncio
import contextlib
import http
import socket
import threading
import time
from dataclasses import dataclass, field

import websockets
import websockets.server

from backends import call

MAX_MESSAGE = 16 << 20  # the 10 MiB echo test plus headroom; bounded so a bad peer cannot exhaust memory
_MAX_MESSAGES_PER_CONN = 1 << 20


@dataclass
class Upgrade:
    path: str
    headers: list               # [(name, value)] in order, original case
    peer: tuple
    accepted: bool = True
    received_at: float = field(default_factory=time.monotonic)

    def header(self, name, default=None):
        n = name.lower()
        return next((v for k, v in self.headers if k.lower() == n), default)


class WsBackend:
    """One WebSocket echo server on loopback; close() (or the context manager) stops it and its
    connections (close code 1001)."""

    def __init__(self, name="ws", host="127.0.0.1", port=0, compression=None, subprotocols=None,
                 backlog=1024, max_size=MAX_MESSAGE):
        self.name = name
        self.host = host
        self.upgrades = []
        self.messages = 0
        self.bytes_echoed = 0
        self.closed_connections = 0
        self._lock = threading.Lock()
        self._closed = False
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(backlog)
        s.setblocking(False)
        self.port = s.getsockname()[1]

        async def start():
            return await websockets.server.serve(
                self._handler, sock=s, backlog=backlog, process_request=self._process_request,
                compression=compression, subprotocols=subprotocols, max_size=max_size,
                max_queue=4, extra_headers=[("x-backend-name", name)], ping_interval=None,
                close_timeout=2)

        self._server = call(start())

    @property
    def addr(self):
        return (self.host, self.port)

    def url(self, path="/"):
        return f"ws://{self.host}:{self.port}{path}"

    async def _process_request(self, path, headers):
        # Runs before the handshake response: the place to see the request exactly as received.
        up = Upgrade(path, list(headers.raw_items()), None, accepted=not path.startswith("/reject"))
        with self._lock:
            self.upgrades.append(up)
        if not up.accepted:
            return http.HTTPStatus.FORBIDDEN, [("x-backend-name", self.name)], b"upgrade refused\n"
        return None

    async def _handler(self, ws):
        with self._lock:
            if self.upgrades and self.upgrades[-1].peer is None:
                self.upgrades[-1].peer = ws.remote_address
        try:
            for _ in range(_MAX_MESSAGES_PER_CONN):
                msg = await ws.recv()
                await ws.send(msg)
                with self._lock:
                    self.messages += 1
                    self.bytes_echoed += len(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            with self._lock:
                self.closed_connections += 1

    def wait_for(self, pred, timeout=10.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.01)
        raise AssertionError(f"ws backend {self.name}: timed out waiting for {what}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Stops listening and closes open WebSocket connections. Idempotent."""
        if self._closed:
            return
        self._closed = True

        async def stop():
            self._server.close()
            await asyncio.wait_for(self._server.wait_closed(), 10)

        with contextlib.suppress(Exception):  # teardown must not mask the test's own failure
            call(stop(), timeout=15)


@contextlib.contextmanager
def ws_backends():
    """Factory context: `with ws_backends() as make: ws = make(name="a")`; all closed on exit."""
    made = []

    def make(**kw):
        ws = WsBackend(**kw)
        made.append(ws)
        return ws

    try:
        yield make
    finally:
        for ws in made:
            ws.close()


try:
    import pytest

    @pytest.fixture(name="ws_backend")
    def ws_backend_fixture():
        """Factory fixture: ws_backend(name=...) -> started WsBackend, closed at teardown."""
        with ws_backends() as make:
            yield make
except ImportError:
    pass
