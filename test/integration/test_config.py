"""Bootstrap validation: bad configs exit 1 naming the field path; --mode validate."""

import copy
import socket

import pytest

import ringside
from ringside import REPO, SANITIZER_MARKERS, run_proxy_once


def base_config():
    return ringside.bootstrap(
        19901,
        [ringside.tcp_proxy_listener("l0", 19902, cluster="c0", stat_prefix="p0")],
        [ringside.cluster("c0", [("127.0.0.1", 19903)])],
    )


def _cluster0(cfg):
    return cfg["static_resources"]["clusters"][0]


def _listener0(cfg):
    return cfg["static_resources"]["listeners"][0]


def _tcp0(cfg):
    return _listener0(cfg)["filter_chains"][0]["filters"][0]["typed_config"]


def _set(fn):
    def mutate():
        cfg = base_config()
        fn(cfg)
        return cfg
    return mutate


BAD = {
    "unknown_field": (_set(lambda c: _cluster0(c).update(bogus_field=1)),
                      ["static_resources.clusters[0]", "bogus_field"]),
    "unknown_top_level_field": (_set(lambda c: c.update(not_a_field={"x": 1})), ["not_a_field"]),
    "invalid_duration": (_set(lambda c: _cluster0(c).update(connect_timeout="5 seconds")),
                         ["static_resources.clusters[0].connect_timeout", "5 seconds"]),
    "unsupported_field": (_set(lambda c: _cluster0(c).update(lb_subset_config={"fallback_policy": "ANY_ENDPOINT"})),
                          ["static_resources.clusters[0].lb_subset_config", "not supported"]),
    "bad_enum": (_set(lambda c: _cluster0(c).update(lb_policy="ROUND_ROBINN")),
                 ["static_resources.clusters[0].lb_policy", "ROUND_ROBINN"]),
    "bad_cluster_type": (_set(lambda c: _cluster0(c).update(type="STATICK")),
                         ["static_resources.clusters[0].type", "STATICK"]),
    "missing_cluster_reference": (_set(lambda c: _tcp0(c).update(cluster="nope")),
                                  ["static_resources.listeners[0]", "nope"]),
    "port_out_of_range": (_set(lambda c: _listener0(c)["address"]["socket_address"].update(port_value=70000)),
                          ["static_resources.listeners[0].address.socket_address.port_value"]),
    "port_wrong_type": (_set(lambda c: _listener0(c)["address"]["socket_address"].update(port_value="http")),
                        ["static_resources.listeners[0].address.socket_address.port_value"]),
    "unknown_typed_config_type": (
        _set(lambda c: _tcp0(c).update({"@type": "type.googleapis.com/envoy.does.not.Exist"})),
        ["static_resources.listeners[0].filter_chains[0].filters[0].typed_config", "envoy.does.not.Exist"]),
    "original_dst_needs_cluster_provided": (
        _set(lambda c: _cluster0(c).update(type="ORIGINAL_DST", lb_policy="ROUND_ROBIN")),
        ["static_resources.clusters[0]", "CLUSTER_PROVIDED"]),
    "malformed_yaml": (lambda: "static_resources:\n  listeners: [\n    - {name: x,\n  clusters: : :\n", ["line"]),
}


@pytest.mark.parametrize("mode", ["serve", "validate"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_exits_1_naming_the_path(proxy_binary, case, mode):
    make, needles = BAD[case]
    cfg = make()
    if not isinstance(cfg, str) and case.startswith("original_dst"):
        _cluster0(cfg).pop("load_assignment", None)
    args = ["--mode", "validate"] if mode == "validate" else []
    rc, err = run_proxy_once(cfg, args=args, binary=proxy_binary)
    for marker in SANITIZER_MARKERS:
        assert marker not in err, err[-4000:]
    assert rc == 1, f"{case}: expected exit 1, got {rc}; output:\n{err[-3000:]}"
    low = err.lower()
    for needle in needles:
        assert needle.lower() in low, f"{case}: {needle!r} not in the error output:\n{err[-3000:]}"


def test_missing_config_file(proxy_binary):
    p = ringside.Proxy(base_config(), binary=proxy_binary, concurrency=None, drain_time_s=None)
    p.args[1] = "/nonexistent/ringside.yaml"
    p.start(wait_ready=False)
    rc = p.wait_exit(20)
    err = p.stderr_text()
    p.cleanup()
    assert rc == 1, f"expected exit 1 for a missing config file, got {rc}: {err[-2000:]}"
    assert "/nonexistent/ringside.yaml" in err


def _port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_validate_mode_accepts_good_config_without_serving(proxy_binary):
    lport, aport = ringside.free_port(), ringside.free_port()
    cfg = ringside.bootstrap(aport, [ringside.tcp_proxy_listener("l", lport, cluster="c")],
                             [ringside.cluster("c", [("127.0.0.1", 19903)])])
    rc, out = run_proxy_once(cfg, args=["--mode", "validate"], binary=proxy_binary, timeout=10)
    assert rc == 0, f"--mode validate rejected a good config: {out[-3000:]}"
    assert _port_free(lport) and _port_free(aport)


def test_validate_mode_accepts_every_cluster_kind(proxy_binary):
    cfg = ringside.bootstrap(
        ringside.free_port(),
        [ringside.tcp_proxy_listener("weighted", ringside.free_port(), weighted=[("s", 1), ("d", 2)],
                                     idle_timeout="30s", max_connect_attempts=3),
         ringside.tcp_proxy_listener("outbound", ringside.free_port(), cluster="o", host="0.0.0.0",
                                     original_dst=True, use_original_dst=True,
                                     per_connection_buffer_limit_bytes=65536)],
        [ringside.cluster("s", [("127.0.0.1", 1, 1), ("127.0.0.1", 2, 3)], lb_policy="LEAST_REQUEST"),
         ringside.cluster("d", [("localhost", 3)], type="STRICT_DNS", dns_refresh_rate="5s", lb_policy="RANDOM"),
         ringside.cluster("o", type="ORIGINAL_DST", lb_policy="CLUSTER_PROVIDED", connect_timeout="0.25s")])
    rc, out = run_proxy_once(cfg, args=["--mode", "validate"], binary=proxy_binary, timeout=10)
    assert rc == 0, f"--mode validate rejected a config using every supported cluster kind: {out[-3000:]}"


def test_demo_config_validates(proxy_binary):
    demo = REPO / "deploy" / "examples" / "demo.yaml"
    rc, out = run_proxy_once(demo.read_text(), args=["--mode", "validate"], binary=proxy_binary, timeout=10)
    assert rc == 0, f"deploy/examples/demo.yaml does not validate: {out[-3000:]}"


def test_base_config_is_good(proxy_binary):
    """The bad-config cases are single mutations of this config, which must itself be valid."""
    rc, out = run_proxy_once(copy.deepcopy(base_config()), args=["--mode", "validate"], binary=proxy_binary)
    assert rc == 0, out[-3000:]
