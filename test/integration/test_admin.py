"""Admin API (Envoy's endpoints and stat names) and the process lifecycle: /quitquitquit, SIGTERM drain,
/drain_listeners."""

import json
import re
import signal
import subprocess
import time
import urllib.parse

import ringside
from tcpclient import ping, wait_closed


def test_ready_live(simple):
    status, body = simple.proxy.get("/ready")
    assert status == 200 and body.strip() == "LIVE", (status, body)


def test_unknown_admin_path_404(simple):
    status, _ = simple.proxy.get("/no/such/endpoint")
    assert status == 404


def test_healthcheck_fail_and_ok(simple):
    p = simple.proxy
    status, _ = p.post("/healthcheck/fail")
    assert status == 200
    status, body = p.get("/ready")
    assert status == 503, f"/ready after /healthcheck/fail: {status} {body!r}"
    # Traffic still flows while failing health checks (only the readiness signal changes).
    with p.connect(simple.port) as s:
        ping(s)
    status, _ = p.post("/healthcheck/ok")
    assert status == 200
    status, body = p.get("/ready")
    assert status == 200 and "LIVE" in body, (status, body)


def test_stats_after_traffic(simple):
    p = simple.proxy
    for i in range(3):
        with p.connect(simple.port) as s:
            ping(s, b"stat %d\n" % i)
    simple.backend.wait_for(lambda: simple.backend.active == 0, what="connections to close")
    lst = ringside.listener_stat("127.0.0.1", simple.port, "downstream_cx_total")
    p.wait_stat(lst, 3)
    p.wait_stat(f"tcp.{simple.stat_prefix}.downstream_cx_total", 3)
    p.wait_stat(f"cluster.{simple.cluster}.upstream_cx_total", 3)
    stats = p.stats()
    assert stats.get("server.live") == 1, "server.live should be 1"
    assert stats.get(f"cluster.{simple.cluster}.upstream_cx_connect_fail") == 0
    assert stats.get(f"cluster.{simple.cluster}.upstream_cx_connect_timeout") == 0
    assert f"tcp.{simple.stat_prefix}.upstream_flush_total" in stats, \
        sorted(k for k in stats if k.startswith("tcp."))


def test_stats_filter(simple):
    with simple.proxy.connect(simple.port) as s:
        ping(s)
    status, body = simple.proxy.get("/stats?filter=" + urllib.parse.quote(r"^cluster\."))
    assert status == 200
    lines = [ln for ln in body.splitlines() if ln.strip()]
    assert lines, "filter ^cluster\\. matched nothing"
    assert all(ln.startswith("cluster.") for ln in lines), lines[:20]
    assert any(ln.startswith(f"cluster.{simple.cluster}.upstream_cx_total: ") for ln in lines)


def test_stats_prometheus(simple):
    with simple.proxy.connect(simple.port) as s:
        ping(s)
    simple.proxy.wait_stat(f"cluster.{simple.cluster}.upstream_cx_total", 1)
    status, body = simple.proxy.get("/stats/prometheus")
    assert status == 200
    cp = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
    out = cp.stdout + cp.stderr
    # 0: clean; 3: lint notes only (e.g. Envoy's names without _total or HELP). 1: the text did not parse.
    assert cp.returncode in (0, 3) and "error while linting" not in out, f"promtool: {out[-3000:]}"
    # Each series once, each family typed once.
    series, types = set(), set()
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in types, f"# TYPE {name} repeated"
            types.add(name)
        elif line and not line.startswith("#"):
            key = line.rsplit(" ", 1)[0]
            assert key not in series, f"duplicate series {key}"
            series.add(key)
    assert re.search(r"^envoy_cluster_upstream_cx_total\{[^}]*\b" + re.escape(simple.cluster) + r"\b[^}]*\} 1$",
                     body, re.M), "no envoy_cluster_upstream_cx_total sample for the cluster:\n" + body[:3000]


def test_clusters_lists_hosts(simple):
    status, body = simple.proxy.get("/clusters")
    assert status == 200
    assert f"{simple.cluster}::127.0.0.1:{simple.backend.port}::" in body, body[:3000]


def test_listeners(simple):
    status, body = simple.proxy.get("/listeners")
    assert status == 200
    assert f"127.0.0.1:{simple.port}" in body, body
    assert "echo_listener" in body, body


def test_config_dump(simple):
    status, body = simple.proxy.get("/config_dump")
    assert status == 200
    doc = json.loads(body)
    assert isinstance(doc.get("configs"), list) and doc["configs"], body[:2000]
    first = doc["configs"][0]
    assert first.get("@type") == "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", first.get("@type")
    assert simple.cluster in body and "echo_listener" in body, "the bootstrap is not in the dump"


def test_server_info(simple):
    status, body = simple.proxy.get("/server_info")
    assert status == 200
    info = json.loads(body)
    assert info.get("state") == "LIVE", info


def test_quitquitquit_get_is_405_post_exits_0(simple):
    p = simple.proxy
    status, _ = p.get("/quitquitquit")
    assert status == 405, f"GET /quitquitquit answered {status}"
    time.sleep(0.2)
    assert p.alive(), "GET /quitquitquit stopped the proxy"
    status, _ = p.post("/quitquitquit")
    assert status == 200
    rc = p.wait_exit(p.drain_time_s + 5)
    assert rc is not None, "still running after POST /quitquitquit"
    p.assert_clean_exit(rc)


def test_sigterm_with_open_connection_exits_within_drain_time(start_proxy, backend):
    be = backend(name="echo")
    port, admin = ringside.free_port(), ringside.free_port()
    p = start_proxy(ringside.bootstrap(admin, [ringside.tcp_proxy_listener("l", port, cluster="c")],
                                       [ringside.cluster("c", [be.addr])]), drain_time_s=2)
    s = p.connect(port)
    try:
        ping(s, b"long-lived\n")
        start = time.monotonic()
        p.signal(signal.SIGTERM)
        time.sleep(0.5)
        accepted = be.accepted
        # Draining: no new connection reaches the backend.
        try:
            late = p.connect(port, timeout=1)
            late.settimeout(1)
            try:
                late.send(b"late\n")
            except OSError:
                pass
        except OSError:
            late = None
        rc = p.wait_exit(2 + 5)
        elapsed = time.monotonic() - start
        assert rc is not None, "still running 7 s after SIGTERM with --drain-time-s 2"
        p.assert_clean_exit(rc)
        assert elapsed <= 2 + 3, f"exit took {elapsed:.1f}s with --drain-time-s 2"
        assert be.accepted == accepted, "a connection accepted after SIGTERM was proxied"
        assert wait_closed(s, 5) is not None, "the long-lived connection is still open after exit"
        if late:
            late.close()
    finally:
        s.close()


def test_drain_listeners(simple):
    p = simple.proxy
    s = p.connect(simple.port)
    try:
        ping(s, b"before\n")
        status, _ = p.post("/drain_listeners")
        assert status == 200
        time.sleep(0.3)
        ping(s, b"after drain_listeners, existing connection\n")
        accepted = simple.backend.accepted
        try:
            late = p.connect(simple.port, timeout=1)
            late.close()
        except OSError:
            pass
        time.sleep(0.5)
        assert simple.backend.accepted == accepted, "a new connection was proxied after /drain_listeners"
    finally:
        s.close()
