"""Fixtures for the integration suite: the proxy binary, backends, and proxies that are always stopped
(SIGTERM, exit 0 and no crash asserted) when a test ends."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import backends as _backends  # noqa: E402
import netns  # noqa: E402
import ringside  # noqa: E402

# The suite opens tens of thousands of sockets in this process (10k-connection test).
ringside.raise_nofile(65536)

# Namespaces of an earlier run that was killed before it could clean up.
if os.geteuid() == 0:
    netns.remove_stale()


@pytest.fixture(scope="session")
def proxy_binary():
    try:
        return ringside.find_proxy_binary()
    except ringside.BinaryNotFound as e:
        pytest.fail(f"ringside-proxy binary not available: {e}", pytrace=False)


@pytest.fixture
def backend():
    """Factory: backend(handler=..., name=..., ...) -> a started Backend, closed at teardown."""
    made = []

    def make(handler=_backends.echo, **kw):
        b = _backends.Backend(handler=handler, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


@pytest.fixture
def start_proxy(proxy_binary):
    """Factory: start_proxy(config, **Proxy kwargs) -> a ready Proxy.

    At teardown every proxy still running gets SIGTERM and must exit 0 without a crash or sanitizer
    report; a proxy the test already stopped is only cleaned up.
    """
    made = []

    def make(config, wait_ready=True, **kw):
        p = ringside.Proxy(config, binary=proxy_binary, **kw)
        made.append(p)
        p.start(wait_ready=wait_ready)
        return p

    yield make
    failures = []
    for p in made:
        try:
            if p.alive():
                rc = p.stop()
                p.assert_clean_exit(rc)
        except AssertionError as e:
            failures.append(str(e))
        finally:
            if os.environ.get("RINGSIDE_KEEP_LOGS"):
                print(f"proxy logs kept in {p.workdir}")
                p.kill()
            else:
                p.cleanup()
    if failures:
        pytest.fail("proxy teardown: " + "\n".join(failures), pytrace=False)


@pytest.fixture
def simple(start_proxy, backend):
    """A proxy with one tcp_proxy listener to one echo backend. Returns an object with .proxy,
    .backend, .port (listener), .cluster, .stat_prefix."""

    class Simple:
        pass

    s = Simple()
    s.backend = backend(name="echo")
    s.port = ringside.free_port()
    s.admin_port = ringside.free_port()
    s.cluster = "echo_cluster"
    s.stat_prefix = "echo_tcp"
    cfg = ringside.bootstrap(
        s.admin_port,
        [ringside.tcp_proxy_listener("echo_listener", s.port, cluster=s.cluster, stat_prefix=s.stat_prefix)],
        [ringside.cluster(s.cluster, [s.backend.addr])],
    )
    s.proxy = start_proxy(cfg)
    return s
