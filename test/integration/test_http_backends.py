"""The HTTP and WebSocket test backends, checked directly with real clients (curl, http.client, raw
sockets, the websockets client) before the L7 proxy tests rely on them: a backend bug must not be
mistaken for a proxy bug. No proxy is involved here."""

import asyncio
import hashlib
import http.client
import json
import os
import socket
import subprocess
import threading
import time

import backends
import pytest
import websockets

from http_backend import HttpBackend, http_backend_fixture, large_body, large_body_sha256  # noqa: F401
from ws_backend import ws_backend_fixture  # noqa: F401

CURL_TIMEOUT = 20


def curl(*args, timeout=CURL_TIMEOUT):
    """Runs curl (no proxy from the environment, loopback only), returns CompletedProcess (bytes)."""
    cmd = ["curl", "-sS", "--noproxy", "*", "--max-time", str(timeout - 5)] + list(args)
    return subprocess.run(cmd, capture_output=True, timeout=timeout)


def raw(addr, data, timeout=5.0, limit=32 << 20):
    """Sends `data` on a fresh connection and returns everything received until EOF (bounded)."""
    with socket.create_connection(addr, timeout=timeout) as s:
        s.sendall(data)
        return recv_all(s, timeout, limit)


def recv_all(s, timeout=5.0, limit=32 << 20):
    s.settimeout(timeout)
    out = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(out) <= limit:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(out)
        out += chunk
    raise AssertionError(f"no EOF after {len(out)} bytes")


def recv_head(s, timeout=5.0):
    """Reads up to the end of one response head; returns (head, bytes already read past it)."""
    s.settimeout(timeout)
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline or len(buf) > 1 << 20:
            raise AssertionError(f"no response head: {bytes(buf[:200])!r}")
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError(f"EOF before response head: {bytes(buf)!r}")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def get(be, path, method="GET", body=None, headers=None, timeout=5.0):
    c = http.client.HTTPConnection(*be.addr, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


# --- echo, recording, selection -----------------------------------------------------------------


def test_echo_with_curl_records_headers_in_order_and_case(http_backend):
    be = http_backend(name="alpha")
    cp = curl("-i", "-X", "POST", "--data-binary", "hello world", "-H", "X-Mixed-Case: One",
              "-H", "x-lower: two", be.url("/echo/path?q=1"))
    assert cp.returncode == 0, cp.stderr
    head, _, body = cp.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"x-backend-name: alpha" in head
    d = json.loads(body)
    assert d["backend"] == "alpha" and d["method"] == "POST"
    assert d["target"] == "/echo/path?q=1" and d["path"] == "/echo/path" and d["query"] == "q=1"
    assert d["body"] == "hello world" and d["body_len"] == 11 and d["framing"] == "content-length"
    assert d["body_sha256"] == hashlib.sha256(b"hello world").hexdigest()
    names = [h[0] for h in d["headers"]]
    assert names.index("X-Mixed-Case") < names.index("x-lower")  # order and original case kept
    req = be.last
    assert req.complete and req.body == b"hello world"
    assert req.header("x-mixed-case") == "One" and "X-Mixed-Case" in req.header_names
    assert req.raw_head.startswith(b"POST /echo/path?q=1 HTTP/1.1\r\n")


def test_chunked_request_body_and_trailers_are_recorded(http_backend):
    be = http_backend()
    req = (b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: done\r\n\r\n")
    resp = raw(be.addr, req)
    assert resp.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in resp
    d = json.loads(resp.partition(b"\r\n\r\n")[2])
    assert d["framing"] == "chunked" and d["body"] == "hello world"
    assert d["trailers"] == [["X-Trailer", "done"]]
    assert be.last.trailers == [("X-Trailer", "done")]


def test_route_prefix_header_override_and_head(http_backend):
    be = http_backend()
    be.route("/api", "fixed", status=404, body=b"nope", headers=[("X-Route", "api")])
    be.route("/api/v2", "fixed", status=201, body="v2")
    assert get(be, "/api/x")[0::2] == (404, b"nope")
    assert get(be, "/api/x")[1]["X-Route"] == "api"
    assert get(be, "/api/v2/y")[0::2] == (201, b"v2")  # longest prefix wins
    assert get(be, "/other")[0] == 200  # default echo
    # The per-request header beats the route: what tests send through the proxy.
    st, hdrs, body = get(be, "/api/x", headers={"x-test-behaviour": "fixed; status=418; reason=Teapot; "
                                                                   "body=tea; header=x-a: 1; header=x-b: 2"})
    assert (st, body, hdrs["x-a"], hdrs["x-b"]) == (418, b"tea", "1", "2")
    st, hdrs, body = get(be, "/api/x", method="HEAD")
    assert st == 404 and body == b"" and hdrs["Content-Length"] == "4"
    be.set_default("mirror")
    assert get(be, "/anything")[0::2] == (200, b"")


def test_unknown_behaviour_is_a_500_not_a_hang(http_backend):
    be = http_backend()
    st, _, body = get(be, "/", headers={"x-test-behaviour": "nonsense"})
    assert st == 500 and b"nonsense" in body


# --- connections ---------------------------------------------------------------------------------


def test_keepalive_reports_connection_ids(http_backend):
    be = http_backend()
    c = http.client.HTTPConnection(*be.addr, timeout=5)
    seen = []
    for _ in range(3):
        c.request("GET", "/ka")
        r = c.getresponse()
        r.read()
        seen.append((r.getheader("x-connection-id"), r.getheader("x-request-on-connection")))
    c.close()
    assert seen == [("1", "1"), ("1", "2"), ("1", "3")]
    assert get(be, "/ka")[1]["x-connection-id"] == "2"
    assert be.conn_ids() == [1, 2]
    assert [r.request_on_conn for r in be.requests] == [1, 2, 3, 1]


def test_pipelined_requests_answered_in_order(http_backend):
    be = http_backend()
    reqs = b"".join(b"GET /p%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(3))
    resp = raw(be.addr, reqs + b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert resp.count(b"HTTP/1.1 200 OK") == 4
    assert [r.path for r in be.requests] == ["/p0", "/p1", "/p2", "/last"]
    assert len(be.conn_ids()) == 1


def test_connection_close_after_response(http_backend):
    be = http_backend()
    be.route("/bye", "fixed", body=b"bye", close=1)
    with socket.create_connection(be.addr, timeout=5) as s:
        s.sendall(b"GET /bye HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = recv_all(s)  # EOF arrives: the server closed although the client asked nothing
    assert b"Connection: close" in resp and resp.endswith(b"\r\n\r\nbye")
    be.wait_for(lambda: be.connections[-1].closed, what="server close")
    assert be.connections[-1].how_closed == "server_close"
    # HTTP/1.0 without keep-alive closes too.
    assert raw(be.addr, b"GET /x HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200 OK")


def test_many_concurrent_connections(http_backend):
    """The listen backlog and the loop keep up with a burst (the 2,000-request split tests)."""
    be = http_backend()
    n = 300
    socks = [socket.create_connection(be.addr, timeout=5) for _ in range(n)]
    try:
        for s in socks:
            s.sendall(b"GET /burst HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        ok = sum(recv_all(s).startswith(b"HTTP/1.1 200") for s in socks)
    finally:
        for s in socks:
            s.close()
    assert ok == n and len(be.requests) == n


# --- failures then success (retries) -------------------------------------------------------------


def test_fail_503_n_times_then_success_per_key(http_backend):
    be = http_backend()
    be.route("/retry", "fail", n=2)
    results = [get(be, "/retry")[0] for _ in range(4)]
    assert results == [503, 503, 200, 200]
    assert be.attempts["/retry"] == 4
    # Keys are independent; the header form works the same way.
    hdr = {"x-test-behaviour": "fail; n=1; key=k1; then=fixed; body=ok"}
    assert [get(be, "/a", headers=hdr)[0::2] for _ in range(2)] == [(503, b"failure\n"), (200, b"ok")]
    st, hdrs, _ = get(be, "/b", headers={"x-test-behaviour": "fail; n=1; key=k2"})
    assert st == 503 and hdrs["x-attempt"] == "1"
    assert get(be, "/c", headers={"x-test-behaviour": "fail; n=1; key=k2"})[1]["x-attempt"] == "2"
    be.reset()
    assert be.attempts == {} and be.requests == []


def test_fail_with_reset_and_close(http_backend):
    be = http_backend()
    be.route("/rst", "fail", n=1, mode="reset")
    be.route("/fin", "fail", n=1, mode="close")
    with socket.create_connection(be.addr, timeout=5) as s:
        s.sendall(b"GET /rst HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            recv_all(s)
    assert be.connections[-1].how_closed == "reset"
    assert raw(be.addr, b"GET /fin HTTP/1.1\r\nHost: x\r\n\r\n") == b""  # clean EOF, no response
    assert get(be, "/rst")[0] == 200 and get(be, "/fin")[0] == 200
    assert be.attempts == {"/rst": 2, "/fin": 2}
    with socket.create_connection(be.addr, timeout=5) as s:
        s.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\nx-test-behaviour: drop; mode=reset\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            recv_all(s)


# --- timing ---------------------------------------------------------------------------------------


def test_delay_before_headers_and_between_chunks(http_backend):
    be = http_backend()
    t0 = time.monotonic()
    st, _, _ = get(be, "/", headers={"x-test-behaviour": "echo; delay_ms=300"})
    assert st == 200 and time.monotonic() - t0 >= 0.3
    with socket.create_connection(be.addr, timeout=5) as s:
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"x-test-behaviour: slow_body; chunks=3; chunk_size=10; interval_ms=200\r\n\r\n")
        head, rest = recv_head(s)
        t_head = time.monotonic()
        body = rest + recv_all(s)
        elapsed = time.monotonic() - t_head
    assert b"Content-Length: 30" in head and body == b"a" * 10 + b"b" * 10 + b"c" * 10
    assert 0.35 <= elapsed < 3.0  # two gaps of 200 ms after the first chunk


def test_hang_never_answers_until_closed(http_backend):
    be = http_backend()
    be.route("/hang", "hang")
    s = socket.create_connection(be.addr, timeout=0.5)
    try:
        s.sendall(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(socket.timeout):
            s.recv(1)
        assert be.last.path == "/hang" and be.active == 1
        be.close()  # shutting down ends the stuck connection instead of leaking it
        assert _eof_or_reset(s)
        assert be.active == 0
    finally:
        s.close()


def test_fail_hang_then_success_for_per_try_timeouts(http_backend):
    """The first attempt stalls (the proxy's per-try timeout fires and drops it), the retry succeeds."""
    be = http_backend()
    be.route("/pertry", "fail", n=1, mode="hang")
    with socket.create_connection(be.addr, timeout=0.3) as s:
        s.sendall(b"GET /pertry HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(socket.timeout):
            s.recv(1)
    be.wait_for(lambda: be.active == 0, what="hung connection released after the client left")
    st, hdrs, _ = get(be, "/pertry")
    assert st == 200 and hdrs["x-attempt"] == "2"


def _eof_or_reset(s, timeout=5.0):
    """True when the peer closed the connection (orderly EOF or RST, whichever the timing gives)."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def test_bad_behaviour_parameter_is_reported(http_backend):
    be = http_backend()
    assert raw(be.addr, b"GET / HTTP/1.1\r\nHost: x\r\nx-test-behaviour: fixed; status=abc\r\n\r\n") == b""
    be.wait_for(lambda: be.errors, what="error record")
    assert be.errors[-1][1].startswith("behaviour error: ValueError")


# --- bodies ---------------------------------------------------------------------------------------


def test_chunked_response_with_trailers(http_backend):
    be = http_backend()
    resp = raw(be.addr, b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        b"x-test-behaviour: chunked; chunks=2; chunk_size=4; trailer=x-checksum: abc\r\n\r\n")
    head, _, body = resp.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Trailer: x-checksum" in head
    assert body == b"4\r\naaaa\r\n4\r\nbbbb\r\n0\r\nx-checksum: abc\r\n\r\n"
    # A real client decodes it.
    cp = curl("--raw", "-H", "x-test-behaviour: chunked; chunks=3; chunk_size=5", be.url("/c2"))
    assert cp.returncode == 0 and cp.stdout == b"5\r\naaaaa\r\n5\r\nbbbbb\r\n5\r\nccccc\r\n0\r\n\r\n"
    cp = curl("-H", "x-test-behaviour: chunked; chunks=3; chunk_size=5", be.url("/c2"))
    assert cp.stdout == b"aaaaabbbbbccccc"


@pytest.mark.parametrize("size,chunked", [(65536, 0), (10 << 20, 0), (10 << 20, 1), (100, 1)])
def test_large_bodies_with_curl(http_backend, size, chunked):
    be = http_backend()
    be.route("/big", "large", size=size, chunked=chunked)
    cp = curl("-D", "-", "-o", "/dev/stdout", be.url("/big"))
    assert cp.returncode == 0, cp.stderr
    head, _, body = cp.stdout.partition(b"\r\n\r\n")
    assert len(body) == size
    digest = hashlib.sha256(body).hexdigest()
    assert digest == large_body_sha256(size) and f"x-body-sha256: {digest}".encode() in head
    assert (b"Transfer-Encoding: chunked" in head) == bool(chunked)
    if size <= 65536:
        assert body == large_body(size)


def test_large_request_body_is_recorded(http_backend):
    be = http_backend()
    data = os.urandom(3 << 20)
    st, _, body = get(be, "/upload", method="PUT", body=data, timeout=10)
    d = json.loads(body)
    assert st == 200 and d["body_len"] == len(data) and "body" not in d
    assert d["body_sha256"] == hashlib.sha256(data).hexdigest() and be.last.body == data


def test_close_mid_body(http_backend):
    be = http_backend()
    be.route("/cut", "abort_body", size=10000, sent=100)
    c = http.client.HTTPConnection(*be.addr, timeout=5)
    try:
        c.request("GET", "/cut")
        r = c.getresponse()
        assert r.status == 200 and r.getheader("Content-Length") == "10000"
        with pytest.raises(http.client.IncompleteRead) as ei:
            r.read()
        assert len(ei.value.partial) == 100
    finally:
        c.close()
    with socket.create_connection(be.addr, timeout=5) as s:
        s.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\nx-test-behaviour: abort_body; sent=10; mode=reset\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            recv_all(s)


# --- 100-continue -------------------------------------------------------------------------------


def _expect_request(behaviour):
    return (b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
            b"Connection: close\r\nx-test-behaviour: " + behaviour + b"\r\n\r\n")


def test_expect_100_continue(http_backend):
    be = http_backend()
    with socket.create_connection(be.addr, timeout=5) as s:
        s.sendall(_expect_request(b"echo"))
        head, rest = recv_head(s)
        assert head == b"HTTP/1.1 100 Continue\r\n\r\n" and rest == b""
        s.sendall(b"hello")
        resp = recv_all(s)
    assert resp.startswith(b"HTTP/1.1 200 OK") and json.loads(resp.partition(b"\r\n\r\n")[2])["body"] == "hello"
    assert be.last.sent_continue
    # reject: a final 417 without reading the body.
    resp = raw(be.addr, _expect_request(b"echo; expect=reject"))
    assert resp.startswith(b"HTTP/1.1 417")
    # ignore: no 100 is sent; the server just waits for the body (curl's 1 s expect timeout path).
    with socket.create_connection(be.addr, timeout=0.3) as s:
        s.sendall(_expect_request(b"echo; expect=ignore"))
        with pytest.raises(socket.timeout):
            s.recv(1)
        s.sendall(b"hello")
        assert recv_all(s).startswith(b"HTTP/1.1 200 OK")
    assert not be.last.sent_continue and be.last.body == b"hello"
    # curl sends Expect itself for large uploads and must get the 100.
    cp = curl("-H", "Expect: 100-continue", "--data-binary", "x" * 2000, be.url("/curl"))
    assert cp.returncode == 0 and json.loads(cp.stdout)["sent_continue"] is True


# --- invalid responses (for 502 UPE tests) -------------------------------------------------------


INVALID_MARKERS = {
    "bad_status_line": b"HTTP/1.1 2OO OK\r\n",
    "cl_and_te": b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    "duplicate_cl": b"Content-Length: 5\r\nContent-Length: 6\r\n",
    "bad_chunk": b"\r\n\r\nzz\r\n",
    "not_http": b"SSH-2.0",
    "bare_lf": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
}


@pytest.mark.parametrize("kind", sorted(INVALID_MARKERS))
def test_invalid_responses_are_sent_verbatim(http_backend, kind):
    be = http_backend()
    resp = raw(be.addr, b"GET / HTTP/1.1\r\nHost: x\r\nx-test-behaviour: invalid; kind=" + kind.encode() + b"\r\n\r\n")
    assert INVALID_MARKERS[kind] in resp  # and the server closed (raw() returned on EOF)


def test_invalid_responses_break_real_clients(http_backend):
    be = http_backend()
    be.route("/bad", "invalid", kind="bad_status_line")
    be.route("/big", "invalid", kind="oversize_headers", size=200 << 10)
    with pytest.raises(http.client.BadStatusLine):
        get(be, "/bad")
    with pytest.raises(http.client.LineTooLong):
        get(be, "/big")
    resp = raw(be.addr, b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    assert len(resp) > 200 << 10


# --- strictness on the request side --------------------------------------------------------------


def test_smuggling_shaped_requests_are_refused_and_recorded(http_backend):
    """If the proxy ever forwarded such a request, the test sees it in be.errors, not as a success."""
    be = http_backend()
    resp = raw(be.addr, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"0\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 400")
    assert raw(be.addr, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n").startswith(b"HTTP/1.1 501")
    assert raw(be.addr, b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n  folded\r\n\r\n").startswith(b"HTTP/1.1 400")
    big = b"GET / HTTP/1.1\r\nHost: x\r\nx-big: " + b"a" * (64 << 10) + b"\r\n\r\n"
    small = HttpBackend(name="small", max_head_bytes=16 << 10)
    try:
        assert raw(small.addr, big).startswith(b"HTTP/1.1 431")
        assert small.errors[-1][1] == "request head too large"
    finally:
        small.close()
    whats = [e[1] for e in be.errors]
    assert whats == ["both content-length and transfer-encoding", "unsupported transfer-encoding ['gzip']",
                     "obs-fold"]


# --- identity, mirror, shutdown -------------------------------------------------------------------


def test_instances_identify_themselves(http_backend):
    a, b = http_backend(name="blue"), http_backend(name="green")
    names = [get(x, "/who")[1]["x-backend-name"] for x in (a, b, a)]
    assert names == ["blue", "green", "blue"]
    assert json.loads(get(b, "/who")[2])["backend"] == "green"


def test_mirror_receiver_records_only(http_backend):
    shadow = http_backend(name="shadow", default="mirror")
    for i in range(5):
        assert get(shadow, f"/m{i}", method="POST", body=b"x" * i)[0::2] == (200, b"")
    reqs = shadow.wait_for_requests(5, timeout=5)
    assert [r.body for r in reqs] == [b"x" * i for i in range(5)]
    with pytest.raises(AssertionError, match="timed out"):
        shadow.wait_for_requests(6, timeout=0.2)


def test_close_releases_everything():
    backends.loop()  # the shared loop thread is process-wide: start it before counting
    threads = threading.active_count()
    fds = len(os.listdir("/proc/self/fd"))
    with HttpBackend(name="tmp") as be:
        idle = socket.create_connection(be.addr, timeout=5)
        idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        recv_head(idle)
        port = be.port
        assert be.active == 1
    try:
        assert be.active == 0 and _eof_or_reset(idle)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        idle.close()
    be.close()  # idempotent
    assert threading.active_count() == threads
    assert len(os.listdir("/proc/self/fd")) == fds


# --- WebSocket ------------------------------------------------------------------------------------


def test_websocket_echo_10mib_and_upgrade_recorded(ws_backend):
    ws = ws_backend(name="wsa")
    payload = os.urandom(10 << 20)

    async def client():
        async with websockets.connect(ws.url("/chat?room=1"), max_size=None, open_timeout=5,
                                      extra_headers=[("X-Client-Header", "Yes")]) as c:
            assert c.response_headers["x-backend-name"] == "wsa"
            await c.send(payload)
            echoed = await asyncio.wait_for(c.recv(), 20)
            await c.send("text")
            text = await asyncio.wait_for(c.recv(), 5)
            return echoed, text

    echoed, text = asyncio.run(asyncio.wait_for(client(), 25))
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest() and text == "text"
    up = ws.upgrades[-1]
    assert up.path == "/chat?room=1" and up.header("upgrade") == "websocket"
    assert ("X-Client-Header", "Yes") in up.headers and up.peer is not None
    ws.wait_for(lambda: ws.closed_connections == 1, what="close")
    assert ws.messages == 2 and ws.bytes_echoed == len(payload) + 4


def test_websocket_reject_and_shutdown(ws_backend):
    ws = ws_backend()

    async def rejected():
        with pytest.raises(websockets.InvalidStatusCode) as ei:
            await websockets.connect(ws.url("/reject"), open_timeout=5)
        return ei.value.status_code

    assert asyncio.run(asyncio.wait_for(rejected(), 10)) == 403
    assert not ws.upgrades[-1].accepted

    async def cut_by_close():
        async with websockets.connect(ws.url("/"), open_timeout=5) as c:
            await c.send("hi")
            assert await asyncio.wait_for(c.recv(), 5) == "hi"
            await asyncio.get_running_loop().run_in_executor(None, ws.close)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(c.recv(), 5)
            return c.close_code

    assert asyncio.run(asyncio.wait_for(cut_by_close(), 15)) == 1001
