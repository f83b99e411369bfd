"""tcp_proxy relay: data integrity at several sizes, half-close in both directions, concurrency."""

import socket

import pytest

import backends
import ringside
from tcpclient import echo_roundtrip, payload, ping, recv_until_eof, sha256


@pytest.mark.parametrize("size", [1, 64 * 1024, 100 * 1024 * 1024], ids=["1B", "64KiB", "100MiB"])
def test_relay_integrity(simple, size):
    data = payload(size, seed=size)
    with simple.proxy.connect(simple.port) as s:
        n, digest = echo_roundtrip(s, data, timeout=120)
    assert n == size, f"echoed {n} bytes, sent {size}"
    assert digest == sha256(data), "echoed bytes differ from the ones sent"
    simple.proxy.wait_stat(f"tcp.{simple.stat_prefix}.downstream_cx_total", 1)


def test_half_close_client_first(start_proxy, backend):
    """Client shuts its write side; the backend sees EOF and still sends 1 MiB, which must all arrive."""
    tail = payload(1 << 20, seed=7)
    be = backend(backends.send_after_eof, name="after-eof", payload=tail)
    port, admin = ringside.free_port(), ringside.free_port()
    p = start_proxy(ringside.bootstrap(admin, [ringside.tcp_proxy_listener("l", port, cluster="c")],
                                       [ringside.cluster("c", [be.addr])]))
    with p.connect(port) as s:
        s.settimeout(20)
        s.sendall(b"hello")
        s.shutdown(socket.SHUT_WR)
        got = recv_until_eof(s)
    be.wait_for(lambda: "sent_after_eof" in be.events, what="backend to send after EOF")
    assert ("received_before_eof", b"hello") in be.events, be.events
    assert len(got) == len(tail), f"client got {len(got)} of {len(tail)} bytes sent after its half-close"
    assert sha256(got) == sha256(tail)


def test_half_close_backend_first(start_proxy, backend):
    """The backend shuts its write side first; the client sees EOF, then still sends 1 MiB upstream."""
    be = backend(backends.shut_then_read, name="shut-first", greeting=b"bye\n")
    port, admin = ringside.free_port(), ringside.free_port()
    p = start_proxy(ringside.bootstrap(admin, [ringside.tcp_proxy_listener("l", port, cluster="c")],
                                       [ringside.cluster("c", [be.addr])]))
    data = payload(1 << 20, seed=11)
    with p.connect(port) as s:
        s.settimeout(20)
        first = recv_until_eof(s)  # blocks until the backend's FIN is relayed
        assert first == b"bye\n"
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        be.wait_for(lambda: any(isinstance(e, tuple) and e[0] == "received" for e in be.events),
                    what="backend to read to EOF")
    received = [e for e in be.events if isinstance(e, tuple) and e[0] == "received"][0]
    assert received[1] == len(data), f"backend got {received[1]} of {len(data)} bytes after its half-close"
    assert received[2] == sha256(data)


def test_200_concurrent_connections(simple):
    socks = [simple.proxy.connect(simple.port) for _ in range(200)]
    try:
        for i, s in enumerate(socks):
            s.settimeout(20)
            s.sendall(b"conn %d\n" % i)
        for i, s in enumerate(socks):
            ping_msg = b"conn %d\n" % i
            got = b""
            while len(got) < len(ping_msg):
                chunk = s.recv(len(ping_msg) - len(got))
                assert chunk, f"connection {i} closed early"
                got += chunk
            assert got == ping_msg
        simple.backend.wait_for(lambda: simple.backend.active == 200, what="200 active upstream connections")
        simple.proxy.wait_stat(f"tcp.{simple.stat_prefix}.downstream_cx_total", 200)
        simple.proxy.wait_stat(f"cluster.{simple.cluster}.upstream_cx_total", 200)
    finally:
        for s in socks:
            s.close()
    simple.backend.wait_for(lambda: simple.backend.active == 0, what="upstream connections to close")


def test_concurrency_2(start_proxy, backend):
    be = backend(name="echo")
    port, admin = ringside.free_port(), ringside.free_port()
    p = start_proxy(ringside.bootstrap(admin, [ringside.tcp_proxy_listener("l", port, cluster="c",
                                                                           stat_prefix="c2")],
                                       [ringside.cluster("c", [be.addr])]), concurrency=2)
    assert p.thread_count() >= 3, f"expected a main thread and 2 workers, found {p.thread_count()} threads"
    for batch in range(4):
        socks = [p.connect(port) for _ in range(25)]
        for i, s in enumerate(socks):
            ping(s, b"b%d c%d\n" % (batch, i))
        for s in socks:
            s.close()
    p.wait_stat("tcp.c2.downstream_cx_total", 100)
    p.wait_stat(ringside.listener_stat("127.0.0.1", port, "downstream_cx_total"), 100)
