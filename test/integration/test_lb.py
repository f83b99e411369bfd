"""Load balancing: weighted_clusters, ROUND_ROBIN (plain and weighted endpoints), RANDOM, LEAST_REQUEST,
STRICT_DNS."""

import collections
import socket

import pytest

import ringside
from tcpclient import ping, recv_line


def _greeters(backend, names):
    return {n: backend(name=n, greeting=f"{n}\n".encode()) for n in names}


def _who(proxy, port):
    """Connects through the proxy and returns the name the backend greets with."""
    with proxy.connect(port) as s:
        s.settimeout(10)
        line = recv_line(s)
    assert line.endswith(b"\n"), f"no greeting through the proxy (got {line!r})"
    return line.strip().decode()


def test_weighted_clusters_split(start_proxy, backend):
    bes = _greeters(backend, ["light", "heavy"])
    port, admin = ringside.free_port(), ringside.free_port()
    cfg = ringside.bootstrap(
        admin,
        [ringside.tcp_proxy_listener("l", port, weighted=[("c_light", 1), ("c_heavy", 3)], stat_prefix="w")],
        [ringside.cluster("c_light", [bes["light"].addr]), ringside.cluster("c_heavy", [bes["heavy"].addr])],
    )
    p = start_proxy(cfg)
    n = 400
    counts = collections.Counter(_who(p, port) for _ in range(n))
    frac = counts["heavy"] / n
    # Expected 0.75; the binomial sd at n=400 is 0.022, so 0.65..0.85 is > 4 sd either side.
    assert 0.65 <= frac <= 0.85, f"weights 1:3 gave {dict(counts)}"
    assert counts["light"] + counts["heavy"] == n
    p.wait_stat("cluster.c_heavy.upstream_cx_total", counts["heavy"])
    p.wait_stat("cluster.c_light.upstream_cx_total", counts["light"])


def test_round_robin_exact(start_proxy, backend):
    names = ["a", "b", "c"]
    bes = _greeters(backend, names)
    port, admin = ringside.free_port(), ringside.free_port()
    cfg = ringside.bootstrap(admin, [ringside.tcp_proxy_listener("l", port, cluster="rr")],
                             [ringside.cluster("rr", [bes[n].addr for n in names], lb_policy="ROUND_ROBIN")])
    p = start_proxy(cfg, concurrency=1)
    seq = [_who(p, port) for _ in range(30)]
    counts = collections.Counter(seq)
    assert counts == {"a": 10, "b": 10, "c": 10}, f"round robin over 3 hosts, 30 connections: {seq}"
    assert len(set(seq[:3])) == 3 and all(seq[i] == seq[i + 3] for i in range(27)), f"not cyclic: {seq}"


def test_round_robin_endpoint_weights(start_proxy, backend):
    names = ["w1", "w2", "w3"]
    bes = _greeters(backend, names)
    port, admin = ringside.free_port(), ringside.free_port()
    eps = [(bes[n].host, bes[n].port, w) for n, w in zip(names, [1, 2, 3])]
    cfg = ringside.bootstrap(admin, [ringside.tcp_proxy_listener("l", port, cluster="wrr")],
                             [ringside.cluster("wrr", eps, lb_policy="ROUND_ROBIN")])
    p = start_proxy(cfg, concurrency=1)
    counts = collections.Counter(_who(p, port) for _ in range(60))
    for n, want in zip(names, [10, 20, 30]):
        assert abs(counts[n] - want) <= 2, f"weights 1:2:3 over 60 connections gave {dict(counts)}"


@pytest.mark.parametrize("policy", ["RANDOM", "LEAST_REQUEST"])
def test_random_and_least_request_use_all_hosts(start_proxy, backend, policy):
    names = ["x", "y", "z"]
    bes = _greeters(backend, names)
    port, admin = ringside.free_port(), ringside.free_port()
    cfg = ringside.bootstrap(admin, [ringside.tcp_proxy_listener("l", port, cluster="c")],
                             [ringside.cluster("c", [bes[n].addr for n in names], lb_policy=policy)])
    p = start_proxy(cfg)
    counts = collections.Counter(_who(p, port) for _ in range(90))
    assert sum(counts.values()) == 90
    # Expected 30 each; fewer than 10 on a host is (far) beyond 4 sd for a uniform choice.
    assert all(counts[n] >= 10 for n in names), f"{policy}: {dict(counts)}"


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_strict_dns_localhost(start_proxy, backend):
    # localhost may resolve to 127.0.0.1 and ::1: listen on both, on one port.
    hosts = ["127.0.0.1", "::1"] if _has_ipv6_loopback() else ["127.0.0.1"]
    be = backend(name="dns", hosts=hosts)
    port, admin = ringside.free_port(), ringside.free_port()
    cfg = ringside.bootstrap(
        admin, [ringside.tcp_proxy_listener("l", port, cluster="dns_cluster")],
        [ringside.cluster("dns_cluster", [("localhost", be.port)], type="STRICT_DNS", dns_refresh_rate="1s")])
    p = start_proxy(cfg)
    for i in range(5):
        with p.connect(port) as s:
            ping(s, b"dns %d\n" % i)
    assert be.accepted == 5
    status, body = p.get("/clusters")
    assert status == 200
    assert f"dns_cluster::" in body, body[:2000]
    assert f":{be.port}::" in body, f"/clusters does not list the resolved host:\n{body[:2000]}"
