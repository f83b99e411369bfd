"""Sidecar interception: a pod namespace with deploy/init/ringside-iptables.sh installed, ringside-proxy
running in it as uid 1337, an app in the pod, a server and a client in their own namespaces.

    client ns (10.255.N.6) --veth-- (10.255.N.5) pod ns (10.255.N.1) --veth-- (10.255.N.2) server ns

Outbound: app -> server:9000 is redirected to 15001, the proxy connects to the original destination.
Inbound: client -> pod:8080 is redirected to 15006, the proxy connects to the app.
Every address is configured inside the namespaces only; they are deleted at the end, also on failure.
"""

import os
import socket

import pytest

import backends
import ringside
from netns import Topology, in_netns, run
from tcpclient import ping, recv_line

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and iptables")

INIT_SCRIPT = ringside.REPO / "deploy" / "init" / "ringside-iptables.sh"
PROXY_UID = 1337
N = os.getpid() % 250 + 1
POD_TO_SRV, SRV = f"10.255.{N}.1", f"10.255.{N}.2"
POD_TO_CLI, CLI = f"10.255.{N}.5", f"10.255.{N}.6"
SERVER_PORT, APP_PORT, LOCAL_PORT = 9000, 8080, 7000


@pytest.fixture
def pod():
    pid = os.getpid()
    with Topology() as topo:
        ns = {
            "pod": topo.add_ns(f"rs-pod-{pid}"),
            "srv": topo.add_ns(f"rs-srv-{pid}"),
            "cli": topo.add_ns(f"rs-cli-{pid}"),
        }
        topo.link(ns["pod"], f"{POD_TO_SRV}/30", ns["srv"], f"{SRV}/30")
        topo.link(ns["pod"], f"{POD_TO_CLI}/30", ns["cli"], f"{CLI}/30")
        yield ns


def _sidecar_config():
    def passthrough(name):
        return ringside.cluster(name, type="ORIGINAL_DST", lb_policy="CLUSTER_PROVIDED", connect_timeout="2s")

    return ringside.bootstrap(
        15000,
        [ringside.tcp_proxy_listener("virtualOutbound", 15001, cluster="outbound_passthrough",
                                     stat_prefix="outbound", host="0.0.0.0", original_dst=True),
         ringside.tcp_proxy_listener("virtualInbound", 15006, cluster="inbound_passthrough",
                                     stat_prefix="inbound", host="0.0.0.0", original_dst=True)],
        [passthrough("outbound_passthrough"), passthrough("inbound_passthrough")],
    )


def _connect(ns, host, port):
    return in_netns(ns, socket.create_connection, (host, port), 5)


def _greeting(sock):
    sock.settimeout(10)
    line = recv_line(sock).decode().strip()
    fields = dict(kv.split("=", 1) for kv in line.split())
    assert {"peer", "local", "name"} <= fields.keys(), f"unexpected greeting {line!r}"
    return fields


def test_sidecar_interception(pod, start_proxy, backend):
    server = backend(backends.peer_echo, name="server", host=SRV, port=SERVER_PORT, netns=pod["srv"])
    app = backend(backends.peer_echo, name="app", host="0.0.0.0", port=APP_PORT, netns=pod["pod"])
    local = backend(backends.peer_echo, name="local", host="127.0.0.1", port=LOCAL_PORT, netns=pod["pod"])

    # Before capture: the pod reaches the server directly.
    with _connect(pod["pod"], SRV, SERVER_PORT) as s:
        assert _greeting(s)["peer"] == f"{POD_TO_SRV}:{s.getsockname()[1]}"

    # Install the init rules (twice: it must be idempotent).
    for _ in range(2):
        cp = run(["sh", str(INIT_SCRIPT), "--proxy-uid", str(PROXY_UID)], ns=pod["pod"], check=False)
        assert cp.returncode == 0, cp.stdout + cp.stderr
    rules = run(["iptables-save", "-t", "nat"], ns=pod["pod"]).stdout
    assert rules.count("-j REDIRECT --to-ports 15001") == 1, rules
    assert rules.count("-A OUTPUT -p tcp -j RINGSIDE_OUTPUT") == 1, rules

    # Captured but no proxy yet: outbound TCP now goes to 15001, where nothing listens.
    with pytest.raises(ConnectionRefusedError):
        _connect(pod["pod"], SRV, SERVER_PORT).close()
    accepted_before = server.accepted

    p = start_proxy(_sidecar_config(), netns=pod["pod"], user=PROXY_UID, concurrency=1)
    assert os.stat(f"/proc/{p.pid}").st_uid == PROXY_UID, "the proxy is not running as the proxy uid"

    # Outbound: app -> server, through 15001 to the original destination.
    with _connect(pod["pod"], SRV, SERVER_PORT) as s:
        g = _greeting(s)
        assert g["name"] == "server" and g["local"] == f"{SRV}:{SERVER_PORT}", g
        # The server's peer is the proxy's own connection, not the app's socket.
        assert g["peer"].startswith(f"{POD_TO_SRV}:") and g["peer"] != f"{POD_TO_SRV}:{s.getsockname()[1]}", g
        ping(s, b"outbound through the sidecar\n")
    assert server.accepted == accepted_before + 1
    p.wait_stat("listener.0.0.0.0_15001.downstream_cx_total", 1)
    p.wait_stat("tcp.outbound.downstream_cx_total", 1)
    p.wait_stat("cluster.outbound_passthrough.upstream_cx_total", 1)

    # Inbound: client -> pod:8080, through 15006 to the app.
    with _connect(pod["cli"], POD_TO_CLI, APP_PORT) as s:
        g = _greeting(s)
        assert g["name"] == "app" and g["local"] == f"{POD_TO_CLI}:{APP_PORT}", g
        # The app sees the proxy's connection from inside the pod, not the client's address.
        assert not g["peer"].startswith(f"{CLI}:"), f"inbound connection bypassed the proxy: {g}"
        ping(s, b"inbound through the sidecar\n")
    p.wait_stat("listener.0.0.0.0_15006.downstream_cx_total", 1)
    p.wait_stat("tcp.inbound.downstream_cx_total", 1)
    p.wait_stat("cluster.inbound_passthrough.upstream_cx_total", 1)

    # Loopback inside the pod is not captured.
    with _connect(pod["pod"], "127.0.0.1", LOCAL_PORT) as s:
        g = _greeting(s)
        assert g["peer"] == f"127.0.0.1:{s.getsockname()[1]}", f"loopback traffic was redirected: {g}"
    assert local.accepted == 1
    assert p.stats().get("listener.0.0.0.0_15001.downstream_cx_total") == 1
    assert app.accepted == 1
