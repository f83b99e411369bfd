"""TCP backends for integration tests: asyncio servers on one background event-loop thread.

A Backend listens on loopback (or inside a network namespace) and runs one handler per connection.
Handlers are coroutines `handler(reader, writer, backend)`; the common ones are below. Every
Backend records what it saw (accepted count, peers, per-connection results) for the test to assert on.
"""

import asyncio
import hashlib
import socket
import threading
import time

from netns import in_netns

_loop = None
_loop_lock = threading.Lock()


def loop():
    """The shared asyncio loop, started on first use in a daemon thread."""
    global _loop
    with _loop_lock:
        if _loop is None:
            lp = asyncio.new_event_loop()
            t = threading.Thread(target=lp.run_forever, name="backends-loop", daemon=True)
            t.start()
            _loop = lp
    return _loop


def call(coro, timeout=30):
    """Runs a coroutine on the shared loop and waits for its result."""
    return asyncio.run_coroutine_threadsafe(coro, loop()).result(timeout)


def _listen_socket(host, port, backlog):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(backlog)
    s.setblocking(False)
    return s


# --- handlers -----------------------------------------------------------------------------------


async def _close(writer):
    try:
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass


async def echo(reader, writer, be):
    """Sends the greeting (if any), echoes everything, half-closes after the peer's EOF, then closes."""
    try:
        if be.greeting:
            writer.write(be.greeting)
            await writer.drain()
        while True:
            data = await reader.read(256 * 1024)
            if not data:
                break
            be.bytes_in += len(data)
            writer.write(data)
            await writer.drain()
        be.record("eof")
        if writer.can_write_eof():
            writer.write_eof()
        await writer.drain()
        # Linger until the peer closes too, so a half-closed client can still read the tail.
        try:
            await asyncio.wait_for(reader.read(1), timeout=30)
        except asyncio.TimeoutError:
            pass
    except (ConnectionError, OSError):
        be.record("reset")
    finally:
        await _close(writer)


async def send_after_eof(reader, writer, be):
    """Reads until the client's EOF, then sends `be.payload` and closes (client half-closed first)."""
    try:
        got = bytearray()
        while True:
            data = await reader.read(65536)
            if not data:
                break
            got += data
        be.record(("received_before_eof", bytes(got)))
        payload = be.payload
        for i in range(0, len(payload), 65536):
            writer.write(payload[i:i + 65536])
            await writer.drain()
        be.record("sent_after_eof")
    except (ConnectionError, OSError) as e:
        be.record(("error", repr(e)))
    finally:
        await _close(writer)


async def shut_then_read(reader, writer, be):
    """Sends `be.greeting`, half-closes its side at once, then reads to EOF and records the sha256."""
    try:
        writer.write(be.greeting or b"bye\n")
        await writer.drain()
        writer.write_eof()
        be.record("shut_wr")
        h = hashlib.sha256()
        n = 0
        while True:
            data = await reader.read(256 * 1024)
            if not data:
                break
            h.update(data)
            n += len(data)
        be.record(("received", n, h.hexdigest()))
    except (ConnectionError, OSError) as e:
        be.record(("error", repr(e)))
    finally:
        await _close(writer)


async def hold(reader, writer, be):
    """Keeps the connection open, reading and discarding, until the peer closes."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            be.bytes_in += len(data)
    except (ConnectionError, OSError):
        be.record("reset")
    finally:
        await _close(writer)


async def peer_echo(reader, writer, be):
    """Sends 'peer=<ip>:<port> local=<ip>:<port>\\n' first, then echoes (for interception tests)."""
    peer = writer.get_extra_info("peername")
    local = writer.get_extra_info("sockname")
    writer.write(f"peer={peer[0]}:{peer[1]} local={local[0]}:{local[1]} name={be.name}\n".encode())
    be.greeting = None
    await echo(reader, writer, be)


# --- the server ---------------------------------------------------------------------------------


class Backend:
    """One listening TCP server. `handler` is one of the coroutines above (default: echo)."""

    def __init__(self, handler=echo, name="backend", host="127.0.0.1", port=0, hosts=None,
                 greeting=None, payload=b"", netns=None, backlog=4096):
        self.handler = handler
        self.name = name
        self.greeting = greeting
        self.payload = payload
        self.accepted = 0
        self.active = 0
        self.bytes_in = 0
        self.peers = []
        self.events = []
        self._servers = []
        self._lock = threading.Lock()
        hosts = hosts or [host]
        socks = []
        for h in hosts:
            s = in_netns(netns, _listen_socket, h, port, backlog)
            port = s.getsockname()[1]  # the same port on every address
            socks.append(s)
        self.host = hosts[0]
        self.port = port
        for s in socks:
            # start_server calls listen() again: give it the backlog, or it resets it to 100.
            self._servers.append(call(asyncio.start_server(self._on_conn, sock=s, limit=1 << 20,
                                                           backlog=backlog)))

    @property
    def addr(self):
        return (self.host, self.port)

    def record(self, ev):
        with self._lock:
            self.events.append(ev)

    async def _on_conn(self, reader, writer):
        with self._lock:
            self.accepted += 1
            self.active += 1
            self.peers.append(writer.get_extra_info("peername"))
        try:
            await self.handler(reader, writer, self)
        finally:
            with self._lock:
                self.active -= 1

    def wait_for(self, pred, timeout=10.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.02)
        raise AssertionError(f"backend {self.name}: timed out waiting for {what} "
                             f"(accepted={self.accepted} active={self.active} events={self.events[-5:]})")

    def close(self):
        async def _stop(srv):
            srv.close()
            await srv.wait_closed()

        for srv in self._servers:
            try:
                call(_stop(srv), timeout=10)
            except Exception:
                pass
        self._servers = []


def closed_port(host="127.0.0.1"):
    """A port on which nothing listens (bound then closed, so connects are refused)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class BackendProcess:
    """An echo Backend in a child process: for tests whose sockets would not fit in this process's
    descriptor limit. Stops when close() is called (or when this process exits: its stdin closes)."""

    def __init__(self, host="127.0.0.1"):
        import subprocess
        import sys
        self.proc = subprocess.Popen([sys.executable, __file__, "--host", host], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise RuntimeError(f"echo backend process did not start: {line!r}")
        self.host = host
        self.port = int(line)

    @property
    def addr(self):
        return (self.host, self.port)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(10)


def _main():
    import argparse
    import resource
    import sys

    ap = argparse.ArgumentParser(description="echo backend for the integration tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    be = Backend(echo, name="echo-process", host=args.host, port=args.port)
    print(be.port, flush=True)
    sys.stdin.read()  # until the parent closes our stdin or exits
    be.close()


if __name__ == "__main__":
    import os.path as _p
    import sys as _s
    _s.path.insert(0, _p.dirname(_p.abspath(__file__)))
    _main()
