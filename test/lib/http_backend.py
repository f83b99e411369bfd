"""An HTTP/1.1 origin server for the L7 integration tests, with its own parser so it can misbehave.

Why not http.server or nginx: the L7 tests need an upstream that (a) records exactly what the proxy
sent (header order and case, framing, body bytes, which upstream connection carried it) and (b) can be
told, per path or per request, to fail in precise ways: N failures then success (retries), stalls
(timeouts), resets and truncated bodies (reset / UPE handling), malformed responses (502 UPE). A stock
server normalises or refuses all of those.

Runs on the shared asyncio loop of `backends.py` (one daemon thread for all test backends); every
connection is a task that close() cancels, so nothing outlives the test.

Usage:

    with HttpBackend(name="a") as be:                 # 127.0.0.1, port 0, backlog 4096
        be.route("/retry", "fail", n=2, mode="reset")  # per path prefix (longest wins)
        ... client sends GET http://127.0.0.1:{be.port}/retry ...
        assert be.attempts["/retry"] == 3
        req = be.requests[-1]; req.headers, req.body, req.conn_id

    or per request, with a header the proxy forwards unchanged:
        x-test-behaviour: fixed; status=404; body=nope; header=x-a: 1

Precedence: `x-test-behaviour` header > longest `route()` prefix > `default` (echo).

Behaviours (params; all also accept the common ones below):
  echo        200 JSON describing the request: backend, method, target, path, version, headers (ordered
              [name, value] with original case), framing, body_len, body_sha256, body (if <= 4 KiB),
              trailers, conn_id, request_on_conn. Param: status.
  fixed       status (200), reason, body (""), headers.
  mirror      records only; 200 with an empty body (for shadow/mirror receivers).
  fail        n (1) failures, then behaves as `then` (echo), counted per key (param `key`, else the
              path); mode: 503 (or any status) | reset (RST after reading the request) | close
              (FIN, no response) | hang (no response: per-try timeout tests). be.attempts[key] counts
              every request for that key.
  drop        mode: reset | close; always, no response.
  hang        reads the request, never answers (until the peer or close() ends the connection).
  slow_body   chunks (4) of chunk_size (1024) bytes, interval_ms (100) between them; chunked (0|1).
  chunked     chunked response: chunks (3) x chunk_size (16) bytes, then `trailers` (list or repeated
              `trailer=name: value`), announced in a `Trailer` header.
  large       size (65536) deterministic bytes streamed in 64 KiB writes; chunked (0|1);
              `x-body-sha256` header carries the digest (see large_body_sha256()).
  abort_body  announces Content-Length: size (100000), sends `sent` (1000) bytes, then mode close|reset.
  invalid     kind: bad_status_line | cl_and_te | duplicate_cl | oversize_headers (size, 128 KiB) |
              bad_chunk | not_http | bare_lf; then closes.
  raw         writes `data` verbatim; closes unless close=0.
Common params: delay_ms (before the status line), close=1 (send Connection: close and close after),
  expect = continue (default: answer 100 Continue) | ignore (read the body without sending 100) |
  reject (417 and close without reading the body), headers / header= (extra response headers).

Every generated response carries x-backend-name, x-connection-id and x-request-on-connection unless
the backend is built with id_headers=False, so tests can see which instance and upstream connection
served them.
"""

import asyncio
import contextlib
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from backends import call

BEHAVIOUR_HEADER = "x-test-behaviour"
_BLOCK = 1 << 16
_MAX_BODY = 64 << 20          # request bodies above this are refused (413): bounded memory
_MAX_REQUESTS_PER_CONN = 1 << 20
_MAX_CHUNKS = 1 << 20          # bounded chunk loop for chunked request bodies
_MAX_DELAY_S = 120.0           # every sleep is bounded even if a test asks for more
_large_sha = {}


def large_body(size):
    """The deterministic body of the `large` behaviour (a 64 KiB block repeated, each copy numbered)."""
    return b"".join(_large_block(i)[: min(_BLOCK, size - i * _BLOCK)]
                    for i in range((size + _BLOCK - 1) // _BLOCK))


def large_body_sha256(size):
    """sha256 hex of large_body(size), computed once per size (10 MiB bodies are hashed once)."""
    if size not in _large_sha:
        h = hashlib.sha256()
        for i in range((size + _BLOCK - 1) // _BLOCK):
            h.update(_large_block(i)[: min(_BLOCK, size - i * _BLOCK)])
        _large_sha[size] = h.hexdigest()
    return _large_sha[size]


_base_block = hashlib.shake_256(b"ringside-http-backend").digest(_BLOCK)


def _large_block(i):
    # Number each block so a relay that reorders or repeats blocks changes the digest.
    return struct.pack("<Q", i) + _base_block[8:]


# --- records ------------------------------------------------------------------------------------


@dataclass
class Request:
    """One request as received. Appended when its head is parsed; `complete` once the body is read."""
    backend: str
    conn_id: int
    request_on_conn: int        # 1 for the first request on its connection
    peer: tuple
    method: str
    target: str
    version: str
    headers: list               # [(name, value)] in order, original case
    raw_head: bytes
    body: bytes = b""
    framing: str = "none"       # none | content-length | chunked
    trailers: list = field(default_factory=list)
    complete: bool = False
    sent_continue: bool = False
    behaviour: str = ""
    received_at: float = field(default_factory=time.monotonic)

    @property
    def path(self):
        return self.target.split("?", 1)[0]

    @property
    def query(self):
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name, default=None):
        """First value of a header (case-insensitive), or default."""
        vals = self.header_all(name)
        return vals[0] if vals else default

    def header_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    @property
    def header_names(self):
        return [k for k, _ in self.headers]


@dataclass
class Connection:
    id: int
    peer: tuple
    opened_at: float
    requests: int = 0
    closed: bool = False
    how_closed: str = ""        # peer_eof | server_close | reset | error | shutdown


class BadRequest(Exception):
    def __init__(self, status, reason):
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


class Params:
    """Behaviour parameters: from a header they are strings, from Python any type; read them typed."""

    def __init__(self, d):
        self.d = d

    def get(self, k, default=None):
        return self.d.get(k, default)

    def int(self, k, default):
        v = self.get(k)
        return default if v is None else int(v)

    def flag(self, k, default=False):
        v = self.get(k)
        if v is None:
            return default
        return v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes", "on")

    def bytes(self, k, default=b""):
        v = self.get(k)
        if v is None:
            return default
        return v if isinstance(v, (bytes, bytearray)) else str(v).encode()

    def pairs(self, list_key, str_key):
        """Header-like pairs from `list_key` (list of tuples or dict) plus repeated 'Name: value' strings."""
        out = []
        v = self.d.get(list_key)
        if isinstance(v, dict):
            out += list(v.items())
        elif v:
            out += [tuple(x) for x in v]
        s = self.d.get(str_key)
        for item in ([s] if isinstance(s, str) else (s or [])):
            name, _, value = item.partition(":")
            out.append((name.strip(), value.strip()))
        return out


def parse_behaviour(spec):
    """'fail; n=2; mode=reset' -> ('fail', {'n': '2', 'mode': 'reset'}). Repeated keys become lists."""
    parts = [p.strip() for p in spec.split(";")]
    name, params = parts[0], {}
    for p in parts[1:]:
        if not p:
            continue
        k, _, v = p.partition("=")
        k, v = k.strip(), v.strip()
        if k in params:
            params[k] = (params[k] if isinstance(params[k], list) else [params[k]]) + [v]
        else:
            params[k] = [v] if k in ("header", "trailer") else v
    return name, params


# --- the server ---------------------------------------------------------------------------------


def _listen(host, port, backlog):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(backlog)
    s.setblocking(False)
    return s


class HttpBackend:
    """One HTTP/1.1 origin server. See the module docstring for behaviours and selection."""

    def __init__(self, name="http", host="127.0.0.1", port=0, default="echo", backlog=4096,
                 max_head_bytes=1 << 20, id_headers=True, **default_params):
        self.name = name
        self.host = host
        self.id_headers = id_headers
        self.max_head_bytes = max_head_bytes
        self.requests = []
        self.errors = []            # (conn_id, description, raw bytes) for requests this server refused
        self.connections = []
        self.attempts = {}          # fail-behaviour key -> requests seen
        self._routes = {}
        self._default = (default, dict(default_params))
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._tasks = set()
        self._writers = set()
        self._closed = False
        sock = _listen(host, port, backlog)
        self.port = sock.getsockname()[1]
        # start_server re-listens: pass the backlog or it drops to 100. The limit bounds one header line.
        self._server = call(asyncio.start_server(self._on_conn, sock=sock, backlog=backlog,
                                                 limit=max_head_bytes))

    # -- configuration from the test thread --

    def route(self, prefix, behaviour, **params):
        """Requests whose path starts with `prefix` get `behaviour` (longest prefix wins)."""
        with self._lock:
            self._routes[prefix] = (behaviour, params)
        return self

    def set_default(self, behaviour, **params):
        with self._lock:
            self._default = (behaviour, params)
        return self

    def reset(self):
        """Forgets records and fail counters (routes stay)."""
        with self._lock:
            self.requests.clear()
            self.errors.clear()
            self.attempts.clear()

    # -- observation --

    @property
    def addr(self):
        return (self.host, self.port)

    def url(self, path="/"):
        return f"http://{self.host}:{self.port}{path}"

    @property
    def active(self):
        with self._lock:
            return sum(1 for c in self.connections if not c.closed)

    @property
    def last(self):
        with self._lock:
            return self.requests[-1] if self.requests else None

    def requests_for(self, path):
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def conn_ids(self):
        """Distinct connection ids that carried requests, in first-use order."""
        with self._lock:
            return list(dict.fromkeys(r.conn_id for r in self.requests))

    def wait_for(self, pred, timeout=10.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.01)
        raise AssertionError(f"http backend {self.name}: timed out waiting for {what} "
                             f"(requests={len(self.requests)} errors={self.errors[-3:]})")

    def wait_for_requests(self, n, timeout=10.0, complete=True):
        """Waits until n requests were received (with complete bodies by default)."""
        self.wait_for(lambda: sum(1 for r in list(self.requests) if r.complete or not complete) >= n,
                      timeout, f"{n} requests")
        return list(self.requests)

    # -- lifecycle --

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Stops listening and ends every open connection (cancels their tasks). Idempotent."""
        if self._closed:
            return
        self._closed = True

        async def stop():
            self._server.close()
            for w in list(self._writers):
                w.transport.abort()
            for t in list(self._tasks):
                t.cancel()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=5)
            await self._server.wait_closed()

        try:
            call(stop(), timeout=10)
        except Exception:  # teardown must not mask the test's own failure
            pass

    # -- connection handling (on the loop thread) --

    async def _on_conn(self, reader, writer):
        conn = Connection(next(self._ids), writer.get_extra_info("peername"), time.monotonic())
        task = asyncio.current_task()
        with self._lock:
            self.connections.append(conn)
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            for _ in range(_MAX_REQUESTS_PER_CONN):  # ends on EOF, close, error or shutdown
                keep = await self._serve_one(reader, writer, conn)
                if keep is None:
                    conn.how_closed = conn.how_closed or "peer_eof"
                    break
                if not keep:
                    conn.how_closed = conn.how_closed or "server_close"
                    break
        except asyncio.CancelledError:
            conn.how_closed = "shutdown"
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
            conn.how_closed = f"error: {e!r}"
        except Exception as e:  # a bad behaviour parameter: visible in errors, never a silent hang
            self._error(conn, f"behaviour error: {e!r}", b"")
            conn.how_closed = "error"
        finally:
            if conn.how_closed != "reset":
                writer.close()
            conn.closed = True
            self._tasks.discard(task)
            self._writers.discard(writer)

    async def _serve_one(self, reader, writer, conn):
        """Reads and answers one request: True keeps the connection, False closes it, None = peer EOF."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if e.partial:
                self._error(conn, "eof inside request head", e.partial)
            return None
        except asyncio.LimitOverrunError:
            self._error(conn, "request head too large", b"")
            await self._simple(writer, 431, "Request Header Fields Too Large")
            return False
        if len(head) > self.max_head_bytes:
            self._error(conn, "request head too large", head[:200])
            await self._simple(writer, 431, "Request Header Fields Too Large")
            return False
        try:
            req = self._parse_head(head, conn)
        except BadRequest as e:
            self._error(conn, e.reason, head)
            await self._simple(writer, e.status, e.reason)
            return False
        conn.requests += 1
        with self._lock:
            self.requests.append(req)
        name, params = self._select(req)
        req.behaviour = name
        p = Params(params)

        # Framing: refuse what a strict server must refuse, so a smuggled request shows up in errors.
        te = [v.strip().lower() for v in req.header_all("transfer-encoding")]
        cls = req.header_all("content-length")
        if te and cls:
            self._error(conn, "both content-length and transfer-encoding", head)
            await self._simple(writer, 400, "Bad Request")
            return False
        if te and te != ["chunked"]:
            self._error(conn, f"unsupported transfer-encoding {te}", head)
            await self._simple(writer, 501, "Not Implemented")
            return False
        if len(set(c.strip() for c in cls)) > 1 or any(not c.strip().isdigit() for c in cls):
            self._error(conn, f"bad content-length {cls}", head)
            await self._simple(writer, 400, "Bad Request")
            return False
        length = int(cls[0]) if cls else 0
        if length > _MAX_BODY:
            self._error(conn, "request body too large", head)
            await self._simple(writer, 413, "Payload Too Large")
            return False
        has_body = bool(te) or length > 0

        if has_body and (req.header("expect") or "").lower() == "100-continue":
            mode = p.get("expect", "continue")
            if mode == "reject":
                await self._simple(writer, 417, "Expectation Failed")
                return False
            if mode == "continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await writer.drain()
                req.sent_continue = True

        if te:
            req.framing = "chunked"
            try:
                req.body, req.trailers = await self._read_chunked(reader)
            except BadRequest as e:
                self._error(conn, e.reason, head)
                await self._simple(writer, e.status, e.reason)
                return False
        elif cls:
            req.framing = "content-length"
            req.body = await reader.readexactly(length)
        req.complete = True

        keep = req.version == "HTTP/1.1"
        conn_tokens = [t.strip().lower() for v in req.header_all("connection") for t in v.split(",")]
        if "close" in conn_tokens:
            keep = False
        elif "keep-alive" in conn_tokens:
            keep = True
        if p.flag("close"):
            keep = False
        delay = p.int("delay_ms", 0)
        if delay:
            await asyncio.sleep(min(delay / 1000.0, _MAX_DELAY_S))
        return await self._behave(name, p, req, reader, writer, conn, keep)

    def _parse_head(self, head, conn):
        lines = head[:-4].split(b"\r\n")
        try:
            method, target, version = lines[0].decode("ascii").split(" ")
        except (UnicodeDecodeError, ValueError):
            raise BadRequest(400, "bad request line")
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise BadRequest(505 if version.startswith("HTTP/") else 400, "bad version")
        headers = []
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t"):
                raise BadRequest(400, "obs-fold")
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip() or b"\r" in line or b"\x00" in line:
                raise BadRequest(400, "bad header line")
            headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
        return Request(self.name, conn.id, conn.requests + 1, conn.peer, method, target, version,
                       headers, head)

    async def _read_chunked(self, reader):
        body = bytearray()
        for _ in range(_MAX_CHUNKS):
            line = await reader.readuntil(b"\r\n")
            size_s = line[:-2].split(b";", 1)[0].strip()
            try:
                size = int(size_s, 16)
                if not size_s or any(c not in b"0123456789abcdefABCDEF" for c in size_s):
                    raise ValueError
            except ValueError:
                raise BadRequest(400, f"bad chunk size {line[:40]!r}")
            if size == 0:
                break
            if len(body) + size > _MAX_BODY:
                raise BadRequest(413, "request body too large")
            body += await reader.readexactly(size)
            if await reader.readexactly(2) != b"\r\n":
                raise BadRequest(400, "chunk without CRLF")
        else:
            raise BadRequest(400, "too many chunks")
        trailers = []
        for _ in range(1000):
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                return bytes(body), trailers
            name, _, value = line[:-2].partition(b":")
            trailers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
        raise BadRequest(431, "too many trailers")

    def _select(self, req):
        spec = req.header(BEHAVIOUR_HEADER)
        if spec:
            return parse_behaviour(spec)
        with self._lock:
            best = None
            for prefix, b in self._routes.items():
                if req.path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                    best = (prefix, b)
            name, params = best[1] if best else self._default
        return name, dict(params)

    def _error(self, conn, what, raw):
        with self._lock:
            self.errors.append((conn.id, what, bytes(raw)))

    # -- responses --

    def _head(self, status, reason, headers, req, keep, length=None, chunked=False):
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers]
        if self.id_headers and req is not None:
            lines += [f"x-backend-name: {self.name}", f"x-connection-id: {req.conn_id}",
                      f"x-request-on-connection: {req.request_on_conn}"]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif length is not None:
            lines.append(f"Content-Length: {length}")
        if not keep:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _simple(self, writer, status, reason):
        writer.write(self._head(status, reason, [], None, False, length=0))
        await writer.drain()

    async def _respond(self, writer, req, status, reason, headers, body, keep):
        head = self._head(status, reason, headers, req, keep, length=len(body))
        writer.write(head if req.method == "HEAD" else head + body)
        await writer.drain()
        return keep

    @staticmethod
    def _reset(writer):
        sock = writer.get_extra_info("socket")
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def _drop(self, writer, conn, mode):
        if mode == "reset":
            self._reset(writer)
            conn.how_closed = "reset"
        else:
            await writer.drain()
            conn.how_closed = "server_close"
        return False

    @staticmethod
    async def _hang(reader):
        """No response until the peer goes away (EOF) or close() cancels us; bounded either way."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(reader.read(1 << 16), _MAX_DELAY_S)
        return False

    async def _behave(self, name, p, req, reader, writer, conn, keep):
        extra = p.pairs("headers", "header")
        if name == "echo":
            body = json.dumps(self.describe(req)).encode()
            return await self._respond(writer, req, p.int("status", 200), "OK",
                                       [("Content-Type", "application/json")] + extra, body, keep)
        if name in ("fixed", "mirror"):
            status = p.int("status", 200)
            return await self._respond(writer, req, status, p.get("reason", _REASONS.get(status, "Status")),
                                       extra, p.bytes("body"), keep)
        if name == "fail":
            key = p.get("key") or req.path
            with self._lock:
                self.attempts[key] = self.attempts.get(key, 0) + 1
                attempt = self.attempts[key]
            if attempt <= p.int("n", 1):
                mode = str(p.get("mode", "503"))
                if mode in ("reset", "close"):
                    return await self._drop(writer, conn, mode)
                if mode == "hang":
                    return await self._hang(reader)
                return await self._respond(writer, req, int(mode), _REASONS.get(int(mode), "Error"),
                                           extra + [("x-attempt", str(attempt))], b"failure\n", keep)
            then = p.get("then", "echo")
            if then == "fail":
                raise ValueError("fail cannot follow fail")
            rest = {k: v for k, v in p.d.items() if k not in ("n", "mode", "then", "key")}
            rest["headers"] = extra + [("x-attempt", str(attempt))]
            rest.pop("header", None)
            return await self._behave(then, Params(rest), req, reader, writer, conn, keep)
        if name == "drop":
            return await self._drop(writer, conn, p.get("mode", "reset"))
        if name == "hang":
            return await self._hang(reader)
        if name in ("slow_body", "large", "chunked"):
            return await self._stream(name, p, req, writer, extra, keep)
        if name == "abort_body":
            size, sent = p.int("size", 100000), p.int("sent", 1000)
            writer.write(self._head(200, "OK", extra, req, keep, length=size) + large_body(sent))
            await writer.drain()
            return await self._drop(writer, conn, p.get("mode", "close"))
        if name == "invalid":
            writer.write(_invalid(p.get("kind", "bad_status_line"), p))
            await writer.drain()
            conn.how_closed = "server_close"
            return False
        if name == "raw":
            writer.write(p.bytes("data"))
            await writer.drain()
            return not p.flag("close", True)
        body = f"unknown behaviour {name!r}\n".encode()
        return await self._respond(writer, req, 500, "Unknown Behaviour", [], body, False)

    async def _stream(self, name, p, req, writer, extra, keep):
        """Bodies sent in pieces: slow (timeouts), chunked with trailers, large (streamed, hashed)."""
        trailers = []
        if name == "slow_body":
            n, size = p.int("chunks", 4), p.int("chunk_size", 1024)
            pieces = [bytes([0x61 + i % 26]) * size for i in range(n)]
            interval = min(p.int("interval_ms", 100) / 1000.0, _MAX_DELAY_S)
            chunked = p.flag("chunked")
        elif name == "chunked":
            n, size = p.int("chunks", 3), p.int("chunk_size", 16)
            pieces = [bytes([0x61 + i % 26]) * size for i in range(n)]
            interval, chunked = 0, True
            trailers = p.pairs("trailers", "trailer")
            if trailers:
                extra = extra + [("Trailer", ", ".join(k for k, _ in trailers))]
        else:
            total = p.int("size", 65536)
            pieces = (_large_block(i)[: min(_BLOCK, total - i * _BLOCK)]
                      for i in range((total + _BLOCK - 1) // _BLOCK))
            interval, chunked = 0, p.flag("chunked")
            extra = extra + [("x-body-sha256", large_body_sha256(total))]
            n, size = None, total
        length = None if chunked else (n * size if n is not None else size)
        writer.write(self._head(200, "OK", extra, req, keep, length=length, chunked=chunked))
        await writer.drain()
        if req.method == "HEAD":
            return keep
        for i, piece in enumerate(pieces):
            if i and interval:
                await asyncio.sleep(interval)
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
        if chunked:
            tail = "".join(f"{k}: {v}\r\n" for k, v in trailers)
            writer.write(b"0\r\n" + tail.encode("latin-1") + b"\r\n")
            await writer.drain()
        return keep

    def describe(self, req):
        """The echo behaviour's JSON: everything a test may want to assert about what arrived."""
        d = {
            "backend": self.name, "method": req.method, "target": req.target, "path": req.path,
            "query": req.query, "version": req.version, "headers": [list(h) for h in req.headers],
            "framing": req.framing, "body_len": len(req.body),
            "body_sha256": hashlib.sha256(req.body).hexdigest(), "trailers": [list(t) for t in req.trailers],
            "conn_id": req.conn_id, "request_on_conn": req.request_on_conn,
            "peer": list(req.peer[:2]) if req.peer else None, "sent_continue": req.sent_continue,
        }
        if len(req.body) <= 4096:
            d["body"] = req.body.decode("utf-8", "replace")
        return d


_REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
            400: "Bad Request", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


def _invalid(kind, p):
    """Malformed responses a proxy must answer with 502 (UPE) instead of forwarding."""
    if kind == "bad_status_line":
        return b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok"
    if kind == "not_http":
        return b"SSH-2.0-OpenSSH_9.2\r\n\r\n"
    if kind == "cl_and_te":
        return (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n0\r\n\r\n")
    if kind == "duplicate_cl":
        return b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
    if kind == "oversize_headers":
        size = p.int("size", 128 << 10)
        return b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * size + b"\r\nContent-Length: 2\r\n\r\nok"
    if kind == "bad_chunk":
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    if kind == "bare_lf":
        return b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"
    raise ValueError(f"unknown invalid kind {kind!r}")


# --- pytest helpers -----------------------------------------------------------------------------


@contextlib.contextmanager
def http_backends():
    """Factory context: `with http_backends() as make: be = make(name="a")`; all closed on exit."""
    made = []

    def make(**kw):
        be = HttpBackend(**kw)
        made.append(be)
        return be

    try:
        yield make
    finally:
        for be in made:
            be.close()


try:
    import pytest

    @pytest.fixture(name="http_backend")
    def http_backend_fixture():
        """Factory fixture: http_backend(name=..., default=..., ...) -> started HttpBackend, closed at
        teardown even if the test failed. Use with `from http_backend import http_backend_fixture`."""
        with http_backends() as make:
            yield make
except ImportError:  # usable outside pytest too
    pass
