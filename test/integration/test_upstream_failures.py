"""Upstream failures and timeouts: idle_timeout, refused upstreams with max_connect_attempts, black-holed
upstreams and connect_timeout."""

import os
import time

import pytest

import backends
import ringside
from netns import Topology, run
from tcpclient import ping, wait_closed


def test_idle_timeout_closes_idle_connection(start_proxy, backend):
    be = backend(name="echo")
    port, admin = ringside.free_port(), ringside.free_port()
    cfg = ringside.bootstrap(admin, [ringside.tcp_proxy_listener("l", port, cluster="c", stat_prefix="idle",
                                                                 idle_timeout="1s")],
                             [ringside.cluster("c", [be.addr])])
    p = start_proxy(cfg)
    with p.connect(port) as s:
        # Activity keeps it open past the idle timeout: 2.1 s of traffic every 0.3 s.
        for i in range(8):
            if i:
                time.sleep(0.3)
            ping(s, b"keepalive %d\n" % i)
        start = time.monotonic()  # idle from the last echo on
        waited = wait_closed(s, timeout=8)
        assert waited is not None, "connection still open 8 s into a 1 s idle_timeout"
        idle = time.monotonic() - start
        assert 0.8 <= idle <= 4.0, f"closed after {idle:.2f}s idle, idle_timeout is 1s"
    be.wait_for(lambda: be.active == 0, what="the upstream side to be closed too")


def test_refused_upstream_next_host(start_proxy, backend):
    """A dead host (port closed) and a live one: with max_connect_attempts 2 every connection succeeds
    and the refused attempts are counted."""
    live = backend(name="live")
    dead_port = backends.closed_port()
    port, admin = ringside.free_port(), ringside.free_port()
    cfg = ringside.bootstrap(
        admin, [ringside.tcp_proxy_listener("l", port, cluster="mixed", stat_prefix="retry", max_connect_attempts=2)],
        [ringside.cluster("mixed", [("127.0.0.1", dead_port), live.addr], lb_policy="ROUND_ROBIN")])
    p = start_proxy(cfg, concurrency=1)
    for i in range(6):
        with p.connect(port) as s:
            ping(s, b"attempt %d\n" % i)
    assert live.accepted == 6
    fails = p.wait_stat("cluster.mixed.upstream_cx_connect_fail", lambda v: v >= 1)
    # Round robin over 2 hosts sends at least every other first attempt to the dead one.
    assert 3 <= fails <= 6, f"upstream_cx_connect_fail = {fails} after 6 connections"


def test_refused_upstream_only_host(start_proxy):
    dead_port = backends.closed_port()
    port, admin = ringside.free_port(), ringside.free_port()
    cfg = ringside.bootstrap(admin, [ringside.tcp_proxy_listener("l", port, cluster="dead", stat_prefix="dead",
                                                                 max_connect_attempts=1)],
                             [ringside.cluster("dead", [("127.0.0.1", dead_port)])])
    p = start_proxy(cfg)
    with p.connect(port) as s:
        waited = wait_closed(s, timeout=5)
    assert waited is not None, "downstream not closed after the only upstream refused the connection"
    p.wait_stat("cluster.dead.upstream_cx_connect_fail", 1)
    # And the proxy still serves: its admin answers.
    assert p.get("/ready")[0] == 200


# Request this fixture before start_proxy, so the proxy is stopped before its namespace goes away.
@pytest.fixture
def blackhole_ns():
    """A namespace whose loopback drops every TCP packet to port 9 (a black-holed upstream)."""
    with Topology() as topo:
        ns = topo.add_ns(f"rs-bh-{os.getpid()}")
        run(["iptables", "-w", "-A", "INPUT", "-p", "tcp", "-d", "127.0.0.1", "--dport", "9", "-j", "DROP"], ns=ns)
        yield ns


def _bh_config(admin, port, endpoints, attempts, connect_timeout="0.5s"):
    return ringside.bootstrap(
        admin, [ringside.tcp_proxy_listener("l", port, cluster="bh", stat_prefix="bh", max_connect_attempts=attempts)],
        [ringside.cluster("bh", endpoints, connect_timeout=connect_timeout)])


def test_blackholed_upstream_connect_timeout(blackhole_ns, start_proxy):
    p = start_proxy(_bh_config(15000, 10000, [("127.0.0.1", 9)], 1), netns=blackhole_ns)
    with p.connect(10000) as s:
        start = time.monotonic()
        waited = wait_closed(s, timeout=10)
        elapsed = time.monotonic() - start
    assert waited is not None, "downstream still open 10 s after connecting to a black-holed upstream (0.5s timeout)"
    assert 0.4 <= elapsed <= 3.0, f"connect_timeout 0.5s, but the downstream was closed after {elapsed:.2f}s"
    p.wait_stat("cluster.bh.upstream_cx_connect_timeout", 1)


def test_blackholed_then_live_host(blackhole_ns, start_proxy, backend):
    live = backend(name="live-in-ns", netns=blackhole_ns)
    p = start_proxy(_bh_config(15000, 10000, [("127.0.0.1", 9), live.addr], 2), netns=blackhole_ns,
                    concurrency=1)
    for i in range(2):  # round robin: one of the two first picks is the black hole
        with p.connect(10000) as s:
            ping(s, b"through %d\n" % i, timeout=10)
    assert live.accepted == 2
    p.wait_stat("cluster.bh.upstream_cx_connect_timeout", lambda v: v >= 1)
