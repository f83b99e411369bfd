"""Blocking TCP client helpers for tests."""

import hashlib
import os
import socket
import struct
import threading
import time


def recv_line(sock, limit=4096):
    buf = bytearray()
    while len(buf) < limit:
        ch = sock.recv(1)
        if not ch:
            break
        buf += ch
        if ch == b"\n":
            break
    return bytes(buf)


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        data = sock.recv(min(n - len(buf), 1 << 20))
        if not data:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += data
    return bytes(buf)


def recv_until_eof(sock, hasher=None, limit=None):
    """Reads to EOF; returns the bytes (or, with a hasher, the byte count, updating the hasher)."""
    if hasher is not None:
        n = 0
        while True:
            data = sock.recv(1 << 20)
            if not data:
                return n
            hasher.update(data)
            n += len(data)
    buf = bytearray()
    while True:
        data = sock.recv(1 << 20)
        if not data:
            return bytes(buf)
        buf += data
        if limit is not None and len(buf) > limit:
            raise AssertionError(f"more than {limit} bytes received")


def payload(n, seed=0):
    """n pseudo-random bytes (deterministic per seed, cheap for large n)."""
    if n <= 1 << 16:
        return hashlib.shake_256(struct.pack("<QQ", seed, n)).digest(n)
    block = hashlib.shake_256(struct.pack("<Q", seed)).digest(1 << 20)
    reps, rest = divmod(n, len(block))
    out = bytearray()
    for i in range(reps):
        # Vary each MiB so a misordered relay cannot go unnoticed.
        out += struct.pack("<Q", i) + block[8:]
    out += block[:rest]
    return bytes(out)


def echo_roundtrip(sock, data, shut=True, timeout=60.0):
    """Sends `data` (in a thread, so large payloads don't deadlock), half-closes, reads the echo to EOF.

    Returns (received_byte_count, sha256 hex of what came back).
    """
    sock.settimeout(timeout)
    err = {}

    def sender():
        try:
            view = memoryview(data)
            for i in range(0, len(view), 1 << 20):
                sock.sendall(view[i:i + (1 << 20)])
            if shut:
                sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            err["send"] = e

    t = threading.Thread(target=sender)
    t.start()
    h = hashlib.sha256()
    try:
        n = recv_until_eof(sock, hasher=h)
    finally:
        t.join(timeout)
    if "send" in err:
        raise err["send"]
    return n, h.hexdigest()


def ping(sock, msg=b"ping\n", timeout=10.0):
    """Sends msg and expects it echoed back exactly."""
    sock.settimeout(timeout)
    sock.sendall(msg)
    got = recv_exact(sock, len(msg))
    assert got == msg, f"echo mismatch: sent {msg!r}, got {got!r}"


def reset(sock):
    """Closes with SO_LINGER 0, so the peer sees a RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def wait_closed(sock, timeout):
    """Waits until the peer closes (EOF or reset); returns seconds waited, or None if still open."""
    start = time.monotonic()
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return time.monotonic() - start
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - start
    except socket.timeout:
        return None


def nonblocking_connects(addr, count, timeout=5.0):
    """Starts `count` connects without waiting for each; returns the sockets (some may not complete)."""
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(addr)
        socks.append(s)
    return socks


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def urandom(n):
    return os.urandom(n)
