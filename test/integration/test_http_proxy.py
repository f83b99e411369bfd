"""HTTP/1.1 through the connection manager and router, end to end: real clients (curl, raw
sockets) -> ringside-proxy -> the controllable HTTP backend of test/lib/http_backend.py."""

import json
import socket
import subprocess

import ringside
from http_backend import http_backend_fixture  # noqa: F401  (the http_backend fixture)

HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


def http_listener(name, port, routes, stat_prefix="ingress", **hcm_extra):
    hcm = {
        "@type": HCM_TYPE,
        "stat_prefix": stat_prefix,
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER_TYPE}}],
    }
    hcm.update(hcm_extra)
    return {
        "name": name,
        "address": ringside.socket_address("127.0.0.1", port),
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                        "typed_config": hcm}]}],
    }


def curl(url, *args):
    """Returns (status, headers dict, body) of one request made by curl."""
    cp = subprocess.run(["curl", "-s", "-i", "--max-time", "10", *args, url], capture_output=True, timeout=20)
    head, _, body = cp.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def start(start_proxy, routes, clusters, **hcm_extra):
    port, admin = ringside.free_port(), ringside.free_port()
    cfg = ringside.bootstrap(admin, [http_listener("http", port, routes, **hcm_extra)], clusters)
    return start_proxy(cfg), port


def test_get_is_proxied_with_envoy_headers(start_proxy, http_backend):
    be = http_backend(name="origin")
    p, port = start(start_proxy, [{"match": {"prefix": "/"}, "route": {"cluster": "origin"}}],
                    [ringside.cluster("origin", [be.addr])])
    status, headers, body = curl(f"http://127.0.0.1:{port}/hello?x=1", "-H", "x-custom: yes")
    assert status == 200, body
    assert headers.get("server") == "envoy"
    assert "x-envoy-upstream-service-time" in headers
    echoed = json.loads(body)
    assert echoed["method"] == "GET" and echoed["target"] == "/hello?x=1"
    names = {k.lower(): v for k, v in echoed["headers"]}
    assert names["x-custom"] == "yes"
    assert names["x-forwarded-proto"] == "http"
    assert len(names["x-request-id"]) == 36
    p.wait_stat("http.ingress.downstream_rq_2xx", 1)
    p.wait_stat("cluster.origin.upstream_rq_200", 1)


def test_post_body_and_upstream_keepalive(start_proxy, http_backend):
    be = http_backend(name="origin")
    p, port = start(start_proxy, [{"match": {"prefix": "/"}, "route": {"cluster": "origin"}}],
                    [ringside.cluster("origin", [be.addr])])
    payload = b"x" * 100_000
    cp = subprocess.run(["curl", "-s", "--max-time", "10", "--data-binary", "@-", f"http://127.0.0.1:{port}/upload"],
                        input=payload, capture_output=True, timeout=20)
    echoed = json.loads(cp.stdout)
    assert echoed["body_len"] == len(payload)
    # Three sequential requests from separate clients reuse one upstream connection.
    for _ in range(3):
        status, _, _ = curl(f"http://127.0.0.1:{port}/again")
        assert status == 200
    conns = {r.conn_id for r in be.requests_for("/again")}
    assert len(conns) == 1, f"upstream connections not reused: {conns}"


def test_no_route_direct_response_and_redirect(start_proxy, http_backend):
    be = http_backend(name="origin")
    routes = [
        {"match": {"path": "/direct"}, "direct_response": {"status": 202, "body": {"inline_string": "made here\n"}}},
        {"match": {"path": "/old"}, "redirect": {"path_redirect": "/new", "response_code": "PERMANENT_REDIRECT"}},
        {"match": {"prefix": "/app"}, "route": {"cluster": "origin"}},
    ]
    p, port = start(start_proxy, routes, [ringside.cluster("origin", [be.addr])])
    status, _, body = curl(f"http://127.0.0.1:{port}/direct")
    assert (status, body) == (202, b"made here\n")
    status, headers, _ = curl(f"http://127.0.0.1:{port}/old")
    assert status == 308 and headers["location"].endswith("/new")
    status, _, _ = curl(f"http://127.0.0.1:{port}/elsewhere")
    assert status == 404
    p.wait_stat("http.ingress.downstream_rq_4xx", 1)
    assert not be.requests


def test_smuggling_is_refused_and_never_forwarded(start_proxy, http_backend):
    be = http_backend(name="origin")
    p, port = start(start_proxy, [{"match": {"prefix": "/"}, "route": {"cluster": "origin"}}],
                    [ringside.cluster("origin", [be.addr])])
    cases = [
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    ]
    for raw in cases:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(raw)
            reply = s.recv(4096)
        assert reply.startswith(b"HTTP/1.1 400"), (raw, reply[:80])
    status, _, _ = curl(f"http://127.0.0.1:{port}/ok")
    assert status == 200
    assert [r.path for r in be.requests] == ["/ok"], "a refused request reached the backend"
    p.wait_stat("http.ingress.downstream_cx_protocol_error", len(cases))


def test_retry_on_5xx_then_success(start_proxy, http_backend):
    be = http_backend(name="flaky")
    be.route("/flaky", "fail", n=1, mode=503)
    routes = [{"match": {"prefix": "/"},
               "route": {"cluster": "flaky", "retry_policy": {"retry_on": "5xx", "num_retries": 2}}}]
    p, port = start(start_proxy, routes, [ringside.cluster("flaky", [be.addr])])
    status, _, _ = curl(f"http://127.0.0.1:{port}/flaky")
    assert status == 200
    assert len(be.requests_for("/flaky")) == 2
    p.wait_stat("cluster.flaky.upstream_rq_retry", 1)


def test_upstream_timeout_and_dead_upstream(start_proxy, http_backend):
    be = http_backend(name="slow")
    be.route("/slow", "hang")
    dead = ("127.0.0.1", ringside.free_port())
    routes = [
        {"match": {"prefix": "/slow"}, "route": {"cluster": "slow", "timeout": "0.3s"}},
        {"match": {"prefix": "/dead"}, "route": {"cluster": "dead"}},
    ]
    p, port = start(start_proxy, routes, [ringside.cluster("slow", [be.addr]), ringside.cluster("dead", [dead])])
    status, _, body = curl(f"http://127.0.0.1:{port}/slow")
    assert status == 504 and body == b"upstream request timeout"
    status, _, _ = curl(f"http://127.0.0.1:{port}/dead")
    assert status == 503
    p.wait_stat("cluster.slow.upstream_rq_timeout", 1)
    p.wait_stat("cluster.dead.upstream_cx_connect_fail", 1)


def _raw(port, data):
    """Sends data and reads until the proxy closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                return b"".join(chunks)
            chunks.append(b)


def test_http10_refused_by_default_and_accepted_when_configured(start_proxy, http_backend):
    be = http_backend(name="origin")
    route = [{"match": {"prefix": "/"}, "route": {"cluster": "origin"}}]
    p, port = start(start_proxy, route, [ringside.cluster("origin", [be.addr])])
    assert _raw(port, b"GET / HTTP/1.0\r\nHost: a\r\n\r\n").startswith(b"HTTP/1.1 426")
    p2, port2 = start(start_proxy, route, [ringside.cluster("origin", [be.addr])],
                      http_protocol_options={"accept_http_10": True, "default_host_for_http_10": "legacy.local"})
    reply = _raw(port2, b"GET /old HTTP/1.0\r\n\r\n")  # no Host: the default one is used, then close
    assert reply.startswith(b"HTTP/1.1 200"), reply[:80]
    names = {k.lower(): v for k, v in json.loads(reply.partition(b"\r\n\r\n")[2])["headers"]}
    assert names["host"] == "legacy.local"


def test_canary_split_and_rewrites(start_proxy, http_backend):
    stable, canary = http_backend(name="stable"), http_backend(name="canary")
    routes = [{
        "match": {"prefix": "/api/"},
        "request_headers_to_add": [{"header": {"key": "x-route", "value": "api"}}],
        "response_headers_to_add": [{"header": {"key": "x-served-by", "value": "ringside"}}],
        "route": {
            "prefix_rewrite": "/v2/",
            "host_rewrite_literal": "internal.svc",
            "weighted_clusters": {"clusters": [{"name": "stable", "weight": 90}, {"name": "canary", "weight": 10}]},
        },
    }]
    p, port = start(start_proxy, routes, [ringside.cluster("stable", [stable.addr]),
                                           ringside.cluster("canary", [canary.addr])])
    status, headers, body = curl(f"http://127.0.0.1:{port}/api/items")
    assert status == 200 and headers.get("x-served-by") == "ringside"
    echoed = json.loads(body)
    names = {k.lower(): v for k, v in echoed["headers"]}
    assert echoed["target"] == "/v2/items"
    assert names["host"] == "internal.svc" and names["x-route"] == "api"
    # 2,000 requests over keep-alive (one curl, many URLs): the split must be near 90/10.
    urls = [f"http://127.0.0.1:{port}/api/n{i}" for i in range(1999)]
    cp = subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "60", *urls],
                        capture_output=True, timeout=90)
    assert cp.returncode == 0
    n_canary = len(canary.requests)
    n_total = len(stable.requests) + n_canary
    assert n_total == 2000
    # Expected 200; the binomial sd at n=2000, p=0.1 is ~13.4: 140..260 is > 4 sd either side.
    assert 140 <= n_canary <= 260, f"canary got {n_canary} of {n_total}"
